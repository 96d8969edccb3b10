"""The job record: where each generation is, kept outside the queue so nothing is lost.

The queue only carries job ids. Everything a retry needs (the provider request already paid
for, the downloaded image, the attachment already uploaded) is written here as soon as it
exists, so every step of the worker can run twice without paying or uploading twice.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.group_commit import GroupCommit
from bridge.sqlite import connect

if TYPE_CHECKING:
    from bridge.job_stats import LastError
    from bridge.storage import JobRecords


class JobState(StrEnum):
    QUEUED = "queued"
    GENERATING = "generating"
    UPLOADING = "uploading"
    DONE = "done"
    FAILED = "failed"
    WAITING = "waiting"
    """Held back by a backfill run until its feeder hands it to the queue."""
    CANCELLED = "cancelled"
    """Its backfill run was cancelled before the job was handed to the queue."""


ACTIVE_STATES = (JobState.QUEUED, JobState.GENERATING, JobState.UPLOADING)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id            TEXT PRIMARY KEY,
    webhook_id    TEXT UNIQUE,
    site_url      TEXT NOT NULL,
    post_id       INTEGER NOT NULL,
    post_type     TEXT NOT NULL,
    title         TEXT NOT NULL,
    excerpt       TEXT NOT NULL,
    slug          TEXT NOT NULL,
    state         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    provider      TEXT,
    provider_ref  TEXT,
    image_path    TEXT,
    attachment_id INTEGER,
    error         TEXT,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_post ON jobs (site_url, post_id, state);
"""

# Columns added after the first release: (name, declaration), added to older databases at start.
_ADDED_COLUMNS = (
    ("request", "TEXT NOT NULL DEFAULT 'post.published'"),
    ("replace_image", "INTEGER NOT NULL DEFAULT 0"),
    ("context", "TEXT NOT NULL DEFAULT '{}'"),
    ("options", "TEXT NOT NULL DEFAULT '{}'"),
    ("start_media", "INTEGER"),
    ("start_media_generated", "INTEGER NOT NULL DEFAULT 0"),
    ("error_kind", "TEXT"),
    ("run_id", "TEXT"),
    # The lease: who runs an active job and until when that claim holds. ``lease_owner`` NULL
    # with a ``lease_until`` means "in the queue, expected to start by then"; an owner means a
    # worker runs it and renews ``lease_until`` while it is alive.
    ("lease_owner", "TEXT"),
    ("lease_until", "REAL"),
    # The provider-key gate (``bridge.gate``): which key the job submits with (a hash, never
    # the key), when its submission was let through (then when the provider accepted it),
    # when the provider was done with it, and why the gate holds it back, if it does.
    ("provider_key", "TEXT"),
    ("submitted_at", "REAL"),
    ("provider_done_at", "REAL"),
    ("held", "TEXT"),
    # The provider's own notes on its request (when submitted, polls so far, last status), so
    # a job resumed anywhere keeps the same poll schedule and deadline.
    ("provider_progress", "TEXT"),
)
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS jobs_run ON jobs (run_id, state)",
    "CREATE INDEX IF NOT EXISTS jobs_key_submitted ON jobs (provider_key, submitted_at)",
    "CREATE INDEX IF NOT EXISTS jobs_site_submitted ON jobs (site_url, submitted_at)",
)


@dataclass(frozen=True)
class NewJob:
    """What a webhook asks for."""

    webhook_id: str
    site_url: str
    post_id: int
    post_type: str
    title: str
    excerpt: str
    slug: str
    request: str = "post.published"
    replace_image: bool = False
    context: str = "{}"
    options: str = "{}"


