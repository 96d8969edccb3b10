"""The provider-key gate: the one place every worker asks "may this job submit now?".

All workers (threads and processes) share it through the job database. For each provider key
it enforces a concurrency cap and a rate limit, pauses the key at once when the provider says
it has no credits (406) and lets one probe through after a backoff, and for each site a daily
cap on generations. Keys are known by a hash (:func:`key_id`), never stored.

Crash safety comes from deriving everything from the job records: a job's submission is "in
flight" from the moment the gate lets it through (``submitted_at``) until the provider is done
with it (``provider_done_at``) or the job leaves the active states. A claim whose submission
was never accepted (the worker died between the gate and the provider's answer) stops counting
after ``claim_seconds``; an accepted one counts until the resumed job finishes it, because the
provider really is running it. Every decision is one ``BEGIN IMMEDIATE`` transaction, so two
workers never take the last slot or token together.

The interface (:class:`Gate`) is small so that another backend (Redis) can implement it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from bridge.jobs import JobState
from bridge.sqlite import connect

log = logging.getLogger(__name__)

CREDITS_RECHECK_MAX = 1800.0
"""The longest wait between two probes of a key that had no credits (30 min)."""

_IN_FLIGHT_STATES = (JobState.QUEUED, JobState.GENERATING)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS provider_pauses (
    provider_key TEXT PRIMARY KEY,
    paused_until REAL NOT NULL,
    step         REAL NOT NULL,
    probe_job    TEXT,
    probe_until  REAL
)
"""
_RATE_PATTERN = re.compile(
    r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(s|sec|second|seconds|m|min|minute|minutes|h|hour|hours)"
    r"\s*$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


class Hold(StrEnum):
    """Why the gate holds a job back."""

    CONCURRENCY = "concurrency"
    RATE = "rate"
    CREDITS = "credits"
    DAILY_CAP = "daily_cap"


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` submissions in any ``window`` seconds."""

    count: int
    window: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Reads ``6/1s``, ``6/s``, ``60/min``, ``1000/h``, ``10/2.5s``.

        Raises ValueError with a message naming the expected form.
        """
        match = _RATE_PATTERN.match(text)
        if match is None or int(match.group(1)) < 1:
            raise ValueError(f"expected COUNT/WINDOW such as 6/1s, 60/min or 1000/h, got {text!r}")
        amount = float(match.group(2) or 1)
        window = amount * _UNIT_SECONDS[match.group(3)[0].lower()]
        if window <= 0:
            raise ValueError(f"the window must be longer than 0 s, got {text!r}")
        return cls(int(match.group(1)), window)

    def __str__(self) -> str:
        return f"{self.count}/{self.window:g}s"


@dataclass(frozen=True)
class Limits:
    """What the gate enforces for one provider key (0 and None: no limit)."""

    max_concurrency: int = 0
    rate: RateLimit | None = None
    credits_recheck: float = 60.0
    """The first wait after a 406; it doubles with each failed probe, up to 30 min."""
    claim_seconds: float = 90.0
    """How long a claim counts while the provider has not accepted its submission."""


@dataclass(frozen=True)
class Ticket:
    """What one job asks the gate: to submit with ``key`` for ``site_url``."""

    job_id: str
    key: str
    site_url: str
    daily_cap: int = 0


@dataclass(frozen=True)
class Admission:
    """The gate's answer: admitted, or held for ``delay`` seconds for ``hold``.

    ``resume_at`` (Unix time) is when the reason should clear: the end of a credits pause or
    the next UTC midnight; for a free slot or token it is ``now + delay``.
    """

    admitted: bool
    hold: Hold | None = None
    delay: float = 0.0
    resume_at: float = 0.0

    @classmethod
    def yes(cls) -> Admission:
        return cls(True)


class Gate(Protocol):
    """The gate's interface: what a Redis backend (issue 6) would implement too."""

    def admit(self, ticket: Ticket, limits: Limits) -> Admission:
        """Claims a submission slot for the job, or says how long to wait and why."""
        ...

    def accepted(self, job_id: str) -> None:
        """The provider accepted the job's submission (a paused key resumes)."""
        ...

    def released(self, job_id: str, *, submitted: bool) -> None:
        """The provider is done with the job (``submitted``), or never got its submission
        (a refusal, a network error): either way its slot is free again."""
        ...

    def out_of_credits(self, ticket: Ticket, limits: Limits) -> Admission:
        """The provider refused the job's submission for lack of credits: the key pauses at
        once (or for longer, after a failed probe). Returns the job's wait."""
        ...


def key_id(provider: str, api_key: str | None) -> str:
    """The gate's name for a provider key: the provider and a hash of the key, never the key."""
    if not api_key:
        return provider
    digest = hashlib.sha256(f"featured-image-bridge:{provider}:{api_key}".encode()).hexdigest()
    return f"{provider}:{digest[:16]}"


def next_utc_midnight(now: float) -> float:
    """The Unix time of the next 00:00 UTC after ``now``."""
    day = datetime.fromtimestamp(now, UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


class SqliteGate:
    """The gate kept in the job database (the ``jobs`` columns and ``provider_pauses``).

    ``on_slot_free`` is called with the key when a job of this process frees a slot, so that
    a job waiting for one in this process can be woken at once instead of at its estimate.
    """

    def __init__(
        self,
        path: Path,
        *,
        on_slot_free: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._on_slot_free = on_slot_free
        self._clock = clock
        with self._transaction() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with connect(self.path) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def admit(self, ticket: Ticket, limits: Limits) -> Admission:
        with self._transaction() as db:
            now = self._clock()  # once the transaction holds the write lock
            answer = (
                _daily_cap(db, ticket, now)
                or _paused(db, ticket, now)
                or _concurrency(db, ticket, limits, now)
                or _rate(db, ticket, limits, now)
            )
            if answer is not None:
                db.execute(
                    "UPDATE jobs SET held = ?, provider_key = ? WHERE id = ?",
                    (answer.hold, ticket.key, ticket.job_id),
                )
                return answer
            _take_probe(db, ticket, limits, now)
            db.execute(
                "UPDATE jobs SET provider_key = ?, submitted_at = ?, provider_done_at = NULL, "
                "held = NULL WHERE id = ?",
                (ticket.key, now, ticket.job_id),
            )
        return Admission.yes()

    def accepted(self, job_id: str) -> None:
        with self._transaction() as db:
            now = self._clock()
            # The rate window counts from the provider's answer: later than its own clock
            # started, so the window never closes early.
            db.execute(
                "UPDATE jobs SET submitted_at = max(coalesce(submitted_at, 0), ?) WHERE id = ?",
                (now, job_id),
            )
            cursor = db.execute(
                "DELETE FROM provider_pauses WHERE provider_key = "
                "(SELECT provider_key FROM jobs WHERE id = ?)",
                (job_id,),
            )
        if cursor.rowcount:
            log.info("provider key has credits again (job %s was accepted); resuming", job_id)

    def released(self, job_id: str, *, submitted: bool) -> None:
        with self._transaction() as db:
            now = self._clock()
            row = db.execute("SELECT provider_key FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if submitted:
                db.execute("UPDATE jobs SET provider_done_at = ? WHERE id = ?", (now, job_id))
            else:
                db.execute(
                    "UPDATE jobs SET submitted_at = NULL, provider_done_at = NULL WHERE id = ?",
                    (job_id,),
                )
            # A probe that ended without an answer about credits lets the next job probe.
            db.execute(
                "UPDATE provider_pauses SET probe_job = NULL, probe_until = NULL "
                "WHERE probe_job = ?",
                (job_id,),
            )
        if row is not None and row["provider_key"] and self._on_slot_free is not None:
            self._on_slot_free(str(row["provider_key"]))

    def out_of_credits(self, ticket: Ticket, limits: Limits) -> Admission:
        with self._transaction() as db:
            now = self._clock()
            db.execute(
                "UPDATE jobs SET submitted_at = NULL, provider_done_at = NULL, held = ? "
                "WHERE id = ?",
                (Hold.CREDITS, ticket.job_id),
            )
            pause = db.execute(
                "SELECT * FROM provider_pauses WHERE provider_key = ?", (ticket.key,)
            ).fetchone()
            if pause is None:
                step = limits.credits_recheck
                db.execute(
                    "INSERT INTO provider_pauses (provider_key, paused_until, step) "
                    "VALUES (?, ?, ?)",
                    (ticket.key, now + step, step),
                )
                until = now + step
                log.warning("provider key has no credits; paused for %.0f s", step)
            elif pause["probe_job"] == ticket.job_id:
                longest = max(CREDITS_RECHECK_MAX, limits.credits_recheck)
                step = min(float(pause["step"]) * 2, longest)
                until = now + step
                db.execute(
                    "UPDATE provider_pauses SET paused_until = ?, step = ?, probe_job = NULL, "
                    "probe_until = NULL WHERE provider_key = ?",
                    (until, step, ticket.key),
                )
                log.warning("provider key still has no credits; next check in %.0f s", step)
            else:  # submitted before the pause began: it waits like the others
                until = max(float(pause["paused_until"]), now)
        return Admission(False, Hold.CREDITS, _spread(until - now), until)


def _daily_cap(db: sqlite3.Connection, ticket: Ticket, now: float) -> Admission | None:
    if ticket.daily_cap <= 0:
        return None
    midnight = next_utc_midnight(now)
    (count,) = db.execute(
        "SELECT count(*) FROM jobs WHERE site_url = ? AND submitted_at >= ? AND id != ?",
        (ticket.site_url, midnight - 86400, ticket.job_id),
    ).fetchone()
    if count < ticket.daily_cap:
        return None
    return Admission(False, Hold.DAILY_CAP, _spread(midnight - now, 60.0), midnight)


def _paused(db: sqlite3.Connection, ticket: Ticket, now: float) -> Admission | None:
    pause = db.execute(
        "SELECT * FROM provider_pauses WHERE provider_key = ?", (ticket.key,)
    ).fetchone()
    if pause is None:
        return None
    until = float(pause["paused_until"])
    if now < until:
        return Admission(False, Hold.CREDITS, _spread(until - now), until)
    probe_until = pause["probe_until"]
    if pause["probe_job"] not in (None, ticket.job_id) and probe_until and now < probe_until:
        # Another job is finding out whether the credits are back; ask again shortly.
        wait = min(float(probe_until) - now, max(float(pause["step"]) / 6, 1.0))
        return Admission(False, Hold.CREDITS, _spread(wait), now + wait)
    return None


def _take_probe(db: sqlite3.Connection, ticket: Ticket, limits: Limits, now: float) -> None:
    """A paused key whose wait is over: this job is the one that tries."""
    db.execute(
        "UPDATE provider_pauses SET probe_job = ?, probe_until = ? WHERE provider_key = ?",
        (ticket.job_id, now + limits.claim_seconds, ticket.key),
    )


def _concurrency(
    db: sqlite3.Connection, ticket: Ticket, limits: Limits, now: float
) -> Admission | None:
    if limits.max_concurrency <= 0:
        return None
    marks = ", ".join("?" * len(_IN_FLIGHT_STATES))
    rows = db.execute(
        "SELECT submitted_at FROM jobs WHERE provider_key = ? AND submitted_at IS NOT NULL "
        f"AND provider_done_at IS NULL AND state IN ({marks}) AND id != ? "
        "AND (provider_ref IS NOT NULL OR submitted_at > ?) ORDER BY submitted_at",
        (ticket.key, *_IN_FLIGHT_STATES, ticket.job_id, now - limits.claim_seconds),
    ).fetchall()
    if len(rows) < limits.max_concurrency:
        return None
    # When the oldest run should end, from how long the key's recent runs took, and one more
    # run's time for every C jobs held before this one: the held jobs ask in turn, not all
    # at once. (A slot freed in this process wakes the longest-held job at once anyway.)
    typical = _typical_run(db, ticket.key)
    (ahead,) = db.execute(
        "SELECT count(*) FROM jobs WHERE provider_key = ? AND held = ? AND id != ? "
        f"AND state IN ({marks})",
        (ticket.key, Hold.CONCURRENCY, ticket.job_id, *_IN_FLIGHT_STATES),
    ).fetchone()
    first = min(max(float(rows[0]["submitted_at"]) + typical - now, 0.25), 30.0)
    wait = min(first + typical * (ahead // limits.max_concurrency), 600.0)
    return Admission(False, Hold.CONCURRENCY, wait, now + wait)


def _typical_run(db: sqlite3.Connection, key: str) -> float:
    (average,) = db.execute(
        "SELECT avg(provider_done_at - submitted_at) FROM (SELECT provider_done_at, "
        "submitted_at FROM jobs WHERE provider_key = ? AND provider_done_at IS NOT NULL "
        "ORDER BY provider_done_at DESC LIMIT 20)",
        (key,),
    ).fetchone()
    return float(average) if average is not None else 5.0


def _rate(db: sqlite3.Connection, ticket: Ticket, limits: Limits, now: float) -> Admission | None:
    rate = limits.rate
    if rate is None:
        return None
    # A submission still on its way counts as arriving now, however long ago it was let
    # through: a slow request can reach the provider after later ones.
    marks = ", ".join("?" * len(_IN_FLIGHT_STATES))
    rows = db.execute(
        "SELECT CASE WHEN provider_ref IS NULL AND provider_done_at IS NULL "
        f"AND state IN ({marks}) AND submitted_at > ? THEN max(submitted_at, ?) "
        "ELSE submitted_at END AS at FROM jobs "
        "WHERE provider_key = ? AND submitted_at IS NOT NULL AND id != ? AND at > ? ORDER BY at",
        (
            *_IN_FLIGHT_STATES,
            now - limits.claim_seconds,
            now,
            ticket.key,
            ticket.job_id,
            now - rate.window,
        ),
    ).fetchall()
    if len(rows) < rate.count:
        return None
    # The window frees a token when its oldest entries age out: enough of them to leave
    # count − 1 behind.
    frees_at = float(rows[len(rows) - rate.count]["at"]) + rate.window
    wait = max(frees_at - now, 0.0) + 0.001
    return Admission(False, Hold.RATE, wait, now + wait)


def _spread(delay: float, extra: float | None = None) -> float:
    """A long wait plus a little jitter, so that many held jobs do not all wake at once."""
    jitter = extra if extra is not None else min(delay * 0.1, 30.0)
    return max(delay, 0.0) + random.uniform(0.0, jitter)
