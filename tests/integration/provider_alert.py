"""The plugin's site-wide provider alert (option ``fib_provider_alert``), read and cleared
through the plugin's own functions."""

from __future__ import annotations

import json
from typing import Any

from devenv.wordpress import LocalWordPress


def provider_alert(site: LocalWordPress) -> dict[str, Any] | None:
    """The alert as the settings page reads it, or None."""
    out = site.php("echo wp_json_encode( \\FeaturedImageBridge\\get_provider_alert() );")
    alert: dict[str, Any] | None = json.loads(out.strip().splitlines()[-1])
    return alert


def clear_provider_alert(site: LocalWordPress) -> None:
    site.php("\\FeaturedImageBridge\\clear_provider_alert();")
