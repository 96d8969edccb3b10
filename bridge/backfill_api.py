"""HTTP endpoints for backfill runs: start (or dry-run), read, pause, resume, cancel.

Every request is signed like a webhook; a ``GET`` is signed over the empty body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from bridge.backfill import MissingPostSource, RunConflict, RunProgress, Runs, preview
from bridge.metrics_api import record_refusal
from bridge.options import GenerationOptions, InvalidOptions
from bridge.services import Services
from bridge.signed_requests import raw_body, signature_headers
from bridge.site_routing import SignedRequest
from bridge.sites import Site
from bridge.webhooks import WebhookRejected, load_json_object
from bridge.wordpress import WordPressError

EVENT_START = "backfill.start"
MAX_POST_TYPES = 20
_POST_TYPE = re.compile(r"^[a-z0-9_-]{1,20}$")

backfills = Blueprint("backfills", __name__)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackfillServices:
    """What the backfill routes need besides the shared services; in ``app.extensions``."""

    runs: Runs
    source: Callable[[Site], MissingPostSource]
    """Lists a site's posts that have no featured image."""


@dataclass(frozen=True)
class StartRequest:
    """A validated ``backfill.start``."""

    site_url: str
    post_types: tuple[str, ...]
    limit: int | None
    dry_run: bool
    options: GenerationOptions


def _services() -> Services:
    return cast(Services, current_app.extensions["bridge"])


def _backfill() -> BackfillServices:
    return cast(BackfillServices, current_app.extensions["backfill"])


def _verify() -> tuple[SignedRequest, bytes]:
    """Checks the signature on the raw body with its site's secret; returns it and the body."""
    body = raw_body()
    return _services().sites.verify(body, signature_headers()), body


@backfills.errorhandler(WebhookRejected)
def _rejected(exc: WebhookRejected) -> ResponseReturnValue:
    log.info("backfill request refused: %s (%s)", exc.code, exc.message)
    record_refusal(exc.code)
    return jsonify(error=exc.code, message=exc.message), exc.status


@backfills.errorhandler(RunConflict)
def _conflict(exc: RunConflict) -> ResponseReturnValue:
    return jsonify(error="run_finished", message=exc.message, run=exc.run.public()), 409


@backfills.post("/backfills")
def start() -> ResponseReturnValue:
    """Lists the site's posts without a featured image and starts a run (or only counts).

    A start delivered again (the same ``webhook-id``) answers the run it made, ``200``.
    """
    signed, body = _verify()
    request_id, site = signed.webhook_id, signed.site
    wanted = parse_start(body)
    signed.check_site(wanted.site_url)
    services = _backfill()
    earlier = None if wanted.dry_run else services.runs.started_by(request_id)
    if earlier is not None:
        return jsonify(earlier.public())
    try:
        posts = list(services.source(site).list_missing(wanted.post_types, wanted.limit))
    except WordPressError as exc:
        raise WebhookRejected(
            502, "wordpress_unavailable", f"could not list the posts: {exc.message}"
        ) from None
    if wanted.dry_run:
        return jsonify(preview(services.runs, site.url, posts).public())
    run = services.runs.create(
        site.url,
        posts,
        post_types=wanted.post_types,
        limit=wanted.limit,
        options=site.job_options(wanted.options),
        request_id=request_id,
    )
    queued = _services().queue.feeder().feed()
    log.info("backfill run %s: %s jobs, %s queued now", run.id, run.total, queued)
    return jsonify(_fresh(run).public()), 201


@backfills.get("/backfills/<run_id>")
def status(run_id: str) -> ResponseReturnValue:
    signed = _services().sites.verify_get(signature_headers())
    return jsonify(_found(signed, _backfill().runs.get(run_id)).public())


@backfills.post("/backfills/<run_id>/pause")
def pause(run_id: str) -> ResponseReturnValue:
    signed = _run_of_site(run_id)
    return jsonify(_found(signed, _backfill().runs.pause(run_id)).public())


@backfills.post("/backfills/<run_id>/resume")
def resume(run_id: str) -> ResponseReturnValue:
    signed = _run_of_site(run_id)
    run = _found(signed, _backfill().runs.resume(run_id))
    _services().queue.feeder().feed()
    return jsonify(_fresh(run).public())


@backfills.post("/backfills/<run_id>/cancel")
def cancel(run_id: str) -> ResponseReturnValue:
    signed = _run_of_site(run_id)
    return jsonify(_found(signed, _backfill().runs.cancel(run_id)).public())


def _run_of_site(run_id: str) -> SignedRequest:
    """Verifies a command's signature; a run of another site is not found (404), before
    the command changes anything."""
    signed, _ = _verify()
    _found(signed, _backfill().runs.get(run_id))
    return signed


def _found(signed: SignedRequest, run: RunProgress | None) -> RunProgress:
    if run is None or not signed.owns(run.site_url):
        raise WebhookRejected(404, "not_found", "no such backfill run")
    return run


def _fresh(run: RunProgress) -> RunProgress:
    return _backfill().runs.get(run.id) or run


def parse_start(body: bytes) -> StartRequest:
    """Validates a verified ``backfill.start`` body; raises WebhookRejected naming the field."""
    payload = load_json_object(body)
    if payload.get("type") != EVENT_START:
        got = payload.get("type")
        raise WebhookRejected(
            422, "unsupported_event", f"type must be {EVENT_START!r}, got {got!r}"
        )
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected(422, "invalid_payload", "data must be a JSON object")
    site_url = data.get("site_url")
    if not isinstance(site_url, str) or not site_url:
        raise WebhookRejected(422, "invalid_payload", "data.site_url must be the site's URL")
    post_types = data.get("post_types", ["post"])
    if (
        not isinstance(post_types, list)
        or not 0 < len(post_types) <= MAX_POST_TYPES
        or not all(isinstance(name, str) and _POST_TYPE.match(name) for name in post_types)
    ):
        raise WebhookRejected(
            422, "invalid_payload", "data.post_types must be a list of post type names"
        )
    limit = data.get("limit")
    if limit is not None and (type(limit) is not int or limit <= 0):
        raise WebhookRejected(
            422, "invalid_payload", "data.limit must be a positive integer or null"
        )
    dry_run = data.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise WebhookRejected(422, "invalid_payload", "data.dry_run must be true or false")
    try:
        options = GenerationOptions.from_payload(data.get("options"))
    except InvalidOptions as exc:
        raise WebhookRejected(422, "invalid_payload", str(exc)) from None
    return StartRequest(
        site_url=site_url,
        post_types=tuple(dict.fromkeys(post_types)),
        limit=limit,
        dry_run=dry_run,
        options=options,
    )
