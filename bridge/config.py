"""Settings: read once at start from the environment (and an optional TOML file), validated.

Every variable is documented in the README's Configuration section. An optional file named by
``BRIDGE_CONFIG_FILE`` holds the same names as keys; the environment wins over the file.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from bridge.gate import RateLimit
from bridge.options import DAILY_CAP_LIMIT, TEMPLATE_LIMIT
from bridge.sites import PromptDefaults, Site, site_key

DEFAULT_WORKFLOW_URL = "https://api.segmind.com/workflows/66b518aa31bd2081a8de2a98-v5"

ProviderName = Literal["local", "segmind"]
TransportName = Literal["rest", "xmlrpc"]
PollScheduleName = Literal["fixed", "learned"]
LogFormatName = Literal["text", "json"]
IntakeSyncName = Literal["normal", "full"]
UNIX_SOCKET_PATH_MAX = 107
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(Exception):
    """The configuration is unusable; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """The bridge's validated configuration."""

    webhook_secret: str
    wp_url: str
    wp_user: str
    wp_app_password: str
    wp_transport: TransportName
    wp_xmlrpc_url: str
    provider: ProviderName
    segmind_api_key: str | None
    segmind_workflow_url: str
    poll_interval: float
    poll_schedule: PollScheduleName
    poll_dense_interval: float | None
    """Seconds between dense polls of the learned schedule; None: as many polls as the fixed
    interval would spend (``auto``)."""
    poll_budget: float
    provider_deadline: float
    data_dir: Path
    host: str
    port: int
    worker_threads: int
    backfill_window: int
    job_retries: int
    retry_delay: float
    log_level: str
    download_allow: tuple[IPNetwork, ...] = ()
    download_max_bytes: int = 25 * 1024 * 1024
    download_timeout: float = 60.0
    lease_seconds: float = 60.0
    sweep_interval: float = 15.0
    reconcile_interval: float = 0.0
    log_format: LogFormatName = "text"
    metrics_token: str | None = None
    max_concurrency: int = 4
    rate_limit: RateLimit | None = None
    credits_recheck: float = 60.0
    web_processes: int = 2
    web_threads: int = 16
    web_timeout: float = 30.0
    access_log: bool = False
    control_socket: Path | None = None
    """gunicorn's control socket (for ``gunicornc``); None: none."""
    intake_sync: IntakeSyncName = "full"
    """How a webhook's job is committed before its 202: ``full`` (on disk, fsync shared by a
    group commit) or ``normal`` (survives a crash of the bridge, not a power loss)."""
    redis_url: str | None = None
    """``BRIDGE_REDIS_URL``: job record, leases, queue, gate and backfill runs in this Redis
    (shared by web and workers on several machines); None: SQLite files in ``data_dir``. May
    hold a password: never log it, log :func:`redacted_url` of it."""
    sites_file: Path | None = None
    """``BRIDGE_SITES_FILE``: the sites this bridge serves; None: the one site above."""
    sites: tuple[Site, ...] = ()
    """The sites of the sites file (the single-site fields above are then empty); empty: the
    one site of the environment (``SiteRegistry.from_settings``)."""

    @property
    def jobs_db(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def queue_db(self) -> Path:
        return self.data_dir / "queue.sqlite3"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``) and ``BRIDGE_CONFIG_FILE``.

        Raises ConfigError naming every missing or invalid variable.
        """
        env = dict(os.environ if environ is None else environ)
        problems: list[str] = []
        values = _merge_config_file(env, problems)
        reader = _Reader(values, problems)

        sites_file = reader.optional("BRIDGE_SITES_FILE")
        if sites_file:  # every site's own settings are in the file
            _no_single_site(values, problems)
            webhook_secret = wp_url = wp_user = wp_app_password = wp_xmlrpc_url = ""
            wp_transport, provider, api_key = "rest", "local", None
        else:
            webhook_secret = reader.required("BRIDGE_WEBHOOK_SECRET", secret=True)
            if webhook_secret:
                _check_webhook_secret(webhook_secret, problems)
            wp_url = reader.url("WP_URL", required=True)
            wp_user = reader.required("WP_USER")
            wp_app_password = reader.required("WP_APP_PASSWORD", secret=True)
            wp_transport = reader.choice("WP_TRANSPORT", ("rest", "xmlrpc"), "rest")
            wp_xmlrpc_url = reader.url("WP_XMLRPC_URL") or (
                f"{wp_url}/xmlrpc.php" if wp_url else ""
            )
            api_key = reader.optional("SEGMIND_API_KEY")
            provider = _provider(
                reader.choice("BRIDGE_PROVIDER", ("auto", "local", "segmind"), "auto"),
                api_key,
                "BRIDGE_PROVIDER",
                "SEGMIND_API_KEY",
                problems,
            )
        worker_threads = int(reader.number("BRIDGE_WORKERS", 8, low=1, high=64, integer=True))
        data_dir = Path(reader.optional("BRIDGE_DATA_DIR") or "var").expanduser()
        settings = cls(
            webhook_secret=webhook_secret,
            wp_url=wp_url,
            wp_user=wp_user,
            wp_app_password=wp_app_password,
            wp_transport="xmlrpc" if wp_transport == "xmlrpc" else "rest",
            wp_xmlrpc_url=wp_xmlrpc_url,
            provider="segmind" if provider == "segmind" else "local",
            segmind_api_key=api_key,
            segmind_workflow_url=reader.url("SEGMIND_WORKFLOW_URL", default=DEFAULT_WORKFLOW_URL),
            poll_interval=reader.number("SEGMIND_POLL_INTERVAL", 7.0, low=0.01, high=300),
            poll_schedule="fixed"
            if reader.choice("SEGMIND_POLL_SCHEDULE", ("fixed", "learned"), "learned") == "fixed"
            else "learned",
            poll_dense_interval=None
            if (reader.optional("SEGMIND_POLL_DENSE_INTERVAL") or "auto").lower() == "auto"
            else reader.number("SEGMIND_POLL_DENSE_INTERVAL", 3.0, low=0.01, high=300),
            poll_budget=reader.number("SEGMIND_POLL_BUDGET", 240.0, low=1, high=100000),
            provider_deadline=reader.number("SEGMIND_DEADLINE", 600.0, low=1, high=86400),
            data_dir=data_dir,
            host=reader.optional("BRIDGE_HOST") or "127.0.0.1",
            port=int(reader.number("BRIDGE_PORT", 8080, low=1, high=65535, integer=True)),
            worker_threads=worker_threads,
            backfill_window=int(
                reader.number(
                    "BRIDGE_BACKFILL_WINDOW", worker_threads, low=1, high=256, integer=True
                )
            ),
            job_retries=int(reader.number("BRIDGE_JOB_RETRIES", 5, low=0, high=100, integer=True)),
            retry_delay=reader.number("BRIDGE_RETRY_DELAY", 10.0, low=0, high=3600),
            log_level=reader.choice(
                "BRIDGE_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True
            ),
            download_allow=reader.networks("BRIDGE_DOWNLOAD_ALLOW"),
            download_max_bytes=int(
                reader.number("BRIDGE_DOWNLOAD_MAX_MB", 25, low=1, high=200) * 1024 * 1024
            ),
            download_timeout=reader.number("BRIDGE_DOWNLOAD_TIMEOUT", 60.0, low=1, high=600),
            lease_seconds=reader.number("BRIDGE_LEASE_SECONDS", 60.0, low=0.5, high=3600),
            sweep_interval=reader.number("BRIDGE_SWEEP_INTERVAL", 15.0, low=0.1, high=3600),
            reconcile_interval=reader.number("BRIDGE_RECONCILE_INTERVAL", 0.0, low=0, high=86400),
            log_format="json"
            if reader.choice("BRIDGE_LOG_FORMAT", ("text", "json"), "text") == "json"
            else "text",
            metrics_token=_metrics_token(reader.optional("BRIDGE_METRICS_TOKEN"), problems),
            max_concurrency=int(
                reader.number("SEGMIND_MAX_CONCURRENCY", 4, low=0, high=10000, integer=True)
            ),
            rate_limit=reader.rate("SEGMIND_RATE_LIMIT"),
            credits_recheck=reader.number("SEGMIND_CREDITS_RECHECK", 60.0, low=0.1, high=86400),
            web_processes=int(
                reader.number("BRIDGE_WEB_PROCESSES", 2, low=1, high=64, integer=True)
            ),
            web_threads=int(reader.number("BRIDGE_WEB_THREADS", 16, low=1, high=256, integer=True)),
            web_timeout=reader.number("BRIDGE_WEB_TIMEOUT", 30.0, low=1, high=3600),
            access_log=reader.choice("BRIDGE_ACCESS_LOG", ("off", "on"), "off") == "on",
            control_socket=_control_socket(reader, data_dir),
            intake_sync="normal"
            if reader.choice("BRIDGE_INTAKE_SYNC", ("full", "normal"), "full") == "normal"
            else "full",
            redis_url=_redis_url(reader.optional("BRIDGE_REDIS_URL"), problems),
        )
        if sites_file:
            path = Path(sites_file).expanduser()
            sites = read_sites_file(path, env, settings, problems)
            settings = replace(settings, sites_file=path, sites=sites)
        if problems:
            raise ConfigError(problems)
        return settings


def _provider(
    choice: str, api_key: str | None, name: str, key_name: str, problems: list[str]
) -> str:
    """``auto`` resolved: Segmind when a key is set, else local; Segmind needs its key."""
    if choice == "auto":
        choice = "segmind" if api_key else "local"
    if choice == "segmind" and not api_key:
        problems.append(f"{name} is 'segmind' but {key_name} is not set")
    return choice


def _control_socket(reader: _Reader, data_dir: Path) -> Path | None:
    """``BRIDGE_CONTROL_SOCKET``: a path, ``off``, or by default ``gunicorn.ctl`` in the data
    directory (left out when that path is too long for a Unix socket)."""
    raw = reader.optional("BRIDGE_CONTROL_SOCKET")
    if raw is not None and raw.lower() == "off":
        return None
    path = Path(raw).expanduser() if raw else data_dir / "gunicorn.ctl"
    if len(os.fsencode(path.absolute())) <= UNIX_SOCKET_PATH_MAX:
        return path
    if raw:
        reader.problems.append(
            f"BRIDGE_CONTROL_SOCKET must be a path of at most {UNIX_SOCKET_PATH_MAX} bytes "
            f"(a Unix socket), or off; got {raw!r}"
        )
    return None


def _merge_config_file(env: dict[str, str], problems: list[str]) -> dict[str, str]:
    path = env.get("BRIDGE_CONFIG_FILE")
    if not path:
        return env
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        problems.append(f"BRIDGE_CONFIG_FILE: cannot read {path}: {exc.strerror}")
        return env
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"BRIDGE_CONFIG_FILE: {path} is not valid TOML: {exc}")
        return env
    merged: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            problems.append(f"BRIDGE_CONFIG_FILE: {key} must be a plain value")
            continue
        merged[key.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    merged.update(env)
    return merged


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redis_url(url: str | None, problems: list[str]) -> str | None:
    """``BRIDGE_REDIS_URL``: ``redis://``, ``rediss://`` (TLS) or ``unix://``, or unset."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        port_ok = parts.scheme == "unix" or parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = urlsplit(""), False
    where = parts.path if parts.scheme == "unix" else parts.hostname
    if parts.scheme not in REDIS_SCHEMES or not where or not port_ok:
        problems.append(
            "BRIDGE_REDIS_URL must be redis://[:password@]host[:port][/db], rediss://... (TLS) "
            f"or unix:///path/to/redis.sock, got {redacted_url(url)!r}"
        )
    return url


