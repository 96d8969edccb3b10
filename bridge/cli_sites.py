"""``bridge sites``: the sites this bridge serves, and whether each one works.

For each site: its URL, transport, provider, provider key id (a hash, never the key) and
limits; then the checks the plugin's "Test connection" runs (WordPress accepts the bridge's
credentials; the provider's key was not refused). Exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bridge.config import Settings
from bridge.connection_test import Check, run_checks
from bridge.jobs import JobStore
from bridge.site_clients import SiteClients
from bridge.sites import Site, SiteRegistry


def add_command(commands: Any) -> None:
    """Adds ``sites`` to the ``bridge`` command's subparsers."""
    sites = commands.add_parser(
        "sites",
        help="list the sites this bridge serves and check each one's connections",
        description="Lists every site with its transport, provider, key id and limits, and "
        "checks that WordPress accepts the bridge's credentials and that the provider's key "
        "was not refused. Exits 1 if any check fails.",
    )
    sites.add_argument("--json", action="store_true", help="print one JSON document")
    sites.set_defaults(handler=run_command)


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    registry = SiteRegistry.from_settings(settings)
    store = JobStore(settings.jobs_db)
    clients = SiteClients(settings)
    try:
        results = [(site, _checks(settings, store, clients, site)) for site in registry]
    finally:
        clients.close()
    ok = all(check.ok for _, checks in results for check in checks)
    if args.json:
        print(json.dumps({"ok": ok, "sites": [_describe(s, c) for s, c in results]}, indent=2))
    else:
        for site, checks in results:
            print(_text(site, checks))
        print(f"{len(results)} site(s): {'all checks passed' if ok else 'some checks FAILED'}")
    return 0 if ok else 1


def _checks(settings: Settings, store: JobStore, clients: SiteClients, site: Site) -> list[Check]:
    checks = run_checks(site.settings(settings), store, clients.wordpress(site), site.url)
    return [check for check in checks if check.name != "signature"]  # no request was signed


def _describe(site: Site, checks: list[Check]) -> dict[str, Any]:
    return {
        "url": site.url,
        "transport": site.wp_transport,
        "endpoint": site.endpoint,
        "wp_user": site.wp_user,
        "provider": site.provider,
        "key_id": site.key_id,
        "limits": {
            "max_concurrency": site.max_concurrency if site.provider == "segmind" else None,
            "rate_limit": str(site.rate_limit)
            if site.provider == "segmind" and site.rate_limit
            else None,
            "daily_cap": site.daily_cap,
        },
        "ok": all(check.ok for check in checks),
        "checks": [{"name": c.name, "ok": c.ok, "message": c.message} for c in checks],
    }


def _text(site: Site, checks: list[Check]) -> str:
    described = _describe(site, checks)
    limits = described["limits"]
    lines = [
        f"{site.url}",
        f"  WordPress: {site.endpoint} ({site.wp_transport}) as {site.wp_user}",
        f"  provider:  {site.provider} (key {site.key_id})",
        "  limits:    "
        f"concurrency {limits['max_concurrency'] or 'none'}, "
        f"rate {limits['rate_limit'] or 'none'}, daily cap {site.daily_cap or 'none'}",
    ]
    lines += [f"  {c.name}: {'ok' if c.ok else 'FAILED'}: {c.message}" for c in checks]
    return "\n".join(lines)
