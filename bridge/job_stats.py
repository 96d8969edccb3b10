"""Read-only questions about the job record, for ``/metrics``, ``bridge jobs`` and
``bridge status``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bridge.jobs import Job, JobState, job_from_row
from bridge.sqlite import connect

_AUTOMATIC_IDS = ("reconcile:%", "backfill:%")
"""The ``webhook_id`` of jobs the bridge made itself (``bridge.reconcile``, ``bridge.backfill``)."""


@dataclass(frozen=True)
class LastError:
    """The most recent failed job of one error kind."""

    kind: str
    job_id: str
    site_url: str
    post_id: int
    message: str
    at: float


def counts_by_site_state(path: Path) -> dict[str, dict[str, int]]:
    """``{site_url: {state: jobs}}`` for every site that has jobs."""
    counts: dict[str, dict[str, int]] = {}
    with connect(path) as db:
        for row in db.execute(
            "SELECT site_url, state, COUNT(*) AS n FROM jobs GROUP BY site_url, state"
        ):
            counts.setdefault(row["site_url"], {})[row["state"]] = row["n"]
    return counts


def failed_by_site_kind(path: Path) -> dict[tuple[str, str], int]:
    """``{(site_url, error kind): failed jobs}`` (kind ``unknown`` when none was recorded)."""
    with connect(path) as db:
        rows = db.execute(
            "SELECT site_url, COALESCE(error_kind, 'unknown') AS kind, COUNT(*) AS n "
            "FROM jobs WHERE state = ? GROUP BY site_url, kind",
            (JobState.FAILED,),
        ).fetchall()
    return {(r["site_url"], r["kind"]): r["n"] for r in rows}


def webhook_jobs_by_site(path: Path) -> dict[str, int]:
    """``{site_url: jobs}`` made by a webhook (not by a backfill run or the reconciliation)."""
    with connect(path) as db:
        rows = db.execute(
            "SELECT site_url, COUNT(*) AS n FROM jobs WHERE webhook_id IS NOT NULL "
            "AND webhook_id NOT LIKE ? AND webhook_id NOT LIKE ? GROUP BY site_url",
            _AUTOMATIC_IDS,
        ).fetchall()
    return {r["site_url"]: r["n"] for r in rows}


def last_errors(path: Path) -> list[LastError]:
    """For each error kind, the latest failed job (newest kind first)."""
    with connect(path) as db:
        rows = db.execute(
            "SELECT COALESCE(error_kind, 'unknown') AS kind, id, site_url, post_id, error, "
            "MAX(updated_at) AS at FROM jobs WHERE state = ? GROUP BY kind ORDER BY at DESC",
            (JobState.FAILED,),
        ).fetchall()
    return [
        LastError(r["kind"], r["id"], r["site_url"], r["post_id"], r["error"] or "", r["at"])
        for r in rows
    ]


def recent_jobs(
    path: Path,
    *,
    state: str | None = None,
    site: str | None = None,
    post_id: int | None = None,
    limit: int = 20,
) -> list[Job]:
    """The most recently changed jobs, newest first, with the given state, site and post."""
    where: list[str] = []
    values: list[object] = []
    for column, value in (("state", state), ("site_url", site), ("post_id", post_id)):
        if value is not None:
            where.append(f"{column} = ?")
            values.append(value)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    with connect(path) as db:
        rows = db.execute(
            f"SELECT * FROM jobs {clause}ORDER BY updated_at DESC, id LIMIT ?", (*values, limit)
        ).fetchall()
    return [job_from_row(row) for row in rows]