def redacted_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for log lines and messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable URL>"
    query = parts.query
    if "password=" in query:
        query = re.sub(r"password=[^&]*", "password=***", query)
    netloc = parts.netloc
    if password is not None:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}:***@{host}"
    return parts._replace(netloc=netloc, query=query).geturl()


def _metrics_token(token: str | None, problems: list[str]) -> str | None:
    """``BRIDGE_METRICS_TOKEN``: at least 16 visible ASCII characters, or unset."""
    if token is None:
        return None
    visible = token.isascii() and token.isprintable() and " " not in token
    if len(token) < 16 or not visible:
        problems.append(
            "BRIDGE_METRICS_TOKEN must be at least 16 visible ASCII characters with no spaces "
            "(for example the output of: openssl rand -hex 24)"
        )
    return token


def _check_webhook_secret(
    secret: str, problems: list[str], *, name: str = "BRIDGE_WEBHOOK_SECRET"
) -> None:
    body = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < 16:
        problems.append(
            f"{name} must be the secret shown on the plugin's settings page "
            "(whsec_ followed by base64 of at least 16 bytes)"
        )


class _Reader:
    """Reads typed values and collects problems instead of stopping at the first."""

    def __init__(self, values: Mapping[str, str], problems: list[str]) -> None:
        self.values = values
        self.problems = problems

    def optional(self, name: str) -> str | None:
        value = self.values.get(name, "").strip()
        return value or None

    def required(self, name: str, *, secret: bool = False) -> str:
        value = self.optional(name)
        if value is None:
            what = "a secret" if secret else "a value"
            self.problems.append(f"{name} is required ({what}; see the README)")
            return ""
        return value

    def url(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.required(name) if required else (self.optional(name) or default)
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.problems.append(f"{name} must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def networks(self, name: str) -> tuple[IPNetwork, ...]:
        """Comma-separated CIDRs (or single addresses); empty means none."""
        networks: list[IPNetwork] = []
        for item in (self.optional(name) or "").split(","):
            item = item.strip()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.problems.append(
                    f"{name} must be comma-separated addresses or CIDR ranges "
                    f"(e.g. 127.0.0.1/32,10.0.0.0/8), got {item!r}"
                )
        return tuple(networks)

    def rate(self, name: str) -> RateLimit | None:
        """A rate limit such as ``6/1s`` or ``60/min``; empty or ``off`` means none."""
        raw = self.optional(name)
        if raw is None or raw.lower() in ("off", "none", "0"):
            return None
        try:
            return RateLimit.parse(raw)
        except ValueError as exc:
            self.problems.append(f"{name}: {exc}")
            return None

    def number(
        self, name: str, default: float, *, low: float, high: float, integer: bool = False
    ) -> float:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            kind = "a whole number" if integer else "a number"
            self.problems.append(f"{name} must be {kind}, got {raw!r}")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name} must be between {low:g} and {high:g}, got {raw}")
            return default
        return value

    def choice(
        self, name: str, allowed: tuple[str, ...], default: str, *, upper: bool = False
    ) -> str:
        raw = self.optional(name)
        if raw is None:
            return default
        value = raw.upper() if upper else raw.lower()
        if value not in allowed:
            self.problems.append(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
            return default
        return value


# --------------------------------------------------------------------------- the sites file

SINGLE_SITE_VARIABLES = ("WP_URL", "WP_USER", "WP_TRANSPORT", "WP_XMLRPC_URL", "BRIDGE_PROVIDER")
"""Settings of the one site of the environment, refused next to a sites file (which names
every site's own). The secrets (``BRIDGE_WEBHOOK_SECRET``, ``WP_APP_PASSWORD``,
``SEGMIND_API_KEY``) may stay in the environment: a site may name them with ``…_env``."""

_SITE_KEYS = frozenset(
    {
        "url",
        "webhook_secret",
        "webhook_secret_env",
        "wp_user",
        "wp_app_password",
        "wp_app_password_env",
        "wp_transport",
        "wp_xmlrpc_url",
        "provider",
        "segmind_api_key",
        "segmind_api_key_env",
        "prompt_template",
        "style",
        "prompt_override",
        "max_concurrency",
        "rate_limit",
        "daily_cap",
    }
)


_SITE_SECRETS = frozenset({"webhook_secret", "wp_app_password", "segmind_api_key"})


def _no_single_site(values: Mapping[str, str], problems: list[str]) -> None:
    for name in SINGLE_SITE_VARIABLES:
        if values.get(name, "").strip():
            problems.append(
                f"{name} is set together with BRIDGE_SITES_FILE: each site's settings belong "
                "in the sites file; unset it"
            )


def read_sites_file(
    path: Path, env: Mapping[str, str], base: Settings, problems: list[str]
) -> tuple[Site, ...]:
    """The ``[[site]]`` tables of the sites file (``deploy/sites.example.toml``).

    Every problem is added to ``problems`` naming the file, the site and the key; the sites
    that could be read are returned. ``base`` gives the defaults of the limits
    (``SEGMIND_MAX_CONCURRENCY``, ``SEGMIND_RATE_LIMIT``).
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        problems.append(f"BRIDGE_SITES_FILE: cannot read {path}: {exc.strerror}")
        return ()
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"BRIDGE_SITES_FILE: {path} is not valid TOML: {exc}")
        return ()
    for key in data:
        if key != "site":
            problems.append(f"{path}: unknown key {key!r} (each site is a [[site]] table)")
    tables = data.get("site", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(f"{path}: site must be [[site]] tables")
        return ()
    if not tables:
        problems.append(f"{path}: no [[site]] table: name at least one site")
    sites: list[Site] = []
    for number, table in enumerate(tables, start=1):
        label = f"{path}: site {number}"
        if isinstance(table.get("url"), str) and table["url"].strip():
            label += f" ({table['url'].strip()})"
        site_problems: list[str] = []
        site = _read_site(table, env, base, site_problems)
        problems.extend(f"{label}: {problem}" for problem in site_problems)
        if site is not None and not site_problems:
            sites.append(site)
    _check_sites_together(path, sites, problems)
    return tuple(sites)


def _read_site(
    table: dict[str, Any], env: Mapping[str, str], base: Settings, problems: list[str]
) -> Site | None:
    for key in sorted(set(table) - _SITE_KEYS):
        problems.append(f"unknown key {key!r}")
    values: dict[str, str] = {}
    for key, value in table.items():
        if key.endswith("_env") or key in _SITE_SECRETS:
            continue  # read by _site_secrets
        if isinstance(value, dict | list):
            problems.append(f"{key} must be a plain value")
        else:
            values[key] = str(value).lower() if isinstance(value, bool) else str(value)
    reader = _Reader(values, problems)
    url = reader.url("url", required=True)
    secrets = _site_secrets(table, "webhook_secret", env, problems, several=True)
    for secret in secrets:
        _check_webhook_secret(secret, problems, name="webhook_secret")
    wp_user = reader.required("wp_user")
    password = _site_secrets(table, "wp_app_password", env, problems)
    transport = reader.choice("wp_transport", ("rest", "xmlrpc"), "rest")
    xmlrpc_url = reader.url("wp_xmlrpc_url") or (f"{url}/xmlrpc.php" if url else "")
    api_keys = _site_secrets(table, "segmind_api_key", env, problems, required=False)
    api_key = api_keys[0] if api_keys else None
    provider = _provider(
        reader.choice("provider", ("auto", "local", "segmind"), "auto"),
        api_key,
        "provider",
        "segmind_api_key (or segmind_api_key_env)",
        problems,
    )
    template = values.get("prompt_template", "")
    if len(template) > TEMPLATE_LIMIT:
        problems.append(f"prompt_template is longer than {TEMPLATE_LIMIT} characters")
    style = " ".join(values.get("style", "").split())
    if len(style) > 500:
        problems.append("style is longer than 500 characters")
    override = reader.choice("prompt_override", ("false", "true"), "false") == "true"
    site = Site(
        url=url,
        webhook_secrets=tuple(secrets),
        wp_user=wp_user,
        wp_app_password=password[0] if password else "",
        wp_transport="xmlrpc" if transport == "xmlrpc" else "rest",
        wp_xmlrpc_url=xmlrpc_url,
        provider="segmind" if provider == "segmind" else "local",
        segmind_api_key=api_key,
        max_concurrency=int(
            reader.number("max_concurrency", base.max_concurrency, low=0, high=10000, integer=True)
        ),
        rate_limit=reader.rate("rate_limit") if "rate_limit" in values else base.rate_limit,
        daily_cap=int(reader.number("daily_cap", 0, low=0, high=DAILY_CAP_LIMIT, integer=True)),
        prompt=PromptDefaults(template=template, style=style, override=override),
    )
    return None if problems else site


def _site_secrets(
    table: dict[str, Any],
    name: str,
    env: Mapping[str, str],
    problems: list[str],
    *,
    required: bool = True,
    several: bool = False,
) -> list[str]:
    """A secret given inline (``name``) or as the name of an environment variable holding it
    (``name_env``); with ``several``, either may be a list (key rotation). Never puts a secret
    in a message."""
    inline, named = table.get(name), table.get(f"{name}_env")
    if inline is not None and named is not None:
        problems.append(f"give {name} or {name}_env, not both")
        return []
    given = inline if inline is not None else named
    key = name if inline is not None else f"{name}_env"
    if given is None:
        if required:
            problems.append(
                f"{name} (or {name}_env, the name of a variable holding it) is required"
            )
        return []
    items = given if several and isinstance(given, list) else [given]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        kind = "a string or a list of strings" if several else "a string"
        problems.append(f"{key} must be {kind}, not empty")
        return []
    if inline is not None:
        return [item.strip() for item in items]
    secrets: list[str] = []
    for variable in items:
        value = env.get(variable.strip(), "").strip()
        if not value:
            problems.append(f"{key} names {variable.strip()}, which is not set or empty")
        else:
            secrets.append(value)
    return secrets


def _check_sites_together(path: Path, sites: list[Site], problems: list[str]) -> None:
    """No two sites with the same URL; sites that share a provider key agree on its limits."""
    by_url: dict[str, Site] = {}
    by_key: dict[str, Site] = {}
    for site in sites:
        key = site_key(site.url)
        if key in by_url:
            problems.append(
                f"{path}: the sites {by_url[key].url} and {site.url} are the same site; "
                "each site appears once"
            )
        by_url.setdefault(key, site)
        if site.provider != "segmind":
            continue  # the local provider has no key and no limits
        first = by_key.setdefault(site.key_id, site)
        if (first.max_concurrency, first.rate_limit) != (site.max_concurrency, site.rate_limit):
            problems.append(
                f"{path}: the sites {first.url} and {site.url} share a provider key "
                f"({site.key_id}) but set different max_concurrency or rate_limit; the limits "
                "belong to the key: give both the same"
            )
