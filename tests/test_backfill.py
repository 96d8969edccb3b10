"""Backfill runs: the run store and the feeder, on a temporary SQLite database and beside the
job record in a real Redis alike (each test that takes the ``runs`` fixture runs on both)."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from bridge.backfill import BATCH, Feeder, RunConflict, Runs, RunState, RunStore, preview
from bridge.jobs import JobState, JobStore, NewJob
from bridge.options import GenerationOptions
from bridge.redis_runs import redis_run_store
from bridge.redis_store import RedisJobStore
from bridge.storage import JobRecords
from bridge.wordpress import MissingPost
from tests.missing_posts import missing_post

SITE = "http://127.0.0.1:9"


def posts(*ids: int) -> list[MissingPost]:
    return [missing_post(post_id) for post_id in ids]


class Queue:
    """Stands in for huey: remembers what was enqueued, in order."""

    def __init__(self) -> None:
        self.enqueued: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, job_id: str) -> None:
        with self._lock:
            self.enqueued.append(job_id)


@pytest.fixture(params=["sqlite", "redis"])
def runs(request: pytest.FixtureRequest, tmp_path: Path) -> Runs:
    if request.param == "sqlite":
        return RunStore(JobStore(tmp_path / "jobs.sqlite3"))
    client: redis.Redis = request.getfixturevalue("redis_client")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    return redis_run_store(RedisJobStore(client, prefix=prefix))


@pytest.fixture
def jobs(runs: Runs) -> JobRecords:
    return runs.jobs


@pytest.fixture
def queue() -> Queue:
    return Queue()


@pytest.fixture
def feeder(runs: Runs, queue: Queue) -> Feeder:
    return Feeder(runs, queue, window=2)


def start(runs: Runs, *ids: int) -> str:
    return runs.create(
        SITE, posts(*ids), post_types=["post"], limit=None, options=GenerationOptions()
    ).id


def finish(feeder: Feeder, job_id: str, state: JobState = JobState.DONE) -> None:
    """What the worker does when a job ends."""
    feeder.runs.jobs.update(job_id, state=state)
    feeder.after_job(job_id)


def post_of(jobs: JobRecords, job_id: str) -> int:
    job = jobs.get(job_id)
    assert job is not None
    return job.post_id


def test_a_new_run_holds_its_jobs_back_until_fed(runs: Runs, queue: Queue) -> None:
    run = runs.create(
        SITE, posts(1, 2, 3), post_types=["post"], limit=None, options=GenerationOptions()
    )
    assert (run.state, run.total, run.remaining, run.done) == (RunState.RUNNING, 3, 3, 0)
    assert queue.enqueued == []


def test_the_feeder_queues_only_up_to_its_window(
    runs: Runs, feeder: Feeder, queue: Queue, jobs: JobRecords
) -> None:
    start(runs, 1, 2, 3, 4, 5)
    assert feeder.feed() == 2
    assert feeder.feed() == 0
    assert [post_of(jobs, job_id) for job_id in queue.enqueued] == [1, 2]
    states = {job.state for job in map(jobs.get, queue.enqueued) if job is not None}
    assert states == {JobState.QUEUED}


def test_each_finished_job_lets_the_next_one_in_until_the_run_is_done(
    runs: Runs, feeder: Feeder, queue: Queue
) -> None:
    run_id = start(runs, 1, 2, 3, 4, 5)
    feeder.feed()
    finished = 0
    while finished < len(queue.enqueued):
        finish(
            feeder, queue.enqueued[finished], JobState.FAILED if finished == 0 else JobState.DONE
        )
        finished += 1
    run = runs.get(run_id)
    assert run is not None
    assert (run.state, run.total, run.done, run.failed, run.remaining) == (
        RunState.DONE,
        5,
        4,
        1,
        0,
    )
    assert len(queue.enqueued) == 5


def test_a_paused_run_queues_nothing_until_resumed(
    runs: Runs, feeder: Feeder, queue: Queue
) -> None:
    run_id = start(runs, 1, 2, 3, 4)
    feeder.feed()
    paused = runs.pause(run_id)
    assert paused is not None and paused.state == RunState.PAUSED
    for job_id in list(queue.enqueued):
        finish(feeder, job_id)
    assert len(queue.enqueued) == 2
    run = runs.get(run_id)
    assert run is not None and (run.state, run.done, run.remaining) == (RunState.PAUSED, 2, 2)

    runs.resume(run_id)
    assert feeder.feed() == 2
    for job_id in queue.enqueued[2:]:
        finish(feeder, job_id)
    run = runs.get(run_id)
    assert run is not None and (run.state, run.done) == (RunState.DONE, 4)


def test_cancel_ends_waiting_jobs_as_cancelled_and_lets_queued_ones_finish(
    runs: Runs, feeder: Feeder, queue: Queue, jobs: JobRecords
) -> None:
    run_id = start(runs, 1, 2, 3, 4, 5)
    feeder.feed()
    run = runs.cancel(run_id)
    assert run is not None
    assert (run.state, run.cancelled, run.remaining) == (RunState.CANCELLED, 3, 2)
    for job_id in list(queue.enqueued):
        finish(feeder, job_id)
    assert len(queue.enqueued) == 2
    run = runs.get(run_id)
    assert run is not None
    assert (run.state, run.done, run.cancelled, run.remaining) == (RunState.CANCELLED, 2, 3, 0)
    with pytest.raises(RunConflict):
        runs.resume(run_id)
    with pytest.raises(RunConflict):
        runs.pause(run_id)


def test_unknown_runs_are_none(runs: Runs) -> None:
    assert runs.get("nope") is None
    assert runs.pause("nope") is None
    assert runs.cancel("nope") is None


def test_a_run_with_no_posts_is_done_at_once(runs: Runs, feeder: Feeder) -> None:
    run_id = start(runs)
    feeder.feed()
    run = runs.get(run_id)
    assert run is not None and (run.state, run.total) == (RunState.DONE, 0)


def test_posts_with_a_job_under_way_are_skipped(
    runs: Runs, jobs: JobRecords, feeder: Feeder, queue: Queue
) -> None:
    publish, _ = jobs.create(_publish(2))
    first = start(runs, 1, 2)
    second = start(runs, 1, 3)
    one, two = runs.get(first), runs.get(second)
    assert one is not None and (one.total, one.skipped) == (1, 1)
    assert two is not None and (two.total, two.skipped) == (1, 1)
    feeder.feed()
    assert sorted(post_of(jobs, job_id) for job_id in queue.enqueued) == [1, 3]
    assert publish.id not in queue.enqueued


def test_a_publish_does_not_wait_behind_a_waiting_backfill_job(
    runs: Runs, jobs: JobRecords
) -> None:
    start(runs, 7)
    job, created = jobs.create(_publish(7))
    assert created and job.state == JobState.QUEUED and job.run_id is None


def test_runs_share_one_window_oldest_first(
    runs: Runs, feeder: Feeder, queue: Queue, jobs: JobRecords
) -> None:
    start(runs, 1, 2)
    start(runs, 3, 4)
    feeder.feed()
    finish(feeder, queue.enqueued[0])
    finish(feeder, queue.enqueued[1])
    assert [post_of(jobs, job_id) for job_id in queue.enqueued] == [1, 2, 3, 4]


def test_recover_requeues_the_jobs_a_killed_worker_lost(
    runs: Runs, queue: Queue, jobs: JobRecords
) -> None:
    run_id = start(runs, 1, 2, 3)
    before = Feeder(runs, queue, window=2)
    before.feed()
    kept, lost = queue.enqueued
    jobs.update(lost, state=JobState.GENERATING)

    after_restart = Queue()
    recovered = Feeder(runs, after_restart, window=2).recover(queued={kept})
    assert after_restart.enqueued == [lost]
    assert recovered == 1
    run = runs.get(run_id)
    assert run is not None and run.state == RunState.RUNNING


def test_a_dry_run_counts_and_samples_without_recording(
    runs: Runs, jobs: JobRecords, feeder: Feeder
) -> None:
    jobs.create(_publish(2))
    listed = posts(1, 2, 3)
    result = preview(runs, SITE, listed, sample_size=2)
    assert result.public() == {
        "posts": 3,
        "generations": 2,
        "sample": [{"post_id": 1, "title": "Post 1"}, {"post_id": 2, "title": "Post 2"}],
    }
    assert feeder.feed() == 0
    assert {post_of(jobs, job_id) for job_id in _all_job_ids(jobs)} == {2}


def test_a_jobs_database_from_before_backfills_gains_the_run_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, webhook_id TEXT UNIQUE, site_url TEXT NOT "
            "NULL, post_id INTEGER NOT NULL, post_type TEXT NOT NULL, title TEXT NOT NULL, "
            "excerpt TEXT NOT NULL, slug TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER "
            "NOT NULL DEFAULT 0, provider TEXT, provider_ref TEXT, image_path TEXT, "
            "attachment_id INTEGER, error TEXT, created_at REAL NOT NULL, updated_at REAL "
            "NOT NULL)"
        )
        db.execute(
            "INSERT INTO jobs (id, site_url, post_id, post_type, title, excerpt, slug, state, "
            "created_at, updated_at) VALUES ('old', ?, 5, 'post', 't', '', 's', 'done', 1, 1)",
            (SITE,),
        )
    db.close()
    jobs = JobStore(path)
    old = jobs.get("old")
    assert old is not None and old.run_id is None
    run_id = (
        RunStore(jobs)
        .create(SITE, posts(5), post_types=["post"], limit=None, options=GenerationOptions())
        .id
    )
    run = RunStore(jobs).get(run_id)
    assert run is not None and run.total == 1


def _publish(post_id: int) -> NewJob:
    return NewJob(
        webhook_id=f"msg_{post_id}",
        site_url=SITE,
        post_id=post_id,
        post_type="post",
        title="Published",
        excerpt="",
        slug="published",
    )


def test_a_run_larger_than_a_batch_records_each_post_once(runs: Runs) -> None:
    listed = posts(*range(1, BATCH + 4)) + posts(BATCH + 1)
    run = runs.create(SITE, listed, post_types=["post"], limit=None, options=GenerationOptions())
    assert (run.total, run.skipped, run.remaining) == (BATCH + 3, 1, BATCH + 3)


def _all_job_ids(jobs: JobRecords) -> list[str]:
    if isinstance(jobs, RedisJobStore):
        found = jobs.client.scan_iter(f"{jobs.prefix}job:*")
        return [str(key).removeprefix(f"{jobs.prefix}job:") for key in found]
    with sqlite3.connect(jobs.path) as db:
        ids = [str(row[0]) for row in db.execute("SELECT id FROM jobs")]
    db.close()
    return ids


def test_the_same_start_request_makes_one_run(runs: Runs, feeder: Feeder) -> None:
    first = runs.create(
        SITE,
        posts(1, 2),
        post_types=["post"],
        limit=None,
        options=GenerationOptions(),
        request_id="msg_1",
    )
    again = runs.create(
        SITE,
        posts(1, 2, 3),
        post_types=["post"],
        limit=None,
        options=GenerationOptions(),
        request_id="msg_1",
    )
    assert again.id == first.id and again.total == 2
    assert feeder.feed() == 2


def test_feeders_racing_hand_out_no_more_than_the_window(runs: Runs, queue: Queue) -> None:
    start(runs, *range(1, 31))
    feeders = [Feeder(runs, queue, window=3) for _ in range(8)]
    with ThreadPoolExecutor(len(feeders)) as pool:
        handed = sum(pool.map(lambda feeder: feeder.feed(), feeders))
    assert handed == len(queue.enqueued) == len(set(queue.enqueued)) == 3
