"""The settings page's "Test connection": what the bridge can say about its own set-up.

By the time these checks run the request's signature has been verified, so the secret and
the clocks are right; what is left is whether this bridge serves the site, can reach
WordPress back with its credentials, and whether the provider's key has been refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bridge.config import Settings
from bridge.gate import key_id
from bridge.storage import JobRecords
from bridge.webhooks import same_site
from bridge.wordpress import WordPressError, WordPressSite

# Provider failures that mean the key or the account needs a person's attention.
KEY_PROBLEMS = frozenset({"auth", "forbidden", "not_found", "credits"})


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


def run_checks(
    settings: Settings, store: JobRecords, wordpress: WordPressSite, site_url: str
) -> list[Check]:
    """Every check, in the order the settings page shows them."""
    checks = [Check("signature", True, "The shared secret matches and the clocks agree.")]
    if not same_site(site_url, settings.wp_url):
        checks.append(
            Check(
                "site",
                False,
                f"This bridge serves {settings.wp_url}, not {site_url}: set WP_URL on the bridge.",
            )
        )
        return checks
    checks.append(_wordpress(wordpress))
    checks.append(_provider(settings, store))
    return checks


def report(checks: list[Check]) -> dict[str, Any]:
    """The JSON answer: ``ok`` only when every check passed."""
    return {"ok": all(check.ok for check in checks), "checks": [asdict(c) for c in checks]}


def _wordpress(wordpress: WordPressSite) -> Check:
    try:
        who = wordpress.check()
    except WordPressError as exc:
        return Check("wordpress", False, f"The bridge cannot work on WordPress: {exc.message}")
    return Check("wordpress", True, f"The bridge reaches WordPress back, {who}.")


def _provider(settings: Settings, store: JobRecords) -> Check:
    if settings.provider == "local":
        return Check("provider", True, "Local title cards (no key needed).")
    # The key's own jobs: another site's key failing says nothing about this one.
    key = key_id(settings.provider, settings.segmind_api_key)
    last = store.last_finished(provider=settings.provider, provider_key=key)
    if last is not None and last.error_kind in KEY_PROBLEMS:
        return Check("provider", False, f"The last generation failed: {last.error}")
    if last is None:
        return Check("provider", True, "Segmind key set; no generation has run yet.")
    return Check("provider", True, "Segmind key set; the last generation went through.")
