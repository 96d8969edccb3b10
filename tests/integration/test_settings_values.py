"""get_plugin_settings(): what the rest of the plugin reads, whatever the option holds."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress

DEFAULTS = {
    "enabled": True,
    "trigger": "publish",
    "only_missing": True,
    "post_types": ["post"],
    "prompt_template": "Title: {title}\n\nDescription: {excerpt}\n",
    "style": "",
    "width": 1200,
    "height": 630,
    "format": "jpeg",
    "quality": 85,
    "alt_template": "{title}",
    "title_template": "{title}",
    "caption_template": "",
    "replaced_image": "keep",
    "fallback_title_card": False,
    "price_per_image": 0.44,
    "daily_cap": 0,
}


def _settings_when_stored(site: LocalWordPress, stored: dict[str, Any]) -> dict[str, Any]:
    """get_plugin_settings() with ``stored`` as the option; the option is put back after."""
    payload = base64.b64encode(json.dumps(stored).encode()).decode()
    out = site.php(
        "$fib_before = get_option( 'fib_settings' );\n"
        f"update_option( 'fib_settings', json_decode( base64_decode( '{payload}' ), true ) );\n"
        "$fib_read = \\FeaturedImageBridge\\get_plugin_settings();\n"
        "update_option( 'fib_settings', $fib_before );\n"
        "echo wp_json_encode( $fib_read );\n"
    )
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def test_an_option_from_before_these_settings_reads_as_the_defaults(site: LocalWordPress) -> None:
    read = _settings_when_stored(
        site, {"enabled": True, "bridge_url": "http://127.0.0.1:9", "secret": "whsec_eA=="}
    )
    assert read == {**DEFAULTS, "bridge_url": "http://127.0.0.1:9", "secret": "whsec_eA=="}


def test_values_that_could_not_have_been_saved_read_as_the_defaults(site: LocalWordPress) -> None:
    read = _settings_when_stored(
        site,
        {
            "trigger": "hourly",
            "format": "gif",
            "width": "huge",
            "quality": 101,
            "price_per_image": -1,
            "daily_cap": "-3",
            "replaced_image": ["delete"],
            "post_types": "post",
            "bridge_url": "ftp://example.org",
        },
    )
    for key in (
        "trigger",
        "format",
        "width",
        "quality",
        "price_per_image",
        "replaced_image",
        "daily_cap",
    ):
        assert read[key] == DEFAULTS[key], key
    assert read["post_types"] == ["post"]
    assert read["bridge_url"] == ""


def test_valid_values_keep_their_types(site: LocalWordPress) -> None:
    read = _settings_when_stored(
        site,
        {
            "width": "800",
            "quality": "70",
            "price_per_image": "0.05",
            "daily_cap": "25",
            "only_missing": 0,
        },
    )
    assert (read["width"], read["quality"], read["price_per_image"]) == (800, 70, 0.05)
    assert read["daily_cap"] == 25
    assert read["only_missing"] is False
