"""The job record and its leases behave the same on both backends: SQLite files and Redis.

Every test runs twice, on a temporary SQLite file and on a real redis-server (a fresh key
prefix per test), through the interfaces the rest of the bridge uses (``bridge.storage``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from bridge.jobs import JobState, JobStore, NewJob
from bridge.leases import Leases
from bridge.redis_leases import RedisLeases
from bridge.redis_store import RedisJobStore, connect
from bridge.storage import JobRecords, LeaseStore
from devenv.redis_server import LocalRedis

SITE = "http://127.0.0.1:9"


@dataclass
class Backend:
    """A store and its leases, with two ways to move time forward for one job."""

    store: JobRecords
    leases: LeaseStore
    sqlite_path: Path | None = None
    client: redis.Redis | None = None
    prefix: str = ""

    def expire_lease(self, job_id: str) -> None:
        """Moves the job's lease into the past, as if its worker had died."""
        self._set(job_id, "lease_until", time.time() - 1)

    def age(self, job_id: str, seconds: float) -> None:
        """Makes the job look untouched for ``seconds``."""
        self._set(job_id, "updated_at", time.time() - seconds)

    def _set(self, job_id: str, column: str, value: float) -> None:
        if self.client is not None:
            self.client.hset(f"{self.prefix}job:{job_id}", column, repr(value))
            return
        assert self.sqlite_path is not None
        db = sqlite3.connect(self.sqlite_path)
        db.execute(f"UPDATE jobs SET {column} = ? WHERE id = ?", (value, job_id))
        db.commit()
        db.close()


