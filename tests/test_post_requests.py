"""The kinds of request a webhook carries: publish, update, regenerate, backfill."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from bridge.app import create_app
from bridge.config import Settings
from bridge.jobs import Job
from bridge.options import GenerationOptions, PostContext
from bridge.services import Services
from tests.signing import event, signed


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


def _send(app: Flask, secret: str, payload: dict[str, object]) -> tuple[int, dict[str, object]]:
    body, headers = signed(secret, payload)
    response = app.test_client().post("/webhook", data=body, headers=headers)
    return response.status_code, response.get_json()


def _job(app: Flask, job_id: object) -> Job:
    services: Services = app.extensions["bridge"]
    job = services.store.get(str(job_id))
    assert job is not None
    return job


@pytest.mark.parametrize("kind", ["post.published", "post.updated", "post.backfill"])
def test_automatic_requests_do_not_replace_an_image(app: Flask, secret: str, kind: str) -> None:
    status, answer = _send(app, secret, {**event(post_id=5), "type": kind})
    assert status == 202
    job = _job(app, answer["job_id"])
    assert job.request == kind and not job.replace_image


def test_a_regenerate_replaces_and_carries_the_sites_settings(app: Flask, secret: str) -> None:
    payload = event(
        post_id=6,
        site_name="Garden notes",
        categories=["Plants"],
        tags=["moss"],
        options={"format": "webp", "width": 800, "height": 800, "replaced_image": "delete"},
    )
    status, answer = _send(app, secret, {**payload, "type": "post.regenerate"})
    assert status == 202
    job = _job(app, answer["job_id"])
    assert job.replace_image
    options = GenerationOptions.from_json(job.options)
    assert (options.format, options.width, options.replaced_image) == ("webp", 800, "delete")
    assert PostContext.from_json(job.context).categories == ("Plants",)


def test_a_regenerate_during_an_automatic_job_makes_that_job_replace(
    app: Flask, secret: str
) -> None:
    _, first = _send(app, secret, event(post_id=8))
    status, second = _send(
        app, secret, {**event(post_id=8, options={"style": "ink"}), "type": "post.regenerate"}
    )
    assert status == 200 and second["duplicate"] is True
    assert second["job_id"] == first["job_id"]
    job = _job(app, first["job_id"])
    assert job.replace_image
    assert GenerationOptions.from_json(job.options).style == "ink"


def test_two_editors_clicking_regenerate_at_once_make_one_job(app: Flask, secret: str) -> None:
    regenerate = {**event(post_id=9), "type": "post.regenerate"}
    _, first = _send(app, secret, regenerate)
    _, second = _send(app, secret, regenerate)
    assert second["job_id"] == first["job_id"]
    services: Services = app.extensions["bridge"]
    assert services.enqueuer.flush(timeout=30)
    assert services.queue.huey.pending_count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"replace": "yes"}, "data.replace"),
        ({"options": {"format": "bmp"}}, "data.options.format"),
        ({"categories": "News"}, "data.categories"),
    ],
)
def test_bad_request_fields_are_refused_naming_the_field(
    app: Flask, secret: str, data: dict[str, object], field: str
) -> None:
    status, answer = _send(app, secret, event(post_id=10, **data))
    assert status == 422
    assert answer["error"] == "invalid_payload"
    assert field in str(answer["message"])
    services: Services = app.extensions["bridge"]
    assert services.enqueuer.flush(timeout=30)
    assert services.queue.huey.pending_count() == 0


def test_an_unknown_request_type_is_refused(app: Flask, secret: str) -> None:
    status, answer = _send(app, secret, {**event(), "type": "post.deleted"})
    assert status == 422 and answer["error"] == "unsupported_event"
    assert "post.regenerate" in json.dumps(answer)