@dataclass(frozen=True)
class Job:
    id: str
    webhook_id: str | None
    site_url: str
    post_id: int
    post_type: str
    title: str
    excerpt: str
    slug: str
    state: JobState
    attempts: int
    provider: str | None
    provider_ref: str | None
    image_path: str | None
    attachment_id: int | None
    error: str | None
    created_at: float
    updated_at: float
    request: str
    replace_image: bool
    context: str
    """``PostContext`` as JSON."""
    options: str
    """``GenerationOptions`` as JSON."""
    start_media: int | None
    """A replacing job: the featured image when it started (0: none)."""
    start_media_generated: bool
    """A replacing job: whether that image was a generated one."""
    error_kind: str | None
    """What kind of failure ended the job (a provider ``ErrorKind``, or ``wordpress``)."""
    run_id: str | None = None
    """The backfill run the job belongs to, if any."""
    provider_key: str | None = None
    """The gate's name for the provider key the job submits with (see ``bridge.gate``)."""
    submitted_at: float | None = None
    """When the gate let the job's submission through (then when the provider accepted it)."""
    provider_done_at: float | None = None
    """When the provider was done with the job (its slot at the gate is free again)."""
    held: str | None = None
    """Why the gate holds the job back (a ``bridge.gate.Hold`` value), if it does."""
    provider_progress: str | None = None
    """The provider's notes on ``provider_ref`` (see ``bridge.providers.base.Checkpoint``)."""

    @property
    def waiting(self) -> bool:
        """Held back before the provider: by its backfill run, or by the gate for credits or
        the site's daily cap (not for a free slot, which is a matter of seconds)."""
        return self.state == JobState.WAITING or self.held in ("credits", "daily_cap")

    def public(self) -> dict[str, Any]:
        """What ``GET /jobs/<id>`` shows: no post text, no provider reference."""
        return {
            "id": self.id,
            "post_id": self.post_id,
            "state": JobState.WAITING.value if self.waiting else self.state.value,
            "attempts": self.attempts,
            "attachment_id": self.attachment_id,
            "error": self.error,
            "error_kind": self.error_kind,
            "held": self.held,
            "request": self.request,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


_COLUMNS = tuple(f.name for f in fields(Job))


class JobStore:
    """SQLite-backed job records, safe to share between threads and processes."""

    def __init__(self, path: Path, *, create_sync: str = "FULL") -> None:
        """``create_sync`` is how :meth:`create` commits (``bridge.sqlite.SYNCHRONOUS``)."""
        self.path = path
        self._writer = GroupCommit(path, synchronous=create_sync)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            # One writer at a time: the web side and the worker start together on a new file.
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                present = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
                for name, declaration in _ADDED_COLUMNS:
                    if name not in present:
                        db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {declaration}")
                for index in _INDEXES:
                    db.execute(index)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.path)

    def create(self, new: NewJob, *, run_id: str | None = None) -> tuple[Job, bool]:
        """Records a job, or returns the one this request already made.

        A repeated ``webhook_id`` (a redelivery) and a post that already has a job under
        way (the editor's hooks firing twice, two editors clicking at once) both return the
        existing job with ``False``. A replacing request (a regenerate) that meets a job under
        way makes that job replace the image, with the new request's options.

        With ``run_id`` the job belongs to that backfill run and is held back (``waiting``)
        until the run's feeder queues it; a job waiting in another run counts as under way
        for it, but not for a publish, which must not wait behind a backfill.

        Concurrent calls share one transaction (group commit); each returns once that
        transaction has committed, so the job is on disk.
        """
        return self._writer.run(lambda db: _create(db, new, run_id, time.time()))

    def create_many(
        self, news: Iterable[NewJob], *, run_id: str | None = None
    ) -> list[tuple[Job, bool]]:
        """``create`` for each job, all in one transaction (a backfill run's posts)."""
        now = time.time()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                made = [_create(db, new, run_id, now) for new in news]
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return made

    def get(self, job_id: str) -> Job | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else job_from_row(row)

    def update(self, job_id: str, **changes: Any) -> Job:
        """Sets the given columns (and ``updated_at``); returns the job as stored."""
        with self._connect() as db:
            _set(db, job_id, changes)
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(job_id)
        return job_from_row(row)

    def note(self, job_id: str, **changes: Any) -> None:
        """Sets the given columns like :meth:`update`, without waiting for the disk: for
        what the job can do without (the provider's notes on a running request), written at
        every poll. A crash of the process keeps the write; a power loss may undo it."""
        with connect(self.path, synchronous="NORMAL") as db:
            _set(db, job_id, changes)

    def last_finished(self, *, provider: str, provider_key: str | None = None) -> Job | None:
        """The most recent job of ``provider`` that ended (done or failed), if any; with
        ``provider_key``, only among the jobs the gate let through with that key."""
        key_filter = "" if provider_key is None else " AND provider_key = ?"
        with self._connect() as db:
            row = db.execute(
                f"SELECT * FROM jobs WHERE provider = ? AND state IN (?, ?){key_filter} "
                "ORDER BY updated_at DESC LIMIT 1",
                (provider, JobState.DONE, JobState.FAILED)
                + (() if provider_key is None else (provider_key,)),
            ).fetchone()
        return None if row is None else job_from_row(row)

    def has_job(self, site_url: str, post_id: int) -> bool:
        """Whether the post ever had a job (any state)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM jobs WHERE site_url = ? AND post_id = ? LIMIT 1",
                (site_url, post_id),
            ).fetchone()
        return row is not None

    def ping(self) -> None:
        """Raises if the database cannot be read."""
        with self._connect() as db:
            db.execute("SELECT 1 FROM jobs LIMIT 1").fetchall()

    # Read-only questions for ``/metrics``, ``bridge status`` and ``bridge jobs``: the queries
    # are in ``bridge.job_stats`` (which imports this module, hence the imports inside).

    def counts_by_site_state(self) -> dict[str, dict[str, int]]:
        from bridge.job_stats import counts_by_site_state

        return counts_by_site_state(self.path)

    def failed_by_site_kind(self) -> dict[tuple[str, str], int]:
        from bridge.job_stats import failed_by_site_kind

        return failed_by_site_kind(self.path)

    def webhook_jobs_by_site(self) -> dict[str, int]:
        from bridge.job_stats import webhook_jobs_by_site

        return webhook_jobs_by_site(self.path)

    def last_errors(self) -> list[LastError]:
        from bridge.job_stats import last_errors

        return last_errors(self.path)

    def recent_jobs(
        self,
        *,
        state: str | None = None,
        site: str | None = None,
        post_id: int | None = None,
        limit: int = 20,
    ) -> list[Job]:
        from bridge.job_stats import recent_jobs

        return recent_jobs(self.path, state=state, site=site, post_id=post_id, limit=limit)


class JobCheckpoint:
    """The provider's checkpoint for one job (see ``bridge.providers.base.Checkpoint``)."""

    def __init__(self, store: JobRecords, job_id: str) -> None:
        self.store = store
        self.job_id = job_id

    def load(self) -> str | None:
        job = self.store.get(self.job_id)
        return None if job is None else job.provider_ref

    def save(self, reference: str) -> None:
        self.store.update(self.job_id, provider_ref=reference, provider_progress=None)

    def load_progress(self) -> str | None:
        job = self.store.get(self.job_id)
        return None if job is None else job.provider_progress

    def save_progress(self, progress: str) -> None:
        self.store.note(self.job_id, provider_progress=progress)

    def finished(self) -> None:
        """Nothing to record: the job's next state says where it stands."""


