"""Job leases: which worker runs an active job, and until when that claim holds.

The lease lives in two columns of the job record (``lease_owner``, ``lease_until``; see
``bridge.jobs``). No owner with a ``lease_until`` means "in the queue, expected to start by
then". A worker takes the lease before running a job and renews the leases it holds every
third of the lease time (:class:`LeaseKeeper`); a worker that dies stops renewing, its leases
run out, and the sweep (``bridge.sweeper``) queues the jobs again.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from bridge.jobs import ACTIVE_STATES
from bridge.sqlite import connect
from bridge.storage import STORE_ERRORS, LeaseStore

log = logging.getLogger(__name__)


class Leases:
    """The lease columns of the job record (the same SQLite file as ``JobStore``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        # No fsync per lease write: a lease lost with the machine's power only makes the
        # sweep (or the restarted worker) take the job again, and every step is safe to
        # run twice. A job's poll step takes and gives back its lease, several times a run.
        return connect(self.path, synchronous="NORMAL")

    def claim(self, job_id: str, owner: str, seconds: float) -> bool:
        """Takes the lease of an active job for ``owner``; False when another live worker holds
        it or the job has ended. A queued lease (no owner) or an expired one can be taken."""
        now = time.time()
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ? "
                "AND state IN (?, ?, ?) "
                "AND (lease_owner IS NULL OR lease_owner = ? OR lease_until IS NULL "
                "OR lease_until < ?)",
                (owner, now + seconds, job_id, *ACTIVE_STATES, owner, now),
            )
            return cursor.rowcount == 1

    def renew(self, owners: list[str], seconds: float) -> None:
        """Extends the leases these owners hold (the worker's heartbeat)."""
        if not owners:
            return
        marks = ", ".join("?" for _ in owners)
        with self._connect() as db:
            db.execute(
                f"UPDATE jobs SET lease_until = ? WHERE lease_owner IN ({marks})",
                (time.time() + seconds, *owners),
            )

    def release(self, job_id: str, owner: str, *, wait: float) -> None:
        """Gives the lease back: the job waits in the queue, expected to start within
        ``wait`` seconds (a retry's delay plus a grace period)."""
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_until = ? "
                "WHERE id = ? AND lease_owner = ?",
                (time.time() + wait, job_id, owner),
            )

    def lease_owners(self) -> set[str]:
        """Owners of the leases on active jobs."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT DISTINCT lease_owner FROM jobs WHERE state IN (?, ?, ?) "
                "AND lease_owner IS NOT NULL",
                ACTIVE_STATES,
            ).fetchall()
        return {str(row[0]) for row in rows}

    def expire(self, owners: list[str]) -> None:
        """Ends these owners' leases now (they are known to be dead)."""
        if not owners:
            return
        marks = ", ".join("?" for _ in owners)
        with self._connect() as db:
            db.execute(
                f"UPDATE jobs SET lease_until = ? WHERE lease_owner IN ({marks})",
                (time.time() - 1, *owners),
            )

    def end_dead_owners(self) -> None:
        """Ends the leases held by dead processes of this host (see :func:`dead_owners`)."""
        self.expire(dead_owners(self.lease_owners()))

    def take_stalled(self, grace: float, limit: int = 100) -> list[str]:
        """Claims, atomically, active jobs whose lease ran out (their worker died, or their
        queue entry was lost) and marks them queued again for ``grace`` seconds.

        Several sweepers may call this at once: each stalled job goes to exactly one of them.
        A job with no lease at all counts as stalled once it is ``grace`` seconds old.
        """
        now = time.time()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    "SELECT id FROM jobs WHERE state IN (?, ?, ?) AND ("
                    "lease_until < ? OR (lease_until IS NULL AND updated_at < ?)) "
                    "ORDER BY created_at LIMIT ?",
                    (*ACTIVE_STATES, now, now - grace, limit),
                ).fetchall()
                ids = [str(row["id"]) for row in rows]
                db.executemany(
                    "UPDATE jobs SET lease_owner = NULL, lease_until = ? WHERE id = ?",
                    [(now + grace, job_id) for job_id in ids],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return ids


def new_owner() -> str:
    """A lease owner token naming this host, process and one run of a job."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def dead_owners(owners: set[str]) -> list[str]:
    """The owners that ran in a process of this host that no longer exists.

    A worker restarted after a crash resumes its jobs at once instead of waiting for their
    leases to run out. Owners on other hosts, and any process that still exists (even one
    that reuses a dead worker's pid), are left to the lease.
    """
    host = socket.gethostname()
    dead = []
    for owner in owners:
        parts = owner.rsplit(":", 2)
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if not _process_exists(int(parts[1])):
            dead.append(owner)
    return sorted(dead)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


class LeaseKeeper:
    """Renews the leases held by one worker process from a single background thread."""

    def __init__(self, leases: LeaseStore, seconds: float) -> None:
        self.leases = leases
        self.seconds = seconds
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @contextmanager
    def hold(self, owner: str) -> Iterator[None]:
        """Keeps ``owner``'s lease renewed for the duration of the block."""
        with self._lock:
            self._held.add(owner)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name="lease-heartbeat", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(owner)

    def stop(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            with self._lock:
                owners = sorted(self._held)
            try:
                self.leases.renew(owners, self.seconds)
            except STORE_ERRORS as exc:
                log.warning("could not renew job leases: %s", exc)
