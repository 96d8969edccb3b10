"""The bridge's side of the settings page's "Test connection", on the real WordPress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind
from devenv.wordpress import LocalWordPress
from tests.integration.conftest import bridge_env
from tests.signing import new_secret, signed

pytestmark = pytest.mark.wordpress


def _test_connection(
    bridge: BridgeProcesses,
    secret: str,
    site_url: str,
    *,
    timestamp: float | None = None,
) -> httpx.Response:
    payload = {"type": "connection.test", "timestamp": "", "data": {"site_url": site_url}}
    body, headers = signed(secret, payload, timestamp=timestamp)
    return httpx.post(f"{bridge.url}/connection-test", content=body, headers=headers, timeout=30)


def _checks(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return {check["name"]: check for check in answer["checks"]} | {"ok": answer["ok"]}


def test_a_working_set_up_passes_every_check(
    site: LocalWordPress, local_bridge: BridgeProcesses
) -> None:
    checks = _checks(
        _test_connection(local_bridge, str(site.plugin_settings()["secret"]), site.url)
    )
    assert checks["ok"] is True
    assert [checks[name]["ok"] for name in ("signature", "wordpress", "provider")] == [True] * 3
    assert site.bridge.login in checks["wordpress"]["message"]


@pytest.mark.parametrize(
    ("secret", "age", "error"),
    [(new_secret(), 0, "invalid_signature"), (None, 600, "stale_timestamp")],
)
def test_a_wrong_secret_or_clock_is_named(
    site: LocalWordPress,
    local_bridge: BridgeProcesses,
    secret: str | None,
    age: float,
    error: str,
) -> None:
    response = _test_connection(
        local_bridge,
        secret or str(site.plugin_settings()["secret"]),
        site.url,
        timestamp=time.time() - age,
    )
    assert response.status_code == 401
    assert response.json()["error"] == error


def test_a_bridge_for_another_site_says_so(
    site: LocalWordPress, local_bridge: BridgeProcesses
) -> None:
    checks = _checks(
        _test_connection(
            local_bridge, str(site.plugin_settings()["secret"]), "https://other.example"
        )
    )
    assert checks["ok"] is False
    assert site.url in checks["site"]["message"]


@pytest.fixture
def bridge_with_a_revoked_password(
    site: LocalWordPress, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeProcesses]:
    env = bridge_env(site, BRIDGE_PROVIDER="local", WP_APP_PASSWORD="abcd efgh ijkl mnop qrst uvwx")
    with BridgeProcesses(env, tmp_path_factory.mktemp("revoked-bridge")) as bridge:
        yield bridge


def test_wordpress_refusing_the_bridges_credentials_is_reported(
    site: LocalWordPress, bridge_with_a_revoked_password: BridgeProcesses
) -> None:
    secret = str(site.plugin_settings()["secret"])
    checks = _checks(_test_connection(bridge_with_a_revoked_password, secret, site.url))
    assert checks["ok"] is False
    assert checks["wordpress"]["ok"] is False
    assert "WP_APP_PASSWORD" in checks["wordpress"]["message"]
    assert "abcd" not in str(checks)


def test_a_provider_key_refused_by_segmind_is_reported(
    site: LocalWordPress,
    use_segmind: FakeSegmind,
    segmind_bridge: BridgeProcesses,
    editor: EditorSession,
) -> None:
    use_segmind.fail_next_submit(401)
    post_id = editor.create_post("Drawn with a revoked key")
    assert editor.wait_for(post_id).generation == "failed"
    secret = str(site.plugin_settings()["secret"])
    checks = _checks(_test_connection(segmind_bridge, secret, site.url))
    assert checks["ok"] is False
    assert checks["provider"]["ok"] is False
    assert "key" in checks["provider"]["message"].lower()
    assert use_segmind.api_key not in str(checks)
