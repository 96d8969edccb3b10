"""bridge_request(): the plugin's signed requests to the bridge, against the real bridge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress
from tests.signing import new_secret

pytestmark = pytest.mark.wordpress


def _get(site: LocalWordPress, path: str) -> dict[str, Any]:
    out = site.php(
        f"echo wp_json_encode( \\FeaturedImageBridge\\bridge_request( 'GET', '{path}' ) );"
    )
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return answer


def test_a_signed_get_reads_a_job(
    site: LocalWordPress, use_local: BridgeProcesses, editor: EditorSession
) -> None:
    post_id = editor.create_post("Read back over a signed GET")
    view = editor.wait_for(post_id)
    answer = _get(site, f"/jobs/{view.meta['_fib_job_id']}")
    assert answer["code"] == 200
    assert answer["json"]["state"] == "done"
    assert _get(site, "/jobs/no-such-job")["code"] == 404


def test_a_get_signed_with_another_secret_is_refused(
    site: LocalWordPress, use_local: BridgeProcesses
) -> None:
    real = site.plugin_settings()["secret"]
    site.update_plugin_settings(secret=new_secret())
    try:
        answer = _get(site, "/jobs/no-such-job")
    finally:
        site.update_plugin_settings(secret=real)
    assert answer == {
        "code": 401,
        "json": {"error": "invalid_signature", "message": answer["json"]["message"]},
    }
