"""With ``BRIDGE_REDIS_URL`` the web side and the worker share job record, leases and queue
through a real redis-server, and the sweep finds what a lost queue entry left behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bridge import logcontext
from bridge.app import create_app
from bridge.config import Settings
from bridge.healthcheck import Unhealthy, check_worker
from bridge.jobs import NewJob
from bridge.sweeper import Sweeper
from bridge.tasks import create_queue
from devenv.redis_server import LocalRedis
from devenv.wordpress import free_port
from tests.signing import event, signed


@pytest.fixture(autouse=True)
def _no_ids_left_behind() -> Iterator[None]:
    """The test client runs requests in this thread: the ids a webhook bound to its log
    context must not follow into the next test."""
    yield
    logcontext.clear()


def test_two_web_apps_with_separate_data_dirs_share_one_job_per_post(
    redis_settings: Settings, tmp_path: Path, secret: str
) -> None:
    flasks = [create_app(replace(redis_settings, data_dir=tmp_path / name)) for name in ("a", "b")]
    apps = [flask.test_client() for flask in flasks]
    answers = []
    for client in apps:
        body, headers = signed(secret, event(post_id=5))
        answers.append(client.post("/webhook", data=body, headers=headers))
    assert [answer.status_code for answer in answers] == [202, 200]
    job_id = answers[0].get_json()["job_id"]
    assert answers[1].get_json() == {"job_id": job_id, "status": "queued", "duplicate": True}
    for flask in flasks:
        assert flask.extensions["bridge"].enqueuer.flush(timeout=30)
    assert flasks[1].extensions["bridge"].queue.queued_job_ids() == {job_id}, "queued once"
    assert not (tmp_path / "a" / "queue.sqlite3").exists()
    assert apps[1].get("/healthz").get_json() == {"status": "ok"}


def test_the_sweep_requeues_a_job_whose_queue_entry_was_lost(redis_settings: Settings) -> None:
    queue = create_queue(redis_settings)
    job, _ = queue.store.create(NewJob("msg_1", "http://127.0.0.1:9", 7, "post", "T", "E", "t"))
    # Recorded, but the web side died before enqueueing it.
    sweeper = Sweeper(queue.leases, queue, grace=0.05)
    time.sleep(0.1)
    assert sweeper.sweep() == [job.id]
    assert queue.queued_job_ids() == {job.id}
    time.sleep(0.1)
    assert sweeper.sweep() == [], "a job still in the queue is not queued twice"
    assert queue.huey.pending_count() == 1


def test_metrics_count_the_jobs_kept_in_redis(redis_settings: Settings, secret: str) -> None:
    client = create_app(redis_settings).test_client()
    for post_id in (1, 2, 2):
        body, headers = signed(secret, event(post_id=post_id))
        client.post("/webhook", data=body, headers=headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'bridge_jobs{site="http://127.0.0.1:9",state="queued"} 2.0' in text
    assert 'bridge_webhooks_accepted_total{outcome="created",site="http://127.0.0.1:9"} 2.0' in (
        text
    )


def test_the_worker_health_check_asks_redis_and_never_shows_its_password(
    redis_settings: Settings,
) -> None:
    check_worker(redis_settings)  # answers: healthy
    closed = f"redis://:pa55word@127.0.0.1:{free_port()}/0"
    with pytest.raises(Unhealthy) as raised:
        check_worker(replace(redis_settings, redis_url=closed))
    assert "does not answer" in str(raised.value)
    assert "pa55word" not in str(raised.value)


def test_with_redis_down_a_webhook_is_refused_for_redelivery(
    redis_settings: Settings, tmp_path: Path, secret: str
) -> None:
    server = LocalRedis(tmp_path / "redis")
    server.start()
    client = create_app(replace(redis_settings, redis_url=server.url)).test_client()
    body, headers = signed(secret, event(post_id=3))
    assert client.post("/webhook", data=body, headers=headers).status_code == 202
    server.kill()  # a crash: what was answered 202 is in the append-only file
    body, headers = signed(secret, event(post_id=4))
    answer = client.post("/webhook", data=body, headers=headers)
    assert answer.status_code == 503, "the plugin redelivers a webhook that got a 5xx"
    assert answer.get_json()["error"] == "unavailable"
    assert client.get("/healthz").status_code == 503
    server.start()
    try:
        assert client.get("/healthz").status_code == 200
        body, headers = signed(secret, event(post_id=3))
        again = client.post("/webhook", data=body, headers=headers)
        assert (again.status_code, again.get_json()["duplicate"]) == (200, True)
    finally:
        server.stop()
