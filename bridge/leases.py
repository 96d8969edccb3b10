"""The worker's heartbeat: keeps the leases of the jobs it runs alive while it is alive.

A job's lease (``bridge.jobs``) says which worker runs it and until when. A worker renews
the leases it holds every third of the lease time; a worker that dies (SIGKILL, power loss)
stops renewing, its leases run out, and the sweep (``bridge.sweeper``) queues the jobs again.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from bridge.jobs import JobStore

log = logging.getLogger(__name__)


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

    def __init__(self, store: JobStore, seconds: float) -> None:
        self.store = store
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
                self.store.renew(owners, self.seconds)
            except sqlite3.Error as exc:
                log.warning("could not renew job leases: %s", exc)
