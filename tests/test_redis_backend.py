"""With ``BRIDGE_REDIS_URL`` the web side and the worker share job record, leases and queue
through a real redis-server, and the sweep finds what a lost queue entry left behind."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from bridge.app import create_app
from bridge.backends import RedisBackend, create_backend, create_gate
from bridge.config import Settings
from bridge.jobs import NewJob
from bridge.sweeper import Sweeper
from bridge.tasks import create_queue
from devenv.redis_server import LocalRedis
from tests.signing import event, signed


@pytest.fixture
def redis_settings(settings: Settings, redis_server: LocalRedis) -> Settings:
    with_redis = replace(settings, redis_url=redis_server.url)
    backend = create_backend(with_redis)
    assert isinstance(backend, RedisBackend)
    backend.client.flushdb()
    return with_redis


def test_two_web_apps_with_separate_data_dirs_share_one_job_per_post(
    redis_settings: Settings, tmp_path: Path, secret: str
) -> None:
    apps = [
        create_app(replace(redis_settings, data_dir=tmp_path / name)).test_client()
        for name in ("web-a", "web-b")
    ]
    answers = []
    for client in apps:
        body, headers = signed(secret, event(post_id=5))
        answers.append(client.post("/webhook", data=body, headers=headers))
    assert [answer.status_code for answer in answers] == [202, 200]
    job_id = answers[0].get_json()["job_id"]
    assert answers[1].get_json() == {"job_id": job_id, "status": "queued", "duplicate": True}
    assert not (tmp_path / "web-a" / "queue.sqlite3").exists()
    assert apps[1].get("/healthz").get_json() == {"status": "ok"}
    assert apps[0].post("/backfills", data=b"{}").status_code == 503


def test_the_sweep_requeues_a_job_whose_queue_entry_was_lost(redis_settings: Settings) -> None:
    assert create_gate(redis_settings) is None
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
