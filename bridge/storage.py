"""The storage seam: what the web side, the worker and the sweep need of the job record and
its leases, whatever keeps them.

Two backends implement it: SQLite files in ``BRIDGE_DATA_DIR`` (``bridge.jobs.JobStore``,
``bridge.leases.Leases``; the default, one machine) and Redis (``bridge.redis_store``,
``bridge.redis_leases``; web and workers on several machines). ``bridge.backends`` builds the
one the settings name, so no other module asks which it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, Protocol

from redis.exceptions import RedisError

from bridge.job_stats import LastError
from bridge.jobs import Job, NewJob

STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, RedisError)
"""What a store raises when it cannot be reached or read (its file or its server)."""


class JobRecords(Protocol):
    """The job record: one per generation, with duplicate suppression (see
    ``bridge.jobs.JobStore`` for the exact behaviour every backend keeps)."""

    def create(self, new: NewJob, *, run_id: str | None = None) -> tuple[Job, bool]:
        """Records a job, or returns the one this request (same ``webhook_id``) or this post
        (a job under way) already has, with ``False``."""
        ...

    def create_many(
        self, news: Iterable[NewJob], *, run_id: str | None = None
    ) -> list[tuple[Job, bool]]: ...

    def get(self, job_id: str) -> Job | None: ...

    def update(self, job_id: str, **changes: Any) -> Job:
        """Sets the given fields (and ``updated_at``); raises KeyError for an unknown job and
        ValueError for an unknown field."""
        ...

    def note(self, job_id: str, **changes: Any) -> None:
        """Sets fields like :meth:`update` for what the job can do without (the provider's
        notes at every poll): a store may skip waiting for its disk."""
        ...

    def last_finished(self, *, provider: str, provider_key: str | None = None) -> Job | None:
        """The most recent job of ``provider`` that ended; with ``provider_key``, of that key."""
        ...

    def has_job(self, site_url: str, post_id: int) -> bool: ...

    def ping(self) -> None:
        """Raises one of STORE_ERRORS if the store cannot be read."""
        ...

    # Read-only questions for ``/metrics``, ``bridge status`` and ``bridge jobs``.

    def counts_by_site_state(self) -> dict[str, dict[str, int]]:
        """``{site_url: {state: jobs}}`` for every site that has jobs."""
        ...

    def failed_by_site_kind(self) -> dict[tuple[str, str], int]:
        """``{(site_url, error kind): failed jobs}`` (kind ``unknown`` when none was recorded)."""
        ...

    def webhook_jobs_by_site(self) -> dict[str, int]:
        """``{site_url: jobs}`` made by a webhook (not by a backfill run or the reconciliation)."""
        ...

    def last_errors(self) -> list[LastError]:
        """For each error kind, the latest failed job (newest kind first)."""
        ...

    def recent_jobs(
        self,
        *,
        state: str | None = None,
        site: str | None = None,
        post_id: int | None = None,
        limit: int = 20,
    ) -> list[Job]:
        """The most recently changed jobs, newest first, with the given state, site and post."""
        ...


class LeaseStore(Protocol):
    """Job leases: which worker runs an active job, and until when (see ``bridge.leases``)."""

    def claim(self, job_id: str, owner: str, seconds: float) -> bool: ...

    def renew(self, owners: list[str], seconds: float) -> None: ...

    def release(self, job_id: str, owner: str, *, wait: float) -> None: ...

    def take_stalled(self, grace: float, limit: int = 100) -> list[str]:
        """Claims active jobs whose lease ran out, each for exactly one caller."""
        ...

    def end_dead_owners(self) -> None:
        """Ends at once the leases of owners known to be dead, where the backend can know it
        (SQLite: processes of this host that are gone); otherwise leases simply expire."""
        ...
