"""``GET /jobs/<id>`` needs a signature (over the empty body); ``/healthz`` is open and terse."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Settings
from bridge.services import Services
from tests.signing import event, new_secret, signed, signed_get

Tamper = Callable[[dict[str, str]], dict[str, str]]


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def job_id(client: FlaskClient, secret: str) -> str:
    body, headers = signed(secret, event(post_id=21, title="A private draft title"))
    response = client.post("/webhook", data=body, headers=headers)
    assert response.status_code == 202
    return str(response.get_json()["job_id"])


def test_a_signed_get_reads_the_job(client: FlaskClient, secret: str, job_id: str) -> None:
    response = client.get(f"/jobs/{job_id}", headers=signed_get(secret))
    assert response.status_code == 200
    job = response.get_json()
    assert (job["id"], job["post_id"], job["state"]) == (job_id, 21, "queued")
    assert "A private draft title" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda h: {}, "missing_signature"),
        (lambda h: {k: v for k, v in h.items() if k != "webhook-signature"}, "missing_signature"),
        (lambda h: {**h, "webhook-signature": "v1,AAAA"}, "invalid_signature"),
        (lambda h: {**h, "webhook-signature": "nonsense"}, "invalid_signature"),
        (lambda h: {**h, "webhook-id": "msg_another"}, "invalid_signature"),
        (
            lambda h: {**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)},
            "invalid_signature",
        ),
    ],
)
def test_an_unsigned_or_tampered_get_is_401(
    client: FlaskClient, secret: str, job_id: str, tamper: Tamper, code: str
) -> None:
    response = client.get(f"/jobs/{job_id}", headers=tamper(signed_get(secret)))
    assert response.status_code == 401
    assert response.get_json()["error"] == code
    assert str(job_id) not in response.get_data(as_text=True)


def test_another_secret_is_401(client: FlaskClient, job_id: str) -> None:
    response = client.get(f"/jobs/{job_id}", headers=signed_get(new_secret()))
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_signature"


@pytest.mark.parametrize("skew", [-400, 400])
def test_a_stale_get_is_401(client: FlaskClient, secret: str, job_id: str, skew: int) -> None:
    headers = signed_get(secret, timestamp=time.time() + skew)
    response = client.get(f"/jobs/{job_id}", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"] == "stale_timestamp"


def test_a_get_signed_over_a_body_is_refused(client: FlaskClient, secret: str, job_id: str) -> None:
    """A webhook's signature (over its body) does not open the read endpoint."""
    _, headers = signed(secret, event())
    response = client.get(f"/jobs/{job_id}", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_signature"


def test_an_unknown_job_is_only_404_when_signed(client: FlaskClient, secret: str) -> None:
    assert client.get("/jobs/nope").status_code == 401
    assert client.get("/jobs/nope", headers=signed_get(secret)).status_code == 404


def test_healthz_is_open_and_says_only_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_healthz_failure_is_503_without_details(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    services: Services = app.extensions["bridge"]
    with sqlite3.connect(services.settings.jobs_db) as db:
        db.execute("DROP TABLE jobs")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "unavailable" and body["status"] == "unavailable"
    text = response.get_data(as_text=True)
    assert "no such table" not in text and "sqlite" not in text
    assert str(services.settings.data_dir) not in text
    assert "no such table" in caplog.text  # the operator still learns why
