"""HTTP endpoints: ``POST /webhook``, ``POST /connection-test``, ``GET /jobs/<id>``,
``GET /healthz`` (see docs/protocol.md)."""

from __future__ import annotations

import logging
import sqlite3
from typing import cast

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from bridge.connection_test import report, run_checks
from bridge.jobs import NewJob
from bridge.services import Services
from bridge.webhooks import WebhookRejected, parse_connection_test, parse_event, same_site

api = Blueprint("api", __name__)
log = logging.getLogger(__name__)


def _services() -> Services:
    return cast(Services, current_app.extensions["bridge"])


@api.errorhandler(WebhookRejected)
def _rejected(exc: WebhookRejected) -> ResponseReturnValue:
    log.info("webhook refused: %s (%s)", exc.code, exc.message)
    return jsonify(error=exc.code, message=exc.message), exc.status


@api.post("/webhook")
def webhook() -> ResponseReturnValue:
    """Verifies the signature on the raw body, validates, records the job, enqueues it."""
    services = _services()
    body = request.get_data(cache=False)
    headers = {name.lower(): value for name, value in request.headers.items()}
    webhook_id = services.verifier.verify(body, headers)
    event = parse_event(webhook_id, body)
    if not same_site(event.site_url, services.settings.wp_url):
        raise WebhookRejected(
            403, "unknown_site", f"this bridge does not serve the site {event.site_url}"
        )
    job, created = services.store.create(
        NewJob(
            webhook_id=event.webhook_id,
            site_url=event.site_url,
            post_id=event.post_id,
            post_type=event.post_type,
            title=event.title,
            excerpt=event.excerpt,
            slug=event.slug,
            request=event.request,
            replace_image=event.replace,
            context=event.context.to_json(),
            options=event.options.to_json(),
        )
    )
    if created:
        services.queue.enqueue(job.id)
        log.info("job %s queued for post %s", job.id, job.post_id)
    return jsonify(job_id=job.id, status=job.state.value, duplicate=not created), (
        202 if created else 200
    )


@api.post("/connection-test")
def connection_test() -> ResponseReturnValue:
    """The plugin's "Test connection": signed like a webhook, answers what works and what not."""
    services = _services()
    body = request.get_data(cache=False)
    headers = {name.lower(): value for name, value in request.headers.items()}
    services.verifier.verify(body, headers)
    site_url = parse_connection_test(body)
    checks = run_checks(services.settings, services.store, services.wordpress, site_url)
    return jsonify(report(checks))


@api.get("/jobs/<job_id>")
def job_status(job_id: str) -> ResponseReturnValue:
    job = _services().store.get(job_id)
    if job is None:
        return jsonify(error="not_found", message="no such job"), 404
    return jsonify(job.public())


@api.get("/healthz")
def healthz() -> ResponseReturnValue:
    try:
        _services().store.ping()
    except sqlite3.Error as exc:
        return jsonify(status="error", message=f"job database unavailable: {exc}"), 503
    return jsonify(status="ok")
