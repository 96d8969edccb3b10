"""With ``BRIDGE_REDIS_URL`` the figures of ``/metrics`` and the workers' heartbeats live in
Redis: what one process records (a refused webhook, a duplicate, a worker's retry) shows in the
``/metrics`` of a web process with another data directory (another machine), and ``bridge
status`` counts the workers of every machine. Without it each data directory keeps its own."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bridge import logcontext
from bridge.app import create_app
from bridge.backends import create_backend
from bridge.cli import main
from bridge.config import Settings
from bridge.events import alive
from bridge.jobs import NewJob
from bridge.tasks import create_queue
from devenv.bridge_process import BridgeProcesses
from devenv.redis_server import LocalRedis
from tests.scrapes import key, samples
from tests.signing import event, signed

SITE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _no_ids_left_behind() -> Iterator[None]:
    """The test client runs requests in this thread: ids a webhook bound must not follow."""
    yield
    logcontext.clear()


def machine(settings: Settings, tmp_path: Path, name: str) -> Settings:
    """The settings of another machine: the same backend, its own data directory."""
    return replace(settings, data_dir=tmp_path / name)


REFUSED = key(
    "bridge_webhooks_rejected_total", endpoint="POST /webhook", reason="missing_signature"
)
DUPLICATE = key("bridge_webhooks_accepted_total", site=SITE, outcome="duplicate")
RETRY = key("bridge_job_retries_total", site=SITE, cause="wordpress")


def test_what_one_web_process_counts_shows_in_anothers_metrics(
    redis_settings: Settings, tmp_path: Path, secret: str
) -> None:
    web_a = create_app(machine(redis_settings, tmp_path, "web-a")).test_client()
    web_b = create_app(machine(redis_settings, tmp_path, "web-b")).test_client()
    body, _ = signed(secret, event(post_id=5))
    assert web_a.post("/webhook", data=body).status_code == 401
    for _ in range(2):
        body, headers = signed(secret, event(post_id=6))
        web_a.post("/webhook", data=body, headers=headers)

    for client in (web_b, web_a):  # both answer the same figures
        figures = samples(client)
        assert figures[REFUSED] == 1
        assert figures[DUPLICATE] == 1
        assert figures[key("bridge_webhooks_accepted_total", site=SITE, outcome="created")] == 1
    assert not (tmp_path / "web-a" / "jobs.sqlite3").exists(), "no metric table kept locally"


def test_a_retry_a_worker_records_shows_in_another_machines_metrics(
    redis_settings: Settings, tmp_path: Path
) -> None:
    worker = create_queue(machine(redis_settings, tmp_path, "worker"), immediate=True)
    web = create_app(machine(redis_settings, tmp_path, "web")).test_client()
    assert RETRY not in samples(web)
    job, _ = worker.store.create(NewJob("msg_1", SITE, 7, "post", "T", "E", "t"))
    worker.enqueue(job.id)  # runs now; WordPress (port 9) does not answer: a retry
    assert samples(web)[RETRY] == 1


def test_without_redis_each_data_directory_keeps_its_own_figures(
    settings: Settings, tmp_path: Path, secret: str
) -> None:
    web_a = create_app(machine(settings, tmp_path, "web-a")).test_client()
    web_b = create_app(machine(settings, tmp_path, "web-b")).test_client()
    body, _ = signed(secret, event(post_id=5))
    web_a.post("/webhook", data=body)
    assert samples(web_a)[REFUSED] == 1
    assert REFUSED not in samples(web_b)


def test_machines_whose_clocks_differ_agree_which_workers_are_alive(
    redis_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heartbeats are timed by the Redis server: neither the worker's clock nor the clock of
    the process that reads them matters."""
    metrics = create_backend(redis_settings).metrics()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3600)  # the worker's machine: behind
    metrics.heartbeat("behind:1")
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # the reader's machine: ahead
    assert [beat.worker for beat in alive(metrics.heartbeats())] == ["behind:1"]


@pytest.fixture
def env(
    redis_settings: Settings, redis_server: LocalRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The environment of the bridge's processes (and of ``bridge status`` here)."""
    values = {
        "BRIDGE_WEBHOOK_SECRET": redis_settings.webhook_secret,
        "WP_URL": redis_settings.wp_url,
        "WP_USER": redis_settings.wp_user,
        "WP_APP_PASSWORD": redis_settings.wp_app_password,
        "BRIDGE_REDIS_URL": redis_server.url,
        "BRIDGE_PORT": "9",  # nothing listens there: no web side
        "BRIDGE_LOG_LEVEL": "WARNING",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield values
    root.handlers[:] = handlers
    root.setLevel(level)


def test_bridge_status_counts_the_workers_of_every_machine(
    env: dict[str, str],
    redis_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workers = [BridgeProcesses(env, tmp_path / f"worker-{n}") for n in range(2)]
    try:
        for worker in workers:
            worker.data_dir.mkdir(parents=True)
            worker.start_role("worker")
        monkeypatch.setenv("BRIDGE_DATA_DIR", str(tmp_path / "operator"))
        deadline = time.monotonic() + 60
        status: dict[str, dict[str, int]] = {}
        while time.monotonic() < deadline:  # until both have started and written a heartbeat
            main(["status", "--json"])
            status = json.loads(capsys.readouterr().out)
            if status["workers"]["alive"] >= 2:
                break
            time.sleep(0.2)
        logs = [(w.data_dir / "worker.log").read_text(errors="replace") for w in workers]
        assert status["workers"]["alive"] == 2, logs
        web = create_app(machine(redis_settings, tmp_path, "web")).test_client()
        assert samples(web)[key("bridge_workers_alive")] == 2
    finally:
        for worker in workers:
            worker.stop()
    assert all(not (worker.data_dir / "jobs.sqlite3").exists() for worker in workers)
