"""The backfill endpoints with real signatures, a real SQLite queue and job store."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bridge.app import MAX_BODY_BYTES, create_app
from bridge.config import Settings
from bridge.jobs import JobStore, NewJob
from bridge.options import GenerationOptions, PostContext
from bridge.services import Services
from bridge.wordpress import MissingPost, WordPressError
from tests.missing_posts import missing_post
from tests.signing import signed

SITE = "http://127.0.0.1:9"


@dataclass
class Site:
    """A site's listing of posts without a featured image; ``down`` makes it fail."""

    listed: list[MissingPost] = field(default_factory=list)
    down: bool = False

    def list_missing(self, post_types: Sequence[str], limit: int | None) -> Iterator[MissingPost]:
        if self.down:
            raise WordPressError("cannot reach WordPress", retryable=True)
        wanted = [post for post in self.listed if post.post_type in post_types]
        return iter(wanted[:limit])


@pytest.fixture
def site() -> Site:
    return Site(
        [missing_post(post_id, categories=("Garden",), tags=("moss",)) for post_id in range(1, 7)]
    )


@pytest.fixture
def windowed(settings: Settings) -> Settings:
    """A window of 4 jobs, fewer than the 6 posts the site lists."""
    return replace(settings, backfill_window=4)


@pytest.fixture
def app(windowed: Settings, site: Site) -> Flask:
    return create_app(windowed, missing_posts=site)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _queued(app: Flask) -> int:
    services: Services = app.extensions["bridge"]
    return int(services.queue.huey.pending_count())


def start_body(**data: Any) -> dict[str, Any]:
    return {
        "type": "backfill.start",
        "timestamp": "2026-11-25T10:00:00+00:00",
        "data": {"site_url": SITE, "post_types": ["post"], "limit": None, **data},
    }


def call(
    client: FlaskClient, secret: str, method: str, path: str, payload: Any = b""
) -> TestResponse:
    body, headers = signed(secret, payload)
    return client.open(path, method=method, data=body, headers=headers)


def test_a_signed_start_records_the_run_and_queues_only_the_window(
    app: Flask, client: FlaskClient, secret: str, windowed: Settings
) -> None:
    response = call(client, secret, "POST", "/backfills", start_body())
    assert response.status_code == 201
    run = response.get_json()
    assert run["state"] == "running"
    assert (run["total"], run["done"], run["failed"], run["remaining"]) == (6, 0, 0, 6)
    assert _queued(app) == windowed.backfill_window == 4
    again = call(client, secret, "GET", f"/backfills/{run['id']}")
    assert again.status_code == 200 and again.get_json()["total"] == 6


def test_the_runs_options_go_with_each_of_its_jobs(
    client: FlaskClient, secret: str, settings: Settings
) -> None:
    options = {"width": 800, "height": 800, "format": "webp", "style": "watercolour"}
    run = call(client, secret, "POST", "/backfills", start_body(limit=2, options=options))
    jobs = JobStore(settings.jobs_db)
    with sqlite3.connect(jobs.path) as db:
        ids = [
            row[0] for row in db.execute("SELECT id FROM jobs WHERE run_id = ?", (run.json["id"],))
        ]
    db.close()
    made = [job for job in map(jobs.get, ids) if job is not None]
    assert len(made) == 2
    assert {job.request for job in made} == {"post.backfill"}
    wanted = GenerationOptions.from_payload(options)
    assert {GenerationOptions.from_json(job.options) for job in made} == {wanted}
    # The listed terms fill the template's {categories} and {tags} for each job.
    contexts = {PostContext.from_json(job.context) for job in made}
    assert contexts == {PostContext(categories=("Garden",), tags=("moss",))}


