"""Binds the job's ids and the metrics around every task the worker runs.

Registered as huey pre/post-execute hooks, so every task that carries a job id as its first
argument (running a job, polling it, whatever shape the pipeline takes) logs with the site,
post and job ids, and records its figures into the backend's metrics (the job database or
Redis), with no change to the task.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextvars import Token
from pathlib import Path
from typing import Any

from huey import Huey

from bridge import logcontext, recorders
from bridge.events import Metrics, metrics_store
from bridge.sqlite import connect
from bridge.storage import STORE_ERRORS, JobRecords

log = logging.getLogger(__name__)


class TaskContext:
    """The pre/post-execute hooks for one job database: ``jobs``, the job record, and
    ``metrics``, where figures go (``bridge.backends.Backend.metrics``); each defaults to the
    SQLite file ``jobs_db``."""

    def __init__(
        self, jobs_db: Path, jobs: JobRecords | None = None, *, metrics: Metrics | None = None
    ) -> None:
        self.jobs_db = jobs_db
        self.jobs = jobs
        self.metrics = metrics if metrics is not None else metrics_store(jobs_db)
        self._tokens = threading.local()

    def install(self, huey: Huey) -> None:
        huey.pre_execute(name="bridge_task_context")(self.before)
        huey.post_execute(name="bridge_task_context")(self.after)

    def before(self, task: Any) -> None:
        job_id = str(task.args[0]) if task.args else None
        site, post_id = self._where(job_id) if job_id else (None, None)
        stack = self._stack()
        stack.append(
            (
                logcontext.enter(site=site, post_id=post_id, job_id=job_id),
                recorders.enter(self.metrics),
            )
        )

    def after(self, task: Any, value: Any, exception: BaseException | None) -> None:
        stack = self._stack()
        if stack:
            context_token, store_token = stack.pop()
            recorders.leave(store_token)
            logcontext.leave(context_token)

    def _stack(self) -> list[tuple[Token[logcontext.LogContext], Token[Any]]]:
        stack: list[tuple[Token[logcontext.LogContext], Token[Any]]] | None = getattr(
            self._tokens, "stack", None
        )
        if stack is None:
            stack = []
            self._tokens.stack = stack
        return stack

    def _where(self, job_id: str) -> tuple[str | None, int | None]:
        """The job's site and post, or nothing if the job is unknown."""
        if self.jobs is not None:
            return self._lookup(self.jobs, job_id)
        try:
            with connect(self.jobs_db) as db:
                row = db.execute(
                    "SELECT site_url, post_id FROM jobs WHERE id = ?", (job_id,)
                ).fetchone()
        except sqlite3.Error as exc:
            log.warning("job %s: could not read its site and post for the log (%s)", job_id, exc)
            return None, None
        return (None, None) if row is None else (row["site_url"], row["post_id"])

    @staticmethod
    def _lookup(jobs: JobRecords, job_id: str) -> tuple[str | None, int | None]:
        try:
            job = jobs.get(job_id)
        except STORE_ERRORS as exc:
            log.warning("job %s: could not read its site and post for the log (%s)", job_id, exc)
            return None, None
        return (None, None) if job is None else (job.site_url, job.post_id)
