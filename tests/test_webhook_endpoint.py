"""The webhook endpoint with real signatures, a real SQLite queue and job store."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Settings
from bridge.services import Services
from tests.signing import event, new_secret, signed, signed_get


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _queued(app: Flask) -> int:
    """Queue entries, once the background enqueuer handed over all it was given."""
    services: Services = app.extensions["bridge"]
    assert services.enqueuer.flush(timeout=30)
    return int(services.queue.huey.pending_count())


def _post(client: FlaskClient, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post("/webhook", data=body, headers=headers)


def test_signed_webhook_is_accepted_recorded_and_queued(
    app: Flask, client: FlaskClient, secret: str
) -> None:
    body, headers = signed(secret, event(post_id=12))
    response = _post(client, body, headers)
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    assert _queued(app) == 1
    job = client.get(f"/jobs/{job_id}", headers=signed_get(secret)).get_json()
    assert job["post_id"] == 12 and job["state"] == "queued"


def test_redelivery_and_double_hooks_make_one_job(
    app: Flask, client: FlaskClient, secret: str
) -> None:
    body, headers = signed(secret, event(post_id=3))
    first = _post(client, body, headers)
    again = _post(client, body, headers)
    body2, headers2 = signed(secret, event(post_id=3))
    other_delivery = _post(client, body2, headers2)
    assert first.status_code == 202
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert other_delivery.get_json()["job_id"] == first.get_json()["job_id"]
    assert _queued(app) == 1


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda b, h: (b + b" ", h), "invalid_signature"),
        (lambda b, h: (b, {**h, "webhook-signature": "v1,AAAA"}), "invalid_signature"),
        (lambda b, h: (b, {**h, "webhook-signature": "garbage"}), "invalid_signature"),
        (lambda b, h: (b, {**h, "webhook-id": "msg_other"}), "invalid_signature"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-id"}), "missing_signature"),
    ],
)
def test_bad_signatures_get_401_and_start_nothing(
    app: Flask,
    client: FlaskClient,
    secret: str,
    tamper,
    code: str,  # type: ignore[no-untyped-def]
) -> None:
    body, headers = tamper(*signed(secret, event()))
    response = _post(client, body, headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == code
    assert _queued(app) == 0


def test_signature_from_another_secret_is_refused(app: Flask, client: FlaskClient) -> None:
    response = _post(client, *signed(new_secret(), event()))
    assert response.status_code == 401
    assert _queued(app) == 0


@pytest.mark.parametrize("skew", [-400, 400])
def test_stale_or_future_timestamp_gets_401(
    app: Flask, client: FlaskClient, secret: str, skew: int
) -> None:
    response = _post(client, *signed(secret, event(), timestamp=time.time() + skew))
    assert response.status_code == 401
    assert response.get_json()["error"] == "stale_timestamp"
    assert "clock" in response.get_json()["message"]
    assert _queued(app) == 0


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        ([1, 2], 422, "invalid_payload"),
        ({"type": "post.deleted", "data": {}}, 422, "unsupported_event"),
        ({**event(), "data": "x"}, 422, "invalid_payload"),
        (event(post_id="7"), 422, "invalid_payload"),
        (event(post_id=True), 422, "invalid_payload"),
        (event(post_id=-1), 422, "invalid_payload"),
        (event(title=None), 422, "invalid_payload"),
        (event(post_type="Bad Type!"), 422, "invalid_payload"),
        (event(site_url="http://elsewhere.example"), 403, "unknown_site"),
    ],
)
def test_bad_payloads_get_a_clear_4xx_and_start_nothing(
    app: Flask, client: FlaskClient, secret: str, payload: object, status: int, code: str
) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = _post(client, *signed(secret, body))
    assert response.status_code == status
    assert response.get_json()["error"] == code
    assert response.get_json()["message"]
    assert _queued(app) == 0


def test_oversized_body_gets_413(app: Flask, client: FlaskClient, secret: str) -> None:
    response = _post(client, *signed(secret, event(excerpt="x" * 100_000)))
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert _queued(app) == 0


def test_unknown_job_is_404(client: FlaskClient, secret: str) -> None:
    response = client.get("/jobs/nope", headers=signed_get(secret))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