def test_a_start_delivered_again_answers_the_same_run(
    app: Flask, client: FlaskClient, secret: str
) -> None:
    body, headers = signed(secret, start_body())
    first = client.post("/backfills", data=body, headers=headers)
    again = client.post("/backfills", data=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["total"] == 6
    assert _queued(app) == 4


def test_a_dry_run_counts_and_records_nothing(
    app: Flask, client: FlaskClient, secret: str, settings: Settings
) -> None:
    JobStore(settings.jobs_db).create(
        NewJob("msg_1", SITE, 2, "post", "Published", "", "published")
    )
    response = call(client, secret, "POST", "/backfills", start_body(dry_run=True, limit=5))
    assert response.status_code == 200
    assert response.get_json() == {
        "posts": 5,
        "generations": 4,
        "sample": [{"post_id": n, "title": f"Post {n}"} for n in range(1, 6)],
    }
    assert _queued(app) == 0


def test_pause_resume_cancel(app: Flask, client: FlaskClient, secret: str) -> None:
    run_id = call(client, secret, "POST", "/backfills", start_body()).get_json()["id"]
    paused = call(client, secret, "POST", f"/backfills/{run_id}/pause")
    assert paused.status_code == 200 and paused.get_json()["state"] == "paused"
    resumed = call(client, secret, "POST", f"/backfills/{run_id}/resume")
    assert resumed.get_json()["state"] == "running"
    cancelled = call(client, secret, "POST", f"/backfills/{run_id}/cancel").get_json()
    assert cancelled["state"] == "cancelled"
    assert (cancelled["cancelled"], cancelled["remaining"]) == (2, 4)
    refused = call(client, secret, "POST", f"/backfills/{run_id}/resume")
    assert refused.status_code == 409 and refused.get_json()["error"] == "run_finished"
    assert _queued(app) == 4


@pytest.mark.parametrize("action", ["pause", "resume", "cancel"])
def test_unknown_run(client: FlaskClient, secret: str, action: str) -> None:
    response = call(client, secret, "POST", f"/backfills/nope/{action}")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    got = call(client, secret, "GET", "/backfills/nope")
    assert got.status_code == 404 and got.get_json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/backfills/x"), ("POST", "/backfills"), ("POST", "/backfills/x/cancel")],
)
def test_unsigned_requests_are_refused(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method, json=start_body())
    assert response.status_code == 401
    assert response.get_json()["error"] == "missing_signature"


def test_a_signature_from_another_secret_is_refused(app: Flask, client: FlaskClient) -> None:
    from tests.signing import new_secret

    response = call(client, new_secret(), "POST", "/backfills", start_body())
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_signature"
    assert _queued(app) == 0


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"type": "post.published", "data": {}}, "unsupported_event"),
        (start_body(post_types=[]), "invalid_payload"),
        (start_body(post_types=["Post Type!"]), "invalid_payload"),
        (start_body(limit=0), "invalid_payload"),
        (start_body(limit="10"), "invalid_payload"),
        (start_body(dry_run="yes"), "invalid_payload"),
        (start_body(options=[]), "invalid_payload"),
        (start_body(options={"format": "gif"}), "invalid_payload"),
        ({"type": "backfill.start", "data": None}, "invalid_payload"),
        (b"{not json", "malformed_json"),
    ],
)
def test_invalid_starts_are_refused_with_a_code(
    app: Flask, client: FlaskClient, secret: str, payload: Any, code: str
) -> None:
    response = call(client, secret, "POST", "/backfills", payload)
    assert response.status_code in (400, 422)
    assert response.get_json()["error"] == code
    assert _queued(app) == 0


def test_an_oversized_chunked_start_is_413(app: Flask, client: FlaskClient) -> None:
    """No Content-Length (chunked): reading stops at the limit, and the answer says why
    rather than calling the cut body a bad signature."""
    stream = io.BytesIO(b"x" * (MAX_BODY_BYTES * 2))
    response = client.post(
        "/backfills",
        input_stream=stream,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert _queued(app) == 0


def test_another_site_is_refused(client: FlaskClient, secret: str) -> None:
    response = call(
        client, secret, "POST", "/backfills", start_body(site_url="https://other.example")
    )
    assert response.status_code == 403 and response.get_json()["error"] == "unknown_site"


def test_wordpress_down_creates_nothing(
    app: Flask, client: FlaskClient, secret: str, site: Site
) -> None:
    site.down = True
    response = call(client, secret, "POST", "/backfills", start_body())
    assert response.status_code == 502
    assert response.get_json()["error"] == "wordpress_unavailable"
    assert _queued(app) == 0
