"""Log output: text for a terminal or one JSON object per line, never a secret.

``BRIDGE_LOG_FORMAT=json`` writes records as ``{"time", "level", "logger", "message", "site",
"post_id", "job_id", "exception"}`` (the ids and the exception only when known), the ids taken
from ``bridge.logcontext``. Every line, text or JSON, tracebacks included, has the configured
secrets (the webhook secret, the WordPress Application Password, the Segmind key, the metrics
token) replaced by ``[redacted]`` before it is written: a last guard behind code that never
logs them on purpose.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bridge.config import Settings
from bridge.logcontext import ContextFilter

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(ids)s"
_MIN_SECRET = 6  # shorter values would redact ordinary words
_MARK = "_bridge_handler"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("site", "post_id", "job_id"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [site=… post=… job=…]``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        known = [
            f"{label}={value}"
            for label, value in (
                ("site", getattr(record, "site", None)),
                ("post", getattr(record, "post_id", None)),
                ("job", getattr(record, "job_id", None)),
            )
            if value is not None
        ]
        record.ids = f" [{' '.join(known)}]" if known else ""
        return super().format(record)


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner``, then replaces every secret in the result."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def secrets_of(settings: Settings) -> list[str]:
    """Every spelling of a configured secret that could reach a log line (every site's)."""
    found: list[str] = []
    sites = [settings, *(site.settings(settings) for site in settings.sites)]
    old_secrets = [s for site in settings.sites for s in site.webhook_secrets[1:]]
    for secret in [*(s.webhook_secret for s in sites), *old_secrets]:
        if secret:
            found += [secret, secret.removeprefix("whsec_")]
    for site in sites:
        if site.wp_app_password:
            password = site.wp_app_password
            basic = f"{site.wp_user}:{password}".encode()
            found += [password, password.replace(" ", ""), base64.b64encode(basic).decode()]
    for value in (*(s.segmind_api_key for s in sites), settings.metrics_token):
        if value:
            found.append(value)
    return found


def make_handler(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (default stderr) in the configured format, with ids and redaction."""
    handler = logging.StreamHandler(stream or sys.stderr)
    inner = JsonFormatter() if settings.log_format == "json" else TextFormatter()
    handler.setFormatter(RedactingFormatter(inner, secrets_of(settings)))
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Sends every log record through one handler of the configured format (added to the root
    logger, replacing the one an earlier call added)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)  # configured before (a second call): replaced, not doubled
    handler = make_handler(settings, stream)
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(settings.log_level)


def gunicorn_logconfig(settings: Settings, *, access_log: bool) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its error and access logs through the bridge's handler."""
    level = settings.log_level
    return {
        "root": {"level": level, "handlers": ["bridge"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {
                "level": "INFO" if access_log else "WARNING",
                "handlers": [],
                "propagate": True,
            },
        },
        "handlers": {"bridge": {"()": lambda: make_handler(settings)}},
        "formatters": {},
    }
