"""Which site a signed request comes from, and its signature checked with that site's secret.

The plugin names its site in the ``X-FIB-Site`` header of every signed request (the same
value as ``data.site_url``; docs/protocol.md). The site is found before anything else, so an
unknown one costs no HMAC; the signature is then checked with that site's secret(s), and once
the body is parsed its ``data.site_url`` must name the same site.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bridge.sites import SITE_HEADER, Site, SiteRegistry, site_key
from bridge.webhooks import SignatureVerifier, WebhookRejected

MAX_SITE_HEADER = 2000


@dataclass(frozen=True)
class SignedRequest:
    """A request whose signature matched its site's secret."""

    site: Site
    webhook_id: str
    named: bool
    """Whether the request named its site (``X-FIB-Site``); an older plugin does not."""

    def check_site(self, site_url: str) -> None:
        """Refuses (403) a body whose ``data.site_url`` is not the request's site."""
        if self.owns(site_url):
            return
        if self.named:
            raise WebhookRejected(
                403,
                "site_mismatch",
                f"data.site_url ({site_url}) is not the site named by X-FIB-Site ({self.site.url})",
            )
        raise WebhookRejected(
            403, "unknown_site", f"this bridge does not serve the site {site_url}"
        )

    def owns(self, site_url: str) -> bool:
        """Whether a record (a job, a backfill run) of ``site_url`` belongs to this site."""
        return site_key(site_url) == site_key(self.site.url)


class SiteRouter:
    """Finds each request's site and verifies its signature with that site's secrets."""

    def __init__(self, registry: SiteRegistry) -> None:
        self.registry = registry
        self._verifiers = {
            site_key(site.url): SignatureVerifier(site.webhook_secrets) for site in registry
        }

    def site(self, headers: Mapping[str, str]) -> tuple[Site, bool]:
        """The site the request names, and whether it named one; raises WebhookRejected:
        403 ``unknown_site``, or 400 ``missing_site`` when a bridge of several sites gets a
        request that names none. ``headers`` must have lower-case names."""
        named = headers.get(SITE_HEADER, "").strip()
        if not named:
            only = self.registry.only()
            if only is None:
                raise WebhookRejected(
                    400,
                    "missing_site",
                    "this bridge serves several sites: the request must name its site in the "
                    "X-FIB-Site header (update the plugin)",
                )
            return only, False
        site = self.registry.find(named) if len(named) <= MAX_SITE_HEADER else None
        if site is None:
            raise WebhookRejected(
                403, "unknown_site", f"this bridge does not serve the site {named[:200]}"
            )
        return site, True

    def verify(self, body: bytes, headers: Mapping[str, str]) -> SignedRequest:
        """The request's site and ``webhook-id``; raises WebhookRejected (400, 401, 403)."""
        site, named = self.site(headers)
        webhook_id = self._verifiers[site_key(site.url)].verify(body, headers)
        return SignedRequest(site, webhook_id, named)

    def verify_get(self, headers: Mapping[str, str]) -> SignedRequest:
        """:meth:`verify` for a ``GET`` (signed over the empty body)."""
        return self.verify(b"", headers)
