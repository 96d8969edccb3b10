"""``GET /metrics``: figures read from the job database at scrape time, in Prometheus text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge import logcontext, recorders
from bridge.app import create_app
from bridge.config import Settings
from bridge.events import metrics_store
from bridge.metrics_api import exposure_warning
from bridge.provider_metrics import ObservedProvider
from bridge.providers.base import Prompt
from bridge.providers.local import LocalProvider
from tests.scrapes import key, samples
from tests.signing import event, signed

SITE = "http://127.0.0.1:9"
TOKEN = "m" * 24


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_a_new_bridge_reports_zero_jobs_and_no_worker(client: FlaskClient) -> None:
    figures = samples(client)
    assert figures[key("bridge_workers_alive")] == 0
    assert figures[key("bridge_queue_tasks", kind="pending")] == 0
    assert not [name for name, _ in figures if name == "bridge_jobs"]


def test_webhooks_show_as_jobs_by_state_queue_depth_and_outcomes(
    app: Flask, client: FlaskClient, secret: str
) -> None:
    for post_id in (1, 2):
        body, headers = signed(secret, event(post_id=post_id))
        assert client.post("/webhook", data=body, headers=headers).status_code == 202
    client.post("/webhook", data=body, headers=headers)  # a redelivery of the second
    body, headers = signed(secret, event(post_id=3))
    client.post("/webhook", data=body, headers={**headers, "webhook-signature": "v1,AAAA"})
    client.post("/webhook", data=body, headers={})
    assert app.extensions["bridge"].enqueuer.flush(timeout=30)  # jobs reach huey's queue

    figures = samples(client)
    assert figures[key("bridge_jobs", site=SITE, state="queued")] == 2
    assert figures[key("bridge_jobs", site=SITE, state="done")] == 0
    assert figures[key("bridge_queue_depth", site=SITE)] == 2
    assert figures[key("bridge_queue_tasks", kind="pending")] == 2
    assert figures[key("bridge_webhooks_accepted_total", site=SITE, outcome="created")] == 2
    assert figures[key("bridge_webhooks_accepted_total", site=SITE, outcome="duplicate")] == 1
    rejected = "bridge_webhooks_rejected_total"
    assert figures[key(rejected, endpoint="POST /webhook", reason="invalid_signature")] == 1
    assert figures[key(rejected, endpoint="POST /webhook", reason="missing_signature")] == 1


def test_an_oversized_body_counts_as_refused(client: FlaskClient) -> None:
    client.post("/webhook", data=b"x" * (65 * 1024), content_type="application/json")
    figures = samples(client)
    reason = "request_entity_too_large"
    assert figures[key("bridge_webhooks_rejected_total", endpoint="POST /webhook", reason=reason)]


def test_worker_figures_recorded_in_the_job_database_are_scraped(
    client: FlaskClient, settings: Settings
) -> None:
    """What a worker process records (here: in this process) any web process reports."""
    with (
        recorders.recording_into(metrics_store(settings.jobs_db)),
        logcontext.scope(site=SITE, job_id="j1"),
    ):
        recorders.retry("rate_limited")
        recorders.retry("rate_limited")
        recorders.retry("wordpress")
        recorders.detection_delay(0.8)
        recorders.detection_delay(3.5)
        recorders.credits("segmind", 4321)
        provider = ObservedProvider(LocalProvider())
        provider.generate(Prompt("A title", "", "A title"), _NoCheckpoint())

    figures = samples(client)
    retries = "bridge_job_retries_total"
    assert figures[key(retries, site=SITE, cause="rate_limited")] == 2
    assert figures[key(retries, site=SITE, cause="wordpress")] == 1
    assert figures[key("bridge_provider_remaining_credits", provider="segmind")] == 4321
    delay = "bridge_provider_detection_delay_seconds"
    assert figures[key(f"{delay}_bucket", site=SITE, le="1.0")] == 1
    assert figures[key(f"{delay}_bucket", site=SITE, le="4.0")] == 2
    assert figures[key(f"{delay}_count", site=SITE)] == 2
    assert figures[key(f"{delay}_sum", site=SITE)] == pytest.approx(4.3)
    run = "bridge_provider_run_seconds"
    assert figures[key(f"{run}_count", site=SITE, provider="local")] == 1
    assert figures[key(f"{run}_bucket", site=SITE, provider="local", le="+Inf")] == 1


def test_a_resumed_generation_is_not_timed(client: FlaskClient, settings: Settings) -> None:
    with recorders.recording_into(metrics_store(settings.jobs_db)):
        ObservedProvider(LocalProvider()).generate(
            Prompt("A title", "", "A title"), _NoCheckpoint("https://earlier/poll")
        )
    assert not [name for name, _ in samples(client) if name.startswith("bridge_provider_run")]


def test_hooks_outside_a_task_record_nothing(tmp_path: Path) -> None:
    recorders.retry("server")  # no store bound: nothing happens, nothing raises
    assert not (tmp_path / "jobs.sqlite3").exists()


def test_a_token_guards_the_metrics(settings: Settings) -> None:
    client = create_app(replace(settings, metrics_token=TOKEN)).test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "unauthorized"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert samples(client, Authorization=f"Bearer {TOKEN}")[key("bridge_workers_alive")] == 0


@pytest.mark.parametrize("token", ["short", "has a space in it, too long", "ünïcödé" * 4])
def test_a_weak_metrics_token_is_refused_at_start(token: str, settings: Settings) -> None:
    from bridge.config import ConfigError

    env = {
        "BRIDGE_WEBHOOK_SECRET": settings.webhook_secret,
        "WP_URL": SITE,
        "WP_USER": "bridge",
        "WP_APP_PASSWORD": "x",
        "BRIDGE_METRICS_TOKEN": token,
    }
    with pytest.raises(ConfigError, match="BRIDGE_METRICS_TOKEN"):
        Settings.from_env(env)


def test_a_worker_heartbeat_counts_as_alive(client: FlaskClient, settings: Settings) -> None:
    metrics_store(settings.jobs_db).heartbeat("host:1")
    metrics_store(settings.jobs_db).heartbeat("host:2")
    assert samples(client)[key("bridge_workers_alive")] == 2


class _NoCheckpoint:
    def __init__(self, reference: str | None = None) -> None:
        self.reference = reference

    def load(self) -> str | None:
        return self.reference

    def save(self, reference: str) -> None:
        self.reference = reference


@pytest.mark.parametrize(
    ("host", "token", "warned"),
    [
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
        ("0.0.0.0", None, True),
        ("10.1.2.3", None, True),
        ("0.0.0.0", TOKEN, False),
    ],
)
def test_open_metrics_on_a_reachable_address_are_warned_about(
    settings: Settings, host: str, token: str | None, warned: bool
) -> None:
    warning = exposure_warning(replace(settings, host=host, metrics_token=token))
    assert (warning is not None) == warned
    if warning:
        assert "BRIDGE_METRICS_TOKEN" in warning and host in warning
