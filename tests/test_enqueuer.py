"""The background handoff of new jobs to the queue."""

from __future__ import annotations

import threading

import pytest

from bridge.enqueuer import BackgroundEnqueuer


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
