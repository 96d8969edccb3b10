"""What the settings page and the Tools screen say when the bridge refuses a request."""

from __future__ import annotations

import json

import pytest

from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress


@pytest.mark.parametrize(
    ("code", "body", "said"),
    [
        (401, {"error": "invalid_signature"}, "Wrong secret"),
        (401, {"error": "missing_signature"}, "Wrong secret"),
        (401, {"error": "stale_timestamp"}, "clocks of WordPress and the bridge differ by more"),
        (403, {"error": "unknown_site"}, "The bridge serves another site"),
        (403, {"error": "site_mismatch"}, "named two different sites"),
        (400, {"error": "missing_site"}, "Update the plugin"),
        (404, {}, "not like the bridge (HTTP 404)"),
        (422, {"error": "invalid_payload", "message": "limit: not a number"}, "limit: not a"),
        (503, {}, "(HTTP 503): Service Unavailable"),
    ],
)
def test_each_refusal_is_explained(
    site: LocalWordPress, code: int, body: dict[str, str], said: str
) -> None:
    answer = json.dumps({"code": code, "json": body})
    message = site.php(
        f"echo \\FeaturedImageBridge\\bridge_refusal_message( json_decode( '{answer}', true ) );"
    )
    assert said in message
