"""The job lease and the sweep, on a real SQLite job record and a real huey queue."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from bridge.config import Settings
from bridge.jobs import JobState, JobStore, NewJob
from bridge.leases import Leases
from bridge.sweeper import Sweeper
from bridge.tasks import create_queue


def _job(store: JobStore, post_id: int = 7) -> str:
    job, _ = store.create(
        NewJob(f"msg_{post_id}", "http://127.0.0.1:9", post_id, "post", "T", "E", "t")
    )
    return job.id


def _expire(store: JobStore, job_id: str) -> None:
    """Moves the job's lease into the past, as if its worker had died."""
    db = sqlite3.connect(store.path)
    db.execute("UPDATE jobs SET lease_until = ? WHERE id = ?", (time.time() - 1, job_id))
    db.commit()
    db.close()


def test_a_held_lease_keeps_other_workers_out_until_it_expires(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job_id = _job(store)
    assert Leases(store.path).claim(job_id, "worker-a", 60)
    assert not Leases(store.path).claim(job_id, "worker-b", 60)
    _expire(store, job_id)
    assert Leases(store.path).claim(job_id, "worker-b", 60)


def test_a_finished_job_cannot_be_claimed(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job_id = _job(store)
    store.update(job_id, state=JobState.DONE)
    assert not Leases(store.path).claim(job_id, "worker-a", 60)


def test_a_renewed_lease_is_not_stalled(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job_id = _job(store)
    Leases(store.path).claim(job_id, "worker-a", 60)
    _expire(store, job_id)
    Leases(store.path).renew(["worker-a"], 60)
    assert Leases(store.path).take_stalled(grace=60) == []


def test_each_stalled_job_goes_to_exactly_one_of_many_sweepers(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    ids = [_job(store, post_id) for post_id in range(30)]
    for job_id in ids:
        Leases(store.path).claim(job_id, "dead-worker", 60)
        _expire(store, job_id)
    taken: list[list[str]] = []

    def sweep() -> None:
        taken.append(Leases(store.path).take_stalled(grace=60))

    threads = [threading.Thread(target=sweep) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [job_id for batch in taken for job_id in batch]
    assert sorted(everything) == sorted(ids)


def test_the_sweep_requeues_a_job_whose_queue_entry_was_lost(
    tmp_path: Path, settings: Settings
) -> None:
    store = JobStore(settings.jobs_db)
    queue = create_queue(settings)
    job_id = _job(store)  # recorded, but the web side died before enqueueing it
    Leases(store.path).claim(job_id, "dead-worker", 60)
    _expire(store, job_id)
    sweeper = Sweeper(Leases(store.path), queue, grace=60)
    assert sweeper.sweep() == [job_id]
    assert queue.queued_job_ids() == {job_id}
    _expire(store, job_id)
    assert sweeper.sweep() == [], "a job still in the queue is not queued twice"
    assert queue.huey.pending_count() == 1


def test_a_dead_local_workers_leases_end_at_the_next_sweep(
    tmp_path: Path, settings: Settings
) -> None:
    store = JobStore(settings.jobs_db)
    queue = create_queue(settings)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    crashed, alive, remote = _job(store, 1), _job(store, 2), _job(store, 3)
    Leases(store.path).claim(crashed, f"{host}:{dead.pid}:abc", 60)
    Leases(store.path).claim(alive, f"{host}:{os.getpid()}:abc", 60)
    Leases(store.path).claim(remote, f"elsewhere.example:{dead.pid}:abc", 60)
    assert Sweeper(Leases(store.path), queue, grace=60).sweep() == [crashed]


def test_a_recorded_job_that_never_started_is_stalled_after_the_grace(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job_id = _job(store)  # the web side recorded it; nothing has taken it since
    leases = Leases(store.path)
    assert leases.take_stalled(grace=60) == []
    db = sqlite3.connect(store.path)
    db.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (time.time() - 61, job_id))
    db.commit()
    db.close()
    assert leases.take_stalled(grace=60) == [job_id]
    assert leases.take_stalled(grace=60) == [], "taken jobs wait in the queue for the grace"
