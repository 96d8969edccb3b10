"""The WordPress sites one bridge serves, each with its own secret, WordPress account,
transport, provider key, prompt defaults and limits.

The sites come from the sites file named by ``BRIDGE_SITES_FILE`` (read and validated with
the rest of the configuration in bridge/config.py), or, without one, from the single-site
environment variables (``WP_URL``, ``BRIDGE_WEBHOOK_SECRET`` …): a registry of one site.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from bridge.gate import RateLimit, key_id
from bridge.options import DEFAULT_PROMPT_TEMPLATE, GenerationOptions

if TYPE_CHECKING:
    from bridge.config import Settings

SITE_HEADER = "x-fib-site"
"""The request header naming the site a signed request comes from (docs/protocol.md)."""


@dataclass(frozen=True)
class PromptDefaults:
    """The operator's prompt settings for a site, combined with the plugin's options.

    By default the site's own choice wins: ``template`` applies when the request carries the
    plugin's default template (the site's admin never changed it), ``style`` when the request
    has no style. With ``override`` both replace whatever the request says.
    """

    template: str = ""
    style: str = ""
    override: bool = False

    def apply(self, options: GenerationOptions) -> GenerationOptions:
        template, style = options.prompt_template, options.style
        if self.template and (self.override or template == DEFAULT_PROMPT_TEMPLATE):
            template = self.template
        if self.style and (self.override or not style):
            style = self.style
        if template == options.prompt_template and style == options.style:
            return options
        return replace(options, prompt_template=template, style=style)


@dataclass(frozen=True)
class Site:
    """One WordPress site and everything the bridge needs to serve it."""

    url: str
    webhook_secrets: tuple[str, ...] = field(repr=False)
    """The secrets a signature may match: the current one first, then older ones while the
    site's admin rotates (a Standard Webhooks signature is checked against each)."""
    wp_user: str
    wp_app_password: str = field(repr=False)
    wp_transport: Literal["rest", "xmlrpc"] = "rest"
    wp_xmlrpc_url: str = ""
    provider: Literal["local", "segmind"] = "local"
    segmind_api_key: str | None = field(default=None, repr=False)
    max_concurrency: int = 4
    """Most provider runs at once for the site's provider key (0: no cap)."""
    rate_limit: RateLimit | None = None
    """Most submissions per window for the site's provider key."""
    daily_cap: int = 0
    """Most generations a UTC day for the site (0: none); the plugin's cap applies too."""
    prompt: PromptDefaults = PromptDefaults()

    @property
    def key_id(self) -> str:
        """The provider key's name for the gate and for people: a hash, never the key."""
        return key_id(self.provider, self.segmind_api_key)

    @property
    def endpoint(self) -> str:
        """Where the bridge reaches WordPress: the site, or its XML-RPC endpoint."""
        return self.wp_xmlrpc_url if self.wp_transport == "xmlrpc" else self.url

    def job_options(self, options: GenerationOptions) -> GenerationOptions:
        """The options a job of this site runs with: the request's, with the site's prompt
        defaults and the smaller of the two daily caps (0 counts as no cap)."""
        caps = [cap for cap in (options.daily_cap, self.daily_cap) if cap > 0]
        applied, cap = self.prompt.apply(options), min(caps, default=0)
        return applied if applied.daily_cap == cap else replace(applied, daily_cap=cap)

    def settings(self, base: Settings) -> Settings:
        """``base`` as this site's jobs see it: its URL, credentials, transport, provider
        and limits in the single-site fields, so the factories that read them
        (``create_wordpress``, ``create_provider``, ``build_pipeline``) serve this site."""
        return replace(
            base,
            webhook_secret=self.webhook_secrets[0],
            wp_url=self.url,
            wp_user=self.wp_user,
            wp_app_password=self.wp_app_password,
            wp_transport=self.wp_transport,
            wp_xmlrpc_url=self.wp_xmlrpc_url,
            provider=self.provider,
            segmind_api_key=self.segmind_api_key,
            max_concurrency=self.max_concurrency,
            rate_limit=self.rate_limit,
            sites=(),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Site:
        """The one site of the single-site environment configuration."""
        return cls(
            url=settings.wp_url,
            webhook_secrets=(settings.webhook_secret,),
            wp_user=settings.wp_user,
            wp_app_password=settings.wp_app_password,
            wp_transport=settings.wp_transport,
            wp_xmlrpc_url=settings.wp_xmlrpc_url,
            provider=settings.provider,
            segmind_api_key=settings.segmind_api_key,
            max_concurrency=settings.max_concurrency,
            rate_limit=settings.rate_limit,
        )


def site_key(url: str) -> str:
    """A site URL reduced to what names the site: scheme and host case-insensitive, the path
    without trailing slashes (two URLs name the same site when ``same_site`` says so)."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


class SiteRegistry:
    """The sites this bridge serves, found by URL."""

    def __init__(self, sites: Sequence[Site]) -> None:
        if not sites:
            raise ValueError("a bridge serves at least one site")
        self._sites = tuple(sites)
        self._by_key = {site_key(site.url): site for site in self._sites}
        if len(self._by_key) != len(self._sites):
            raise ValueError("two sites have the same URL")

    @classmethod
    def from_settings(cls, settings: Settings) -> SiteRegistry:
        """The sites file's sites, or the one site of the environment."""
        return cls(settings.sites or (Site.from_settings(settings),))

    def find(self, url: str) -> Site | None:
        """The site ``url`` names, or None."""
        return self._by_key.get(site_key(url))

    def only(self) -> Site | None:
        """The site, when the bridge serves exactly one."""
        return self._sites[0] if len(self._sites) == 1 else None

    def __iter__(self) -> Iterator[Site]:
        return iter(self._sites)

    def __len__(self) -> int:
        return len(self._sites)