def _set(db: sqlite3.Connection, job_id: str, changes: dict[str, Any]) -> None:
    """Sets the given columns and ``updated_at``; raises ValueError for an unknown column."""
    unknown = set(changes) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"unknown job fields: {sorted(unknown)}")
    changes = {**changes, "updated_at": time.time()}
    assignments = ", ".join(f"{name} = ?" for name in changes)
    db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*changes.values(), job_id))


def _create(
    db: sqlite3.Connection, new: NewJob, run_id: str | None, now: float
) -> tuple[Job, bool]:
    """Inserts the job unless it exists (see ``JobStore.create``); inside a transaction.

    Every webhook pays for this, so a new job costs one statement (the insert checks that no
    job exists) and is returned as inserted, without reading it back.
    """
    under_way = (*ACTIVE_STATES, JobState.WAITING) if run_id else ACTIVE_STATES
    marks = ", ".join("?" * len(under_way))
    exists = f"webhook_id = ? OR (site_url = ? AND post_id = ? AND state IN ({marks}))"
    exists_args = (new.webhook_id, new.site_url, new.post_id, *under_way)
    job = Job(
        id=uuid.uuid4().hex,
        webhook_id=new.webhook_id,
        site_url=new.site_url,
        post_id=new.post_id,
        post_type=new.post_type,
        title=new.title,
        excerpt=new.excerpt,
        slug=new.slug,
        state=JobState.WAITING if run_id else JobState.QUEUED,
        attempts=0,
        provider=None,
        provider_ref=None,
        image_path=None,
        attachment_id=None,
        error=None,
        created_at=now,
        updated_at=now,
        request=new.request,
        replace_image=new.replace_image,
        context=new.context,
        options=new.options,
        start_media=None,
        start_media_generated=False,
        error_kind=None,
        run_id=run_id,
    )
    inserted = db.execute(
        "INSERT INTO jobs (id, webhook_id, site_url, post_id, post_type, title, "
        "excerpt, slug, state, created_at, updated_at, request, replace_image, "
        "context, options, run_id) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
        f"WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE {exists})",
        (
            job.id,
            job.webhook_id,
            job.site_url,
            job.post_id,
            job.post_type,
            job.title,
            job.excerpt,
            job.slug,
            job.state.value,
            now,
            now,
            job.request,
            int(job.replace_image),
            job.context,
            job.options,
            run_id,
            *exists_args,
        ),
    ).rowcount
    if inserted:
        return job, True
    existing = db.execute(
        f"SELECT * FROM jobs WHERE {exists} ORDER BY created_at LIMIT 1", exists_args
    ).fetchone()
    if new.replace_image and not existing["replace_image"]:
        existing = _make_replacing(db, existing["id"], new, now)
    return job_from_row(existing), False


def _make_replacing(db: sqlite3.Connection, job_id: str, new: NewJob, now: float) -> sqlite3.Row:
    """A regenerate met a job under way: that job now replaces the image, with the new options."""
    db.execute(
        "UPDATE jobs SET replace_image = 1, request = ?, options = ?, updated_at = ? WHERE id = ?",
        (new.request, new.options, now, job_id),
    )
    row: sqlite3.Row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return row


def job_from_row(row: sqlite3.Row) -> Job:
    """The job a row of the ``jobs`` table holds."""
    values = {name: row[name] for name in _COLUMNS}
    values["state"] = JobState(values["state"])
    values["replace_image"] = bool(values["replace_image"])
    values["start_media_generated"] = bool(values["start_media_generated"])
    return Job(**values)
