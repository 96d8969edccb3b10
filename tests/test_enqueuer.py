"""The background handoff of new jobs to the queue."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from bridge.config import Settings
from bridge.enqueuer import BackgroundEnqueuer
from bridge.tasks import create_queue


def test_every_submitted_job_reaches_the_queue_in_order() -> None:
    queued: list[str] = []
    enqueuer = BackgroundEnqueuer(queued.append)
    for n in range(500):
        enqueuer.submit(f"job{n}")
    assert enqueuer.flush(timeout=30)
    assert queued == [f"job{n}" for n in range(500)]


def test_a_failed_handoff_is_logged_and_the_next_jobs_still_go(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queued: list[str] = []

    def enqueue(job_id: str) -> None:
        if job_id == "bad":
            raise OSError("disk full")
        queued.append(job_id)

    enqueuer = BackgroundEnqueuer(enqueue)
    for job_id in ("a", "bad", "b"):
        enqueuer.submit(job_id)
    assert enqueuer.flush(timeout=30)
    assert queued == ["a", "b"]
    assert "job bad not queued now (disk full); the sweep will queue it" in caplog.text


def test_flush_waits_for_a_handoff_in_progress() -> None:
    release = threading.Event()
    queued: list[str] = []

    def enqueue(job_id: str) -> None:
        release.wait(30)
        queued.append(job_id)

    enqueuer = BackgroundEnqueuer(enqueue)
    enqueuer.submit("slow")
    assert not enqueuer.flush(timeout=0.05)
    release.set()
    assert enqueuer.flush(timeout=30)
    assert queued == ["slow"]


def test_ids_that_arrive_while_the_thread_is_busy_go_together_in_order() -> None:
    busy, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def enqueue(job_id: str) -> None:
        busy.set()
        release.wait(30)
        calls.append([job_id])

    enqueuer = BackgroundEnqueuer(enqueue, lambda ids: calls.append(list(ids)))
    enqueuer.submit("first")  # the thread takes it alone and waits in enqueue
    assert busy.wait(30)
    for n in range(300):
        enqueuer.submit(f"job{n}")
    release.set()
    assert enqueuer.flush(timeout=30)
    assert calls[0] == ["first"]
    assert [job_id for call in calls for job_id in call] == ["first"] + [
        f"job{n}" for n in range(300)
    ]
    assert len(calls) < 10  # batches, not one call per id


def test_when_a_batch_fails_each_id_is_tried_alone(caplog: pytest.LogCaptureFixture) -> None:
    busy, release = threading.Event(), threading.Event()
    queued: list[str] = []

    def enqueue(job_id: str) -> None:
        busy.set()
        release.wait(30)
        if job_id == "bad":
            raise OSError("disk full")
        queued.append(job_id)

    def enqueue_many(job_ids: Sequence[str]) -> None:
        raise OSError("database is locked")

    enqueuer = BackgroundEnqueuer(enqueue, enqueue_many)
    enqueuer.submit("first")
    assert busy.wait(30)
    for job_id in ("a", "bad", "b"):
        enqueuer.submit(job_id)
    release.set()
    assert enqueuer.flush(timeout=30)
    assert queued == ["first", "a", "b"]
    assert "not queued together (database is locked); trying each" in caplog.text
    assert "job bad not queued now (disk full)" in caplog.text


def test_the_queue_takes_many_jobs_in_one_call_in_order(settings: Settings) -> None:
    queue = create_queue(settings)
    queue.enqueue("before")
    queue.enqueue_many(["j1", "j2", "j3"])
    pending = [str(task.args[0]) for task in queue.huey.pending()]
    assert pending == ["before", "j1", "j2", "j3"]
    assert all(task.name == "run_job" for task in queue.huey.pending())
