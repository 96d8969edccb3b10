"""docs/openapi.yaml describes what the running app really answers: every response below, 2xx
and refusals alike, is validated against it (status, content type, body schema), and every
request the app accepted against the request's description."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from werkzeug.test import TestResponse

from bridge.app import create_app
from bridge.config import Settings
from bridge.wordpress import WordPressError
from tests.signing import event, new_secret, signed, signed_get

SPEC_PATH = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
SITE = "http://127.0.0.1:9"
SERVER = "http://127.0.0.1:8080"  # the server named in the description
TOKEN = "a-metrics-token-of-some-length"
Sign = Callable[[str, bytes], dict[str, str]]


@dataclass(frozen=True)
class Post:
    post_id: int
    post_type: str = "post"
    title: str = "A post"
    excerpt: str = ""
    slug: str = "a-post"
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    site_name: str = ""


@dataclass
class Listing:
    """Posts without a featured image; ``down`` makes WordPress refuse the listing."""

    posts: list[Post] = field(default_factory=lambda: [Post(i, title=f"P{i}") for i in (1, 2)])
    down: bool = False

    def list_missing(self, post_types: Sequence[str], limit: int | None) -> Iterator[Post]:
        if self.down:
            raise WordPressError("cannot reach WordPress", retryable=True)
        return iter(self.posts[:limit])


@pytest.fixture(scope="module")
def spec() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


@pytest.fixture
def listing() -> Listing:
    return Listing()


@pytest.fixture
def app(settings: Settings, listing: Listing) -> Flask:
    return create_app(replace(settings, metrics_token=TOKEN), missing_posts=listing)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def check(spec: OpenAPI, response: TestResponse, status: int) -> Any:
    """Asserts the status and that the answer matches the description; returns its JSON."""
    assert response.status_code == status, response.get_data(as_text=True)
    sent = response.request
    stream = sent.environ["wsgi.input"]
    stream.seek(0)  # the app read the body; the test client keeps it in memory
    request = MockRequest(
        SERVER,
        sent.method.lower(),
        sent.path,
        headers=dict(sent.headers),
        data=stream.read() or None,
        content_type=sent.mimetype or "application/json",
    )
    answer = MockResponse(
        response.data,
        status_code=response.status_code,
        headers=dict(response.headers),
        content_type=response.mimetype,
    )
    spec.validate_response(request, answer)
    if status < 300:  # what the app accepted must be what the description allows
        spec.validate_request(request)
    return response.get_json(silent=True)


def post(client: FlaskClient, path: str, secret: str, payload: Any, **headers: str) -> TestResponse:
    body, signature = signed(secret, payload)
    return client.post(path, data=body, headers={**signature, **headers})


def test_the_description_is_valid_openapi_3_1() -> None:
    document, _ = read_from_filename(str(SPEC_PATH))
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_webhook_answers(spec: OpenAPI, client: FlaskClient, secret: str) -> None:
    body, headers = signed(secret, event(post_id=5, options={"width": 800, "format": "webp"}))
    first = check(spec, client.post("/webhook", data=body, headers=headers), 202)
    again = check(spec, client.post("/webhook", data=body, headers=headers), 200)
    assert again == {**first, "duplicate": True}


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        (b"{not json", 400, "malformed_json"),
        (event(site_url="http://elsewhere.example"), 403, "unknown_site"),
        (event(post_id=-1), 422, "invalid_payload"),
        ({**event(), "type": "post.deleted"}, 422, "unsupported_event"),
        (event(title="x" * 70_000), 413, "request_entity_too_large"),
    ],
)
def test_webhook_refusals(
    spec: OpenAPI, client: FlaskClient, secret: str, payload: Any, status: int, error: str
) -> None:
    assert check(spec, post(client, "/webhook", secret, payload), status)["error"] == error


@pytest.mark.parametrize(
    ("sign", "error"),
    [
        (lambda secret, body: {}, "missing_signature"),
        (lambda secret, body: signed(new_secret(), body)[1], "invalid_signature"),
        (
            lambda secret, body: signed(secret, body, timestamp=time.time() - 600)[1],
            "stale_timestamp",
        ),
    ],
)
def test_signature_refusals(
    spec: OpenAPI, client: FlaskClient, secret: str, sign: Sign, error: str
) -> None:
    body = json.dumps(event()).encode()
    response = client.post("/webhook", data=body, headers=sign(secret, body))
    assert check(spec, response, 401)["error"] == error


def test_connection_test_answers(spec: OpenAPI, client: FlaskClient, secret: str) -> None:
    payload = {"type": "connection.test", "timestamp": "now", "data": {"site_url": SITE}}
    report = check(spec, post(client, "/connection-test", secret, payload), 200)
    assert [c["name"] for c in report["checks"]] == ["signature", "wordpress", "provider"]
    other = {**payload, "data": {"site_url": "http://elsewhere.example"}}
    assert check(spec, post(client, "/connection-test", secret, other), 200)["ok"] is False
    check(spec, post(client, "/connection-test", new_secret(), payload), 401)
    check(spec, post(client, "/connection-test", secret, {"type": "x"}), 422)


def test_job_answers(spec: OpenAPI, client: FlaskClient, secret: str) -> None:
    job_id = check(spec, post(client, "/webhook", secret, event()), 202)["job_id"]
    assert check(spec, client.get(f"/jobs/{job_id}", headers=signed_get(secret)), 200)["id"]
    check(spec, client.get("/jobs/nope", headers=signed_get(secret)), 404)
    check(spec, client.get(f"/jobs/{job_id}"), 401)


def test_health_and_metrics_answers(spec: OpenAPI, client: FlaskClient) -> None:
    assert check(spec, client.get("/healthz"), 200) == {"status": "ok"}
    check(spec, client.get("/metrics"), 401)
    scrape = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    check(spec, scrape, 200)
    assert b"bridge_workers_alive" in scrape.data


def test_backfill_answers(
    spec: OpenAPI, client: FlaskClient, secret: str, listing: Listing
) -> None:
    def start(**data: Any) -> dict[str, Any]:
        return {"type": "backfill.start", "timestamp": "now", "data": {"site_url": SITE, **data}}

    def command(name: str) -> dict[str, Any]:
        return {"type": f"backfill.{name}", "timestamp": "now", "data": {"site_url": SITE}}

    preview = check(spec, post(client, "/backfills", secret, start(dry_run=True)), 200)
    assert preview["posts"] == 2
    body, headers = signed(secret, start(post_types=["post"], limit=5))
    run = check(spec, client.post("/backfills", data=body, headers=headers), 201)
    assert (
        check(spec, client.post("/backfills", data=body, headers=headers), 200)["id"] == run["id"]
    )
    path = f"/backfills/{run['id']}"
    check(spec, client.get(path, headers=signed_get(secret)), 200)
    check(spec, post(client, f"{path}/pause", secret, command("pause")), 200)
    check(spec, post(client, f"{path}/resume", secret, command("resume")), 200)
    assert check(spec, post(client, f"{path}/cancel", secret, command("cancel")), 200)
    finished = check(spec, post(client, f"{path}/pause", secret, command("pause")), 409)
    assert finished["run"]["state"] == "cancelled"
    check(spec, client.get("/backfills/nope", headers=signed_get(secret)), 404)
    check(spec, post(client, "/backfills", secret, start(post_types="post")), 422)
    check(spec, post(client, "/backfills", secret, start(site_url="http://x.example")), 403)
    listing.down = True
    check(spec, post(client, "/backfills", secret, start()), 502)


def test_a_method_not_described_answers_405_with_allow(client: FlaskClient) -> None:
    response = client.put("/webhook")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
