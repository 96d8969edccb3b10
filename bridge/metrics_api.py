"""``GET /metrics`` and the web side's recording hooks (refused requests, duplicate webhooks).

Authentication: with ``BRIDGE_METRICS_TOKEN`` set, a scrape must send
``Authorization: Bearer <token>``; without it the endpoint is open like ``/healthz`` and must
be bound to a private address (``bridge web`` warns otherwise).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import cast

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST

from bridge import recorders
from bridge.buffered_counters import flush_all
from bridge.config import Settings
from bridge.metrics import render
from bridge.services import Services
from bridge.storage import STORE_ERRORS

metrics = Blueprint("metrics", __name__)


@metrics.get("/metrics")
def scrape() -> ResponseReturnValue:
    services = cast(Services, current_app.extensions["bridge"])
    token = services.settings.metrics_token
    if token and not _authorized(token):
        response = jsonify(error="unauthorized", message="send Authorization: Bearer <token>")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    huey = services.queue.huey
    flush_all()  # this process's counts of refused and duplicate webhooks, written now
    try:
        body = render(
            services.store,
            services.metrics,
            lambda: {"pending": huey.pending_count(), "scheduled": huey.scheduled_count()},
        )
    except STORE_ERRORS:
        current_app.logger.exception("metrics: the job database is unavailable")
        return jsonify(error="unavailable", message="the bridge cannot read its figures now"), 503
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)


def exposure_warning(settings: Settings) -> str | None:
    """A warning when ``/metrics`` is open on an address other machines may reach."""
    if settings.metrics_token:
        return None
    try:
        private = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        private = settings.host == "localhost"
    if private:
        return None
    return (
        f"/metrics is open to anyone who reaches {settings.host}:{settings.port}; "
        "set BRIDGE_METRICS_TOKEN or bind the bridge to a private address"
    )


def record_refusal(reason: str) -> None:
    """Counts a refused request to the current route; call it from an error handler."""
    rule = request.url_rule
    if rule is None:
        return  # no route matched: not one of the bridge's endpoints
    services = cast(Services, current_app.extensions["bridge"])
    recorders.rejected(services.metrics, f"{request.method} {rule.rule}", reason)


def record_duplicate(site: str) -> None:
    """Counts a webhook that named a job that exists (answered ``duplicate: true``)."""
    services = cast(Services, current_app.extensions["bridge"])
    recorders.duplicate(services.metrics, site)


def _authorized(token: str) -> bool:
    sent = request.headers.get("Authorization", "")
    scheme, _, value = sent.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )
