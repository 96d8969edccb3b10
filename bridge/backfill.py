"""Backfill runs: fill every post of a site that has no featured image.

A run lists the posts once and records one job per post, held back (``waiting``). The
feeder hands a run's jobs to the same queue as every other job, and only while the run is
running and fewer than ``window`` backfill jobs are under way: a pause takes effect at once,
the provider sees no more than ``window`` backfill generations at a time, and a publish waits
behind at most ``window`` jobs. Everything is in SQLite (the jobs database), so a restarted
worker carries on with the runs that were running.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from bridge.jobs import ACTIVE_STATES, JobState, JobStore, NewJob
from bridge.options import GenerationOptions, PostContext
from bridge.sqlite import connect
from bridge.storage import JobRecords
from bridge.webhooks import EVENT_BACKFILL


class MissingPost(Protocol):
    """A published post without a featured image, as the site lists it."""

    @property
    def post_id(self) -> int: ...
    @property
    def post_type(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def excerpt(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def categories(self) -> tuple[str, ...]: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def site_name(self) -> str: ...


class MissingPostSource(Protocol):
    """Lists a site's published posts that have no featured image (opted-out posts left out)."""

    def list_missing(self, post_types: Sequence[str], limit: int | None) -> Iterator[MissingPost]:
        """Newest first; stops after ``limit`` posts when given. Raises WordPressError."""
        ...


class RunState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


BATCH = 500
"""Jobs recorded per transaction when a run starts: one commit each would take seconds."""
FINISHED_STATES = (RunState.CANCELLED, RunState.DONE)
_UNFINISHED_JOB_STATES = (JobState.WAITING, *ACTIVE_STATES)


class RunConflict(Exception):
    """The run cannot make that change (it is finished)."""

    def __init__(self, run: RunProgress, action: str) -> None:
        super().__init__(f"run {run.id} is {run.state.value}; it cannot {action}")
        self.run = run
        self.message = str(self)


@dataclass(frozen=True)
class RunProgress:
    """A run and where its jobs are."""

    id: str
    site_url: str
    state: RunState
    post_types: tuple[str, ...]
    limit: int | None
    skipped: int
    """Listed posts that already had a job under way, so the run made none for them."""
    total: int
    done: int
    failed: int
    cancelled: int
    remaining: int
    under_way: int
    """Jobs handed to the queue that have not ended (part of ``remaining``)."""
    created_at: float
    updated_at: float

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def public(self) -> dict[str, Any]:
        """What ``GET /backfills/<id>`` shows."""
        return {
            "id": self.id,
            "state": self.state.value,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "remaining": self.remaining,
            "under_way": self.under_way,
            "skipped": self.skipped,
            "post_types": list(self.post_types),
            "limit": self.limit,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


class Runs(Protocol):
    """The backfill runs: :class:`RunStore` in the jobs database, or
    ``bridge.redis_runs.RedisRunStore`` beside the job record in Redis. Each behaves as
    :class:`RunStore` documents."""

    @property
    def jobs(self) -> JobRecords: ...

    def create(
        self,
        site_url: str,
        posts: Iterable[MissingPost],
        *,
        post_types: Sequence[str],
        limit: int | None,
        options: GenerationOptions,
        request_id: str | None = None,
    ) -> RunProgress: ...

    def started_by(self, request_id: str) -> RunProgress | None: ...

    def under_way(self, site_url: str, post_ids: Iterable[int]) -> set[int]: ...

    def get(self, run_id: str) -> RunProgress | None: ...

    def pause(self, run_id: str) -> RunProgress | None: ...

    def resume(self, run_id: str) -> RunProgress | None: ...

    def cancel(self, run_id: str) -> RunProgress | None: ...

    def take(self, window: int) -> list[str]: ...

    def active_job_ids(self) -> list[str]: ...


def backfill_job(
    run_id: str, site_url: str, post: MissingPost, options: GenerationOptions
) -> NewJob:
    """The job a run records for one listed post (its webhook id names the run and post)."""
    return NewJob(
        webhook_id=f"backfill:{run_id}:{post.post_id}",
        site_url=site_url,
        post_id=post.post_id,
        post_type=post.post_type,
        title=post.title,
        excerpt=post.excerpt,
        slug=post.slug,
        request=EVENT_BACKFILL,
        context=PostContext(post.site_name, post.categories, post.tags).to_json(),
        options=options.to_json(),
    )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS backfill_runs (
    id          TEXT PRIMARY KEY,
    site_url    TEXT NOT NULL,
    state       TEXT NOT NULL,
    post_types  TEXT NOT NULL,
    post_limit  INTEGER,
    options     TEXT NOT NULL,
    listed      INTEGER NOT NULL DEFAULT 0,
    request_id  TEXT UNIQUE,
    skipped     INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS backfill_runs_state ON backfill_runs (state);
"""


class RunStore:
    """Run records, kept in the jobs database so a run and its jobs change together."""

    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.jobs.path)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def create(
        self,
        site_url: str,
        posts: Iterable[MissingPost],
        *,
        post_types: Sequence[str],
        limit: int | None,
        options: GenerationOptions,
        request_id: str | None = None,
    ) -> RunProgress:
        """Records a running run and one waiting job per post, generated with ``options``.

        A post that already has a job under way (a publish, or another run) gets none; it
        counts as ``skipped``. The run cannot end before all its jobs are recorded. A
        ``request_id`` (the start request's ``webhook-id``) seen before returns that run.
        """
        run_id = uuid.uuid4().hex
        now = time.time()
        with self._connect() as db:
            try:
                db.execute(
                    "INSERT INTO backfill_runs (id, site_url, state, post_types, post_limit, "
                    "options, request_id, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        site_url,
                        RunState.RUNNING,
                        json.dumps(list(post_types)),
                        limit,
                        options.to_json(),
                        request_id,
                        now,
                        now,
                    ),
                )
            except sqlite3.IntegrityError:
                existing = self.started_by(request_id or "")
                if existing is None:
                    raise
                return existing
        skipped = 0
        batch: list[NewJob] = []
        for post in posts:
            batch.append(backfill_job(run_id, site_url, post, options))
            if len(batch) == BATCH:
                skipped += self._record(batch, run_id)
                batch = []
        skipped += self._record(batch, run_id)
        with self._connect() as db:
            db.execute(
                "UPDATE backfill_runs SET listed = 1, skipped = ?, updated_at = ? WHERE id = ?",
                (skipped, time.time(), run_id),
            )
        progress = self.get(run_id)
        assert progress is not None
        return progress

    def _record(self, batch: list[NewJob], run_id: str) -> int:
        """Records a batch of the run's jobs; returns how many posts were skipped."""
        made = self.jobs.create_many(batch, run_id=run_id)
        return sum(not created for _, created in made)

    def started_by(self, request_id: str) -> RunProgress | None:
        """The run a start request with this ``webhook-id`` made, if any."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id FROM backfill_runs WHERE request_id = ?", (request_id,)
            ).fetchone()
            return None if row is None else _progress(db, str(row["id"]))

    def under_way(self, site_url: str, post_ids: Iterable[int]) -> set[int]:
        """Which of these posts already have a job that is waiting or under way."""
        wanted = list(post_ids)
        found: set[int] = set()
        marks = ", ".join("?" * len(_UNFINISHED_JOB_STATES))
        with self._connect() as db:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = db.execute(
                    f"SELECT DISTINCT post_id FROM jobs WHERE site_url = ? AND state IN ({marks}) "
                    f"AND post_id IN ({', '.join('?' * len(chunk))})",
                    (site_url, *_UNFINISHED_JOB_STATES, *chunk),
                )
                found.update(int(row["post_id"]) for row in rows)
        return found

    def get(self, run_id: str) -> RunProgress | None:
        with self._connect() as db:
            return _progress(db, run_id)

    def pause(self, run_id: str) -> RunProgress | None:
        """Stops handing the run's jobs to the queue; jobs already queued finish."""
        return self._move(run_id, RunState.PAUSED, "be paused")

    def resume(self, run_id: str) -> RunProgress | None:
        """Lets the feeder hand the run's jobs to the queue again."""
        return self._move(run_id, RunState.RUNNING, "be resumed")

    def cancel(self, run_id: str) -> RunProgress | None:
        """Ends the run: its waiting jobs become ``cancelled`` and never reach the provider.

        Jobs already handed to the queue (at most the feeder's window) finish.
        """
        return self._move(run_id, RunState.CANCELLED, "be cancelled")

    def _move(self, run_id: str, state: RunState, action: str) -> RunProgress | None:
        """Changes the run's state; None for an unknown run, RunConflict for a finished one."""
        with self._transaction() as db:
            run = _progress(db, run_id)
            if run is None:
                return None
            if run.finished:
                raise RunConflict(run, action)
            now = time.time()
            db.execute(
                "UPDATE backfill_runs SET state = ?, updated_at = ? WHERE id = ?",
                (state, now, run_id),
            )
            if state == RunState.CANCELLED:
                db.execute(
                    "UPDATE jobs SET state = ?, error = ?, updated_at = ? "
                    "WHERE run_id = ? AND state = ?",
                    (
                        JobState.CANCELLED,
                        "The backfill run was cancelled.",
                        now,
                        run_id,
                        JobState.WAITING,
                    ),
                )
            _close_finished_runs(db)
            moved = _progress(db, run_id)
        assert moved is not None
        return moved

    def take(self, window: int) -> list[str]:
        """Marks the next waiting jobs of running runs as queued and returns their ids.

        Takes only as many as keep the backfill jobs under way (all runs together) within
        ``window``; oldest run first. Also ends the runs that have no job left. The caller
        must enqueue the ids it gets.
        """
        active_marks = ", ".join("?" * len(ACTIVE_STATES))
        with self._transaction() as db:
            (active,) = db.execute(
                f"SELECT count(*) FROM jobs WHERE run_id IS NOT NULL AND state IN ({active_marks})",
                ACTIVE_STATES,
            ).fetchone()
            free = window - int(active)
            ids: list[str] = []
            if free > 0:
                rows = db.execute(
                    "SELECT jobs.id FROM jobs JOIN backfill_runs AS run ON run.id = jobs.run_id "
                    "WHERE run.state = ? AND jobs.state = ? "
                    "ORDER BY run.created_at, jobs.created_at, jobs.rowid LIMIT ?",
                    (RunState.RUNNING, JobState.WAITING, free),
                ).fetchall()
                ids = [str(row["id"]) for row in rows]
                now = time.time()
                db.executemany(
                    "UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?",
                    [(JobState.QUEUED, now, job_id) for job_id in ids],
                )
            _close_finished_runs(db)
        return ids

    def active_job_ids(self) -> list[str]:
        """The backfill jobs that were handed to the queue and have not ended."""
        marks = ", ".join("?" * len(ACTIVE_STATES))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT id FROM jobs WHERE run_id IS NOT NULL AND state IN ({marks}) "
                "ORDER BY created_at",
                ACTIVE_STATES,
            ).fetchall()
        return [str(row["id"]) for row in rows]


@dataclass(frozen=True)
class Preview:
    """What a run would do: the posts it would list and how many it would generate."""

    posts: int
    generations: int
    sample: list[dict[str, Any]]

    def public(self) -> dict[str, Any]:
        return {"posts": self.posts, "generations": self.generations, "sample": self.sample}


def preview(
    runs: Runs, site_url: str, posts: Sequence[MissingPost], *, sample_size: int = 10
) -> Preview:
    """A dry run: counts, and the first posts, without recording anything."""
    busy = runs.under_way(site_url, (post.post_id for post in posts))
    return Preview(
        posts=len(posts),
        generations=sum(post.post_id not in busy for post in posts),
        sample=[{"post_id": post.post_id, "title": post.title} for post in posts[:sample_size]],
    )


class Feeder:
    """Hands backfill jobs to the queue, ``window`` at a time (see the module's docstring).

    Called when a run starts or resumes, after each backfill job ends, periodically as a
    safety net, and when the worker starts.
    """

    def __init__(self, runs: Runs, enqueue: Callable[[str], None], window: int) -> None:
        self.runs = runs
        self.enqueue = enqueue
        self.window = window

    def feed(self) -> int:
        """Queues what the window allows; returns how many jobs were queued."""
        ids = self.runs.take(self.window)
        for job_id in ids:
            self.enqueue(job_id)
        return len(ids)

    def after_job(self, job_id: str) -> None:
        """A job ended (or stopped for now): if it was a backfill job, its slot is free."""
        job = self.runs.jobs.get(job_id)
        if job is not None and job.run_id is not None:
            self.feed()

    def recover(self, queued: set[str]) -> int:
        """At worker start: re-enqueues backfill jobs under way that the queue lost.

        ``queued`` are the job ids the queue still holds. A worker killed mid-job loses that
        job from the queue (huey takes a task off before running it); its record still says
        it is under way and would hold a slot of the window forever. Safe only while no
        worker is running, which is the case when the worker calls it before it starts.
        Returns how many jobs were re-enqueued.
        """
        lost = [job_id for job_id in self.runs.active_job_ids() if job_id not in queued]
        for job_id in lost:
            self.enqueue(job_id)
        return len(lost) + self.feed()


def _close_finished_runs(db: sqlite3.Connection) -> None:
    """Marks as done the listed runs that have no job waiting or under way."""
    marks = ", ".join("?" * len(_UNFINISHED_JOB_STATES))
    db.execute(
        "UPDATE backfill_runs SET state = ?, updated_at = ? "
        "WHERE state IN (?, ?) AND listed = 1 AND NOT EXISTS (SELECT 1 FROM jobs "
        f"WHERE jobs.run_id = backfill_runs.id AND jobs.state IN ({marks}))",
        (RunState.DONE, time.time(), RunState.RUNNING, RunState.PAUSED, *_UNFINISHED_JOB_STATES),
    )


def _progress(db: sqlite3.Connection, run_id: str) -> RunProgress | None:
    row = db.execute("SELECT * FROM backfill_runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    counts: dict[JobState, int] = {}
    updated_at = float(row["updated_at"])
    for state, count, last in db.execute(
        "SELECT state, count(*), max(updated_at) FROM jobs WHERE run_id = ? GROUP BY state",
        (run_id,),
    ):
        counts[JobState(state)] = int(count)
        updated_at = max(updated_at, float(last))
    return RunProgress(
        id=str(row["id"]),
        site_url=str(row["site_url"]),
        state=RunState(row["state"]),
        post_types=tuple(json.loads(row["post_types"])),
        limit=row["post_limit"],
        skipped=int(row["skipped"]),
        total=sum(counts.values()),
        done=counts.get(JobState.DONE, 0),
        failed=counts.get(JobState.FAILED, 0),
        cancelled=counts.get(JobState.CANCELLED, 0),
        remaining=sum(counts.get(state, 0) for state in _UNFINISHED_JOB_STATES),
        under_way=sum(counts.get(state, 0) for state in ACTIVE_STATES),
        created_at=float(row["created_at"]),
        updated_at=updated_at,
    )


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).isoformat(timespec="seconds")
