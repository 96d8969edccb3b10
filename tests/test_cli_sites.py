"""``bridge sites`` without a reachable WordPress: every site is listed with its key id (never
the key) and limits, the failing check is named, and the exit code says it failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.gate import key_id
from tests.signing import new_secret

KEY = "sg-secret-key-value"


@pytest.fixture
def sites_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(
        f"""
[[site]]
url = "http://127.0.0.1:9/a"
webhook_secret = "{new_secret()}"
wp_user = "u"
wp_app_password = "p"
segmind_api_key_env = "THE_KEY"
max_concurrency = 3
rate_limit = "10/min"
daily_cap = 20

[[site]]
url = "http://127.0.0.1:9/b"
webhook_secret = "{new_secret()}"
wp_user = "u"
wp_app_password = "p"
wp_transport = "xmlrpc"
provider = "local"
"""
    )
    for name in ("WP_URL", "WP_USER", "WP_TRANSPORT", "WP_XMLRPC_URL", "BRIDGE_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BRIDGE_SITES_FILE", str(path))
    monkeypatch.setenv("BRIDGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("THE_KEY", KEY)
    return path


def test_the_text_listing_names_each_site_and_its_failed_check(
    sites_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sites"]) == 1
    out = capsys.readouterr().out
    assert "http://127.0.0.1:9/a\n" in out and "http://127.0.0.1:9/b\n" in out
    assert f"provider:  segmind (key {key_id('segmind', KEY)})" in out
    assert "concurrency 3, rate 10/60s, daily cap 20" in out
    assert "WordPress: http://127.0.0.1:9/b/xmlrpc.php (xmlrpc) as u" in out
    assert "wordpress: FAILED" in out and "some checks FAILED" in out
    assert KEY not in out


def test_the_json_listing_has_the_same_facts(
    sites_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sites", "--json"]) == 1
    listing = json.loads(capsys.readouterr().out)
    a, b = listing["sites"]
    assert listing["ok"] is False
    assert a["limits"] == {"max_concurrency": 3, "rate_limit": "10/60s", "daily_cap": 20}
    assert (b["provider"], b["key_id"], b["limits"]["max_concurrency"]) == ("local", "local", None)
    assert [c["name"] for c in a["checks"]] == ["wordpress", "provider"]
    assert a["checks"][1]["ok"] is True  # no generation failed for the key yet