@pytest.fixture(params=["sqlite", "redis"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: LocalRedis
) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "jobs.sqlite3"
        yield Backend(JobStore(path), Leases(path), sqlite_path=path)
        return
    client = connect(redis_server.url)
    prefix = f"test{uuid.uuid4().hex[:8]}:"
    yield Backend(
        RedisJobStore(client, prefix),
        RedisLeases(client, prefix),
        client=client,
        prefix=prefix,
    )
    client.close()


def _new(post_id: int = 7, webhook_id: str | None = None, **extra: object) -> NewJob:
    return NewJob(
        webhook_id or f"msg_{uuid.uuid4().hex}",
        SITE,
        post_id,
        "post",
        "A title",
        "An excerpt",
        "a-title",
        **extra,  # type: ignore[arg-type]
    )


def test_a_redelivered_webhook_returns_the_job_it_made(backend: Backend) -> None:
    first, created = backend.store.create(_new(webhook_id="msg_1"))
    again, created_again = backend.store.create(_new(webhook_id="msg_1"))
    assert created and not created_again
    assert again.id == first.id
    assert first.state == JobState.QUEUED and first.attempts == 0
    assert backend.store.get(first.id) == first


def test_a_post_has_one_job_under_way_and_a_new_one_once_it_ended(backend: Backend) -> None:
    first, _ = backend.store.create(_new())
    second, created = backend.store.create(_new())
    assert not created and second.id == first.id
    other_post, created_other = backend.store.create(_new(post_id=8))
    assert created_other and other_post.id != first.id
    backend.store.update(first.id, state=JobState.DONE)
    third, created_third = backend.store.create(_new())
    assert created_third and third.id != first.id


def test_a_regenerate_meeting_a_job_under_way_makes_it_replace_the_image(
    backend: Backend,
) -> None:
    first, _ = backend.store.create(_new())
    job, created = backend.store.create(
        _new(request="post.regenerate", replace_image=True, options='{"style": "x"}')
    )
    assert not created and job.id == first.id
    assert job.replace_image and job.request == "post.regenerate"
    assert job.options == '{"style": "x"}'


def test_a_waiting_backfill_job_does_not_hold_back_a_publish(backend: Backend) -> None:
    made = backend.store.create_many([_new(1), _new(2)], run_id="run1")
    assert [created for _, created in made] == [True, True]
    assert all(job.state == JobState.WAITING and job.run_id == "run1" for job, _ in made)
    again, created_again = backend.store.create(_new(1), run_id="run2")
    assert not created_again and again.id == made[0][0].id
    publish, created = backend.store.create(_new(1))
    assert created and publish.state == JobState.QUEUED


def test_update_sets_and_clears_fields_and_refuses_unknown_ones(backend: Backend) -> None:
    job, _ = backend.store.create(_new())
    updated = backend.store.update(
        job.id, state=JobState.GENERATING, provider="segmind", provider_ref="r1", attempts=2
    )
    assert updated.state == JobState.GENERATING and updated.attempts == 2
    assert updated.provider_ref == "r1" and updated.updated_at >= job.updated_at
    cleared = backend.store.update(job.id, provider_ref=None, submitted_at=12.5)
    assert cleared.provider_ref is None and cleared.submitted_at == 12.5
    assert backend.store.get(job.id) == cleared
    with pytest.raises(ValueError):
        backend.store.update(job.id, no_such_field=1)
    with pytest.raises(KeyError):
        backend.store.update("no-such-job", attempts=1)
    assert backend.store.get("no-such-job") is None


def test_last_finished_and_has_job(backend: Backend) -> None:
    assert backend.store.last_finished(provider="segmind") is None
    assert not backend.store.has_job(SITE, 7)
    first, _ = backend.store.create(_new(7))
    second, _ = backend.store.create(_new(8))
    assert backend.store.has_job(SITE, 7) and not backend.store.has_job(SITE, 9)
    backend.store.update(first.id, provider="segmind", state=JobState.FAILED, error_kind="x")
    time.sleep(0.01)
    backend.store.update(second.id, provider="segmind", state=JobState.DONE)
    last = backend.store.last_finished(provider="segmind")
    assert last is not None and last.id == second.id
    assert backend.store.last_finished(provider="local") is None
    backend.store.ping()


def test_many_webhooks_for_one_post_at_once_make_one_job(backend: Backend) -> None:
    results: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        job, created = backend.store.create(_new(webhook_id=f"msg_{n}"))
        with lock:
            results.append((job.id, created))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_a_held_lease_keeps_other_workers_out_until_it_expires(backend: Backend) -> None:
    job, _ = backend.store.create(_new())
    assert backend.leases.claim(job.id, "worker-a", 60)
    assert backend.leases.claim(job.id, "worker-a", 60), "its owner may claim again"
    assert not backend.leases.claim(job.id, "worker-b", 60)
    backend.expire_lease(job.id)
    assert backend.leases.claim(job.id, "worker-b", 60)
    backend.store.update(job.id, state=JobState.DONE)
    backend.expire_lease(job.id)
    assert not backend.leases.claim(job.id, "worker-c", 60), "an ended job is not run again"


def test_a_renewed_lease_is_not_stalled_and_a_released_one_waits(backend: Backend) -> None:
    job, _ = backend.store.create(_new())
    backend.leases.claim(job.id, "worker-a", 60)
    backend.expire_lease(job.id)
    backend.leases.renew(["worker-a"], 60)
    assert backend.leases.take_stalled(grace=60) == []
    backend.leases.release(job.id, "worker-a", wait=60)
    assert backend.leases.claim(job.id, "worker-b", 60), "a released lease can be taken"
    backend.leases.release(job.id, "worker-b", wait=60)
    assert backend.leases.take_stalled(grace=60) == [], "released: waits in the queue"
    backend.expire_lease(job.id)
    assert backend.leases.take_stalled(grace=60) == [job.id]


def test_each_stalled_job_goes_to_exactly_one_of_many_sweepers(backend: Backend) -> None:
    ids = [backend.store.create(_new(post_id))[0].id for post_id in range(30)]
    for job_id in ids:
        backend.leases.claim(job_id, f"dead-{job_id}", 60)
        backend.expire_lease(job_id)
    taken: list[list[str]] = []

    def sweep() -> None:
        taken.append(backend.leases.take_stalled(grace=60))

    threads = [threading.Thread(target=sweep) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [job_id for batch in taken for job_id in batch]
    assert sorted(everything) == sorted(ids)
    assert backend.leases.take_stalled(grace=60) == [], "taken jobs wait in the queue"


def test_a_recorded_job_that_never_started_is_stalled_after_the_grace(backend: Backend) -> None:
    job, _ = backend.store.create(_new())  # recorded; nothing has taken it since
    ended, _ = backend.store.create(_new(post_id=8))
    backend.store.update(ended.id, state=JobState.FAILED)
    assert backend.leases.take_stalled(grace=60) == []
    backend.age(job.id, 61)
    backend.age(ended.id, 61)
    assert backend.leases.take_stalled(grace=60) == [job.id]
    assert backend.leases.take_stalled(grace=60) == [], "taken jobs wait for the grace"


def test_the_figures_of_metrics_and_status_follow_every_change(backend: Backend) -> None:
    store = backend.store
    done, _ = store.create(_new(1))
    failing, _ = store.create(_new(2))
    store.create(_new(3, webhook_id="reconcile:post:3"))
    store.update(done.id, state=JobState.GENERATING)
    store.update(done.id, state=JobState.DONE)
    store.update(failing.id, state=JobState.FAILED, error="no key", error_kind="unauthorized")
    retried, _ = store.create(_new(2))
    store.update(retried.id, state=JobState.FAILED, error="gone")
    assert store.counts_by_site_state() == {SITE: {"done": 1, "failed": 2, "queued": 1}}
    assert store.failed_by_site_kind() == {(SITE, "unauthorized"): 1, (SITE, "unknown"): 1}
    assert store.webhook_jobs_by_site() == {SITE: 3}, "the reconciliation's job is not counted"
    errors = store.last_errors()
    assert [(e.kind, e.job_id, e.message) for e in errors] == [
        ("unknown", retried.id, "gone"),
        ("unauthorized", failing.id, "no key"),
    ]
    assert [job.id for job in store.recent_jobs(limit=2)] == [retried.id, failing.id]
    assert [job.id for job in store.recent_jobs(state="done")] == [done.id]
    assert [job.id for job in store.recent_jobs(post_id=2)] == [retried.id, failing.id]
    assert store.recent_jobs(site="http://elsewhere.example") == []
