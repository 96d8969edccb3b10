"""Job inserts through group commit: many request threads share transactions, nothing lost."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bridge.group_commit import GroupCommit
from bridge.jobs import JobStore, NewJob

SITE = "http://127.0.0.1:9"


def _new(post_id: int, webhook_id: str | None = None) -> NewJob:
    return NewJob(webhook_id or f"msg_{post_id}", SITE, post_id, "post", f"T{post_id}", "", "s")


def _rows(path: Path) -> list[tuple[str, int]]:
    db = sqlite3.connect(path)
    try:
        return [(str(r[0]), int(r[1])) for r in db.execute("SELECT id, post_id FROM jobs")]
    finally:
        db.close()


@pytest.mark.parametrize("create_sync", ["FULL", "NORMAL"])
def test_concurrent_webhooks_each_get_their_own_recorded_job(
    tmp_path: Path, create_sync: str
) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3", create_sync=create_sync)
    with ThreadPoolExecutor(max_workers=64) as pool:
        made = list(pool.map(lambda n: store.create(_new(n)), range(1, 501)))
    assert all(created for _, created in made)
    assert sorted((job.id, job.post_id) for job, _ in made) == sorted(_rows(store.path))
    assert len({job.id for job, _ in made}) == 500


def test_redeliveries_racing_in_one_batch_make_one_job(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    start = threading.Barrier(40)

    def deliver(_: int) -> tuple[str, bool]:
        start.wait()
        job, created = store.create(_new(5, "msg_same"))
        return job.id, created

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(deliver, range(40)))
    assert len({job_id for job_id, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1
    assert len(_rows(store.path)) == 1


def test_a_failing_write_fails_only_its_own_caller(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    writer = GroupCommit(store.path)
    start = threading.Barrier(21)

    def insert(n: int) -> None:
        start.wait()
        if n == 0:
            writer.run(lambda db: db.execute("INSERT INTO no_such_table VALUES (1)"))
        else:
            store.create(_new(n))

    with ThreadPoolExecutor(max_workers=21) as pool:
        futures = [pool.submit(insert, n) for n in range(21)]
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        futures[0].result()
    for future in futures[1:]:
        future.result()
    assert len(_rows(store.path)) == 20


def test_a_forked_process_writes_with_its_own_connection(tmp_path: Path) -> None:
    """gunicorn builds the app (and its store) before forking its workers."""
    store = JobStore(tmp_path / "jobs.sqlite3")
    store.create(_new(1))  # the parent has its connection and locks now
    child = multiprocessing.get_context("fork").Process(target=lambda: store.create(_new(2)))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    store.create(_new(3))
    assert sorted(post_id for _, post_id in _rows(store.path)) == [1, 2, 3]


def test_when_the_database_cannot_be_opened_every_caller_gets_the_error(tmp_path: Path) -> None:
    writer = GroupCommit(tmp_path / "no such directory" / "jobs.sqlite3")
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(writer.run, lambda db: 1) for _ in range(8)]
    for future in futures:
        with pytest.raises(sqlite3.OperationalError, match="unable to open"):
            future.result()


@pytest.mark.parametrize("run_id", [None, "run-1"])
def test_the_job_create_answers_is_the_job_recorded(tmp_path: Path, run_id: str | None) -> None:
    """create answers without reading the new row back: what it says must be what is stored."""
    store = JobStore(tmp_path / "jobs.sqlite3")
    new = NewJob(
        "msg_1", SITE, 1, "page", "T", "E", "s", "post.regenerate", True, '{"a": 1}', '{"b": 2}'
    )
    job, created = store.create(new, run_id=run_id)
    assert created
    assert store.get(job.id) == job
    assert store.create(new, run_id=run_id) == (job, False)
