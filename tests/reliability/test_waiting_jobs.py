"""Jobs waiting on Segmind hold no worker thread, and a worker killed meanwhile loses none.

A job whose Segmind request still runs ends its task; the worker's poll timer queues it again
when its next poll is due. So two worker threads keep many requests running at Segmind at
once, and a worker killed while they run leaves them to the next worker, which polls the
requests already paid for instead of submitting new ones.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devenv.chaos import Tally, WorkerKiller, count, most_at_once, paid_twice, settle
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind, JobRecord, JobScript
from tests.reliability.conftest import BridgeFactory

pytestmark = pytest.mark.wordpress


def _publish(editor: EditorSession, label: str, n: int) -> list[int]:
    return [editor.create_post(f"{label} {i}", excerpt="Waits on Segmind.") for i in range(n)]


def _most_at_once(records: list[JobRecord]) -> int:
    """The most requests that were under way at Segmind at the same moment (from their
    submission until a poll saw them finished)."""
    return most_at_once(
        [(r.submitted, r.seen_done if r.seen_done is not None else float("inf")) for r in records]
    )


def _waiting_on_provider(jobs_db: Path) -> int:
    """Jobs with a Segmind request under way that no worker thread is running."""
    db = sqlite3.connect(f"file:{jobs_db}?mode=ro", uri=True, timeout=5)
    try:
        (waiting,) = db.execute(
            "SELECT COUNT(*) FROM jobs WHERE state = 'generating' AND provider_ref IS NOT NULL "
            "AND lease_owner IS NULL"
        ).fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()
    return int(waiting)


def _wait(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


def test_two_worker_threads_keep_twenty_requests_running_at_segmind(
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    report: list[Tally],
) -> None:
    posts_count = 20
    # Runs long enough for every job to be submitted first, even on a busy machine; polls
    # every 5 s keep two threads free for the submissions.
    segmind.queue_jobs(*(JobScript(queued_s=0.2, processing_s=60.0) for _ in range(posts_count)))
    # No provider cap (it defaults to 4): the point is how many wait at once.
    bridge = start_bridge(
        BRIDGE_WORKERS="2",
        SEGMIND_MAX_CONCURRENCY="0",
        SEGMIND_POLL_INTERVAL="5",
        SEGMIND_DEADLINE="300",
    )
    jobs_db = bridge.data_dir / "jobs.sqlite3"
    bridge.kill("worker")  # the posts' jobs wait in the queue, then reach a fresh worker at once
    posts = _publish(editor, "Two threads, twenty posts", posts_count)
    bridge.start_role("worker")
    _wait(lambda: _waiting_on_provider(jobs_db) == posts_count, "every job to wait at Segmind")
    views = settle(editor, posts, timeout=180, poke=lambda: None)
    tally = Tally("2 worker threads, 20 jobs waiting on the provider")
    count(tally, editor, views, len(segmind.submissions))
    most = _most_at_once(segmind.records())
    tally.notes = f"most requests running at Segmind at once: {most}"
    report.append(tally)
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert tally.featured == posts_count
    assert tally.submissions == posts_count, "one paid request per post"
    assert most == posts_count, "every job waited at Segmind at the same time, not two by two"


def test_a_worker_killed_while_jobs_wait_at_segmind_polls_them_without_resubmitting(
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    report: list[Tally],
) -> None:
    posts_count = 6
    segmind.queue_jobs(*(JobScript(queued_s=0.2, processing_s=4.0) for _ in range(posts_count)))
    bridge = start_bridge(SEGMIND_MAX_CONCURRENCY="0")  # all six at Segmind at once
    jobs_db = bridge.data_dir / "jobs.sqlite3"
    killer = WorkerKiller(bridge, random.Random(0))
    posts = _publish(editor, "Killed while waiting", posts_count)
    _wait(lambda: _waiting_on_provider(jobs_db) == posts_count, "every job to wait at Segmind")
    polls_before = {r.request_id: r.polls for r in segmind.records()}
    killer.kill_now()
    views = settle(editor, posts, timeout=90, poke=lambda: None)
    tally = Tally("worker SIGKILL while every job waits at the provider")
    count(tally, editor, views, len(segmind.submissions))
    records = segmind.records()
    tally.notes = f"polls before the kill: {sum(polls_before.values())}"
    report.append(tally)
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert tally.featured == posts_count
    assert tally.submissions == posts_count, "no request was submitted again"
    assert paid_twice(segmind.submissions, killer.kill_times) == (0, 0)
    for record in records:
        assert record.seen_done is not None, "the new worker saw each request finish"
        assert record.polls > polls_before[record.request_id], "the new worker polled it"
