"""HTTP endpoints: ``POST /webhook``, ``POST /connection-test``, ``GET /jobs/<id>``,
``GET /healthz`` (see docs/protocol.md)."""

from __future__ import annotations

import logging
from typing import cast

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from bridge import logcontext
from bridge.connection_test import report, run_checks
from bridge.jobs import NewJob
from bridge.metrics_api import record_duplicate, record_refusal
from bridge.services import Services
from bridge.signed_requests import raw_body, signature_headers
from bridge.storage import STORE_ERRORS
from bridge.webhooks import (
    PostEvent,
    WebhookRejected,
    parse_connection_test,
    parse_event,
)

api = Blueprint("api", __name__)
log = logging.getLogger(__name__)
MAX_POST_ID = 2**63 - 1  # the largest id the job store (SQLite INTEGER) can hold


def _services() -> Services:
    return cast(Services, current_app.extensions["bridge"])


@api.errorhandler(WebhookRejected)
def _rejected(exc: WebhookRejected) -> ResponseReturnValue:
    log.info("webhook refused: %s (%s)", exc.code, exc.message)
    record_refusal(exc.code)
    return jsonify(error=exc.code, message=exc.message), exc.status


def _store_unavailable(exc: Exception) -> ResponseReturnValue:
    """The job record (its SQLite file or Redis) cannot be reached: the plugin redelivers."""
    log.error("the job database is unavailable (%s: %s)", type(exc).__name__, exc)
    record_refusal("unavailable")
    return jsonify(error="unavailable", message="the bridge cannot reach its jobs now"), 503


for _error in STORE_ERRORS:
    api.register_error_handler(_error, _store_unavailable)


@api.post("/webhook")
def webhook() -> ResponseReturnValue:
    """Verifies the signature on the raw body, validates, records the job (answering once it
    is on disk), and queues it from a background thread."""
    services = _services()
    body = raw_body()
    signed = services.sites.verify(body, signature_headers())
    event = _parse(signed.webhook_id, body)
    signed.check_site(event.site_url)
    site = signed.site
    job, created = services.store.create(
        NewJob(
            webhook_id=event.webhook_id,
            site_url=site.url,
            post_id=event.post_id,
            post_type=event.post_type,
            title=event.title,
            excerpt=event.excerpt,
            slug=event.slug,
            request=event.request,
            replace_image=event.replace,
            context=event.context.to_json(),
            options=site.job_options(event.options).to_json(),
        )
    )
    logcontext.bind(site=job.site_url, post_id=job.post_id, job_id=job.id)
    if created:
        services.enqueuer.submit(job.id)
        log.info("job %s queued for post %s", job.id, job.post_id)
    else:
        record_duplicate(job.site_url)
    return jsonify(job_id=job.id, status=job.state.value, duplicate=not created), (
        202 if created else 200
    )


@api.post("/connection-test")
def connection_test() -> ResponseReturnValue:
    """The plugin's "Test connection": signed like a webhook, answers what works and what not."""
    services = _services()
    body = raw_body()
    signed = services.sites.verify(body, signature_headers())
    site_url = parse_connection_test(body)
    if signed.named:  # an older plugin's other site is a failed "site" check, as before
        signed.check_site(site_url)
    site = signed.site
    settings = site.settings(services.settings)
    checks = run_checks(settings, services.store, services.clients.wordpress(site), site_url)
    return jsonify(report(checks))


@api.get("/jobs/<job_id>")
def job_status(job_id: str) -> ResponseReturnValue:
    """The job's public fields, for a caller that signs the ``GET`` like a webhook."""
    services = _services()
    signed = services.sites.verify_get(signature_headers())
    job = services.store.get(job_id)
    if job is None or not signed.owns(job.site_url):
        return jsonify(error="not_found", message="no such job"), 404
    return jsonify(job.public())


@api.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Open to anyone, so it says only whether the bridge can serve (details go to the log)."""
    try:
        _services().store.ping()
    except STORE_ERRORS as exc:
        log.error("health check: the job database is unavailable (%s)", exc)
        return jsonify(
            status="unavailable", error="unavailable", message="the bridge cannot serve now"
        ), 503
    return jsonify(status="ok")


def _parse(webhook_id: str, body: bytes) -> PostEvent:
    """``parse_event`` plus the limits the job store needs."""
    event = parse_event(webhook_id, body)
    if event.post_id > MAX_POST_ID:
        raise WebhookRejected(422, "invalid_payload", "data.post_id is too large")
    for name in ("site_url", "post_type", "title", "excerpt", "slug"):
        try:
            getattr(event, name).encode("utf-8")
        except UnicodeEncodeError:
            raise WebhookRejected(
                422, "invalid_payload", f"data.{name} contains an unpaired surrogate character"
            ) from None
    return event
