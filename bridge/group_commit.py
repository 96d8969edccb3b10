"""Group commit: one writer thread runs the writes of many request threads in shared
transactions, so concurrent webhooks pay for one commit (and one fsync) together.

A caller of :meth:`GroupCommit.run` waits until the transaction holding its write has
committed, so a caller that got a result knows its write is on disk. Each write runs under a
savepoint of its own: one that raises is rolled back alone and its caller gets the exception,
while the rest of the batch commits. A failed ``COMMIT`` fails every caller of that batch.

The thread and its connection belong to the process that started them: after a ``fork``
(gunicorn starts its workers that way) the child starts its own on first use.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from bridge.sqlite import open_connection

log = logging.getLogger(__name__)
_T = TypeVar("_T")
Write = Callable[[sqlite3.Connection], Any]
MAX_BATCH = 256
"""Most writes in one transaction: keeps each transaction's hold on the write lock short."""


class GroupCommit:
    """Batches writes to the SQLite file ``path`` from any number of threads."""

    def __init__(
        self, path: Path, *, synchronous: str = "FULL", max_batch: int = MAX_BATCH
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pid = -1
        self._pending: queue.SimpleQueue[tuple[Write, Future[Any]]] = queue.SimpleQueue()

    def run(self, write: Callable[[sqlite3.Connection], _T]) -> _T:
        """Runs ``write(connection)`` inside a transaction and returns its result once that
        transaction has committed; raises what ``write`` or the commit raised."""
        done: Future[_T] = Future()
        self._started().put((write, done))
        return done.result()

    def _started(self) -> queue.SimpleQueue[tuple[Write, Future[Any]]]:
        """The queue of this process's writer thread, started on first use."""
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._pending = queue.SimpleQueue()
                threading.Thread(
                    target=self._serve,
                    args=(self._pending,),
                    name=f"group-commit:{self.path.name}",
                    daemon=True,
                ).start()
            return self._pending

    def _serve(self, pending: queue.SimpleQueue[tuple[Write, Future[Any]]]) -> None:
        db: sqlite3.Connection | None = None
        lock = -1
        while True:
            batch = [pending.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            try:
                if db is None:
                    db = open_connection(self.path, synchronous=self.synchronous)
                if lock < 0:
                    lock = os.open(f"{self.path}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
            except (sqlite3.Error, OSError) as exc:
                log.error("cannot open %s: %s", self.path, exc)
                for _, done in batch:
                    done.set_exception(exc)
                continue
            with _write_lock(lock):
                _commit(db, batch)


@contextmanager
def _write_lock(fd: int) -> Iterator[None]:
    """Holds ``fd``'s exclusive flock: the writers of several processes take turns at once
    when the lock is freed, instead of sleeping in SQLite's busy handler (1, 2, 5, 10 … ms)."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _commit(db: sqlite3.Connection, batch: list[tuple[Write, Future[Any]]]) -> None:
    """Runs one batch in one transaction and settles every caller's future."""
    results: list[tuple[Future[Any], Any]] = []
    try:
        db.execute("BEGIN IMMEDIATE")
        for write, done in batch:
            db.execute("SAVEPOINT one_write")
            try:
                results.append((done, write(db)))
            except Exception as exc:
                db.execute("ROLLBACK TO one_write")
                done.set_exception(exc)
            finally:
                db.execute("RELEASE one_write")
        db.execute("COMMIT")
    except Exception as exc:
        log.error("a batch of %s writes failed to commit: %s", len(batch), exc)
        if db.in_transaction:
            db.execute("ROLLBACK")
        for _, done in batch:
            if not done.done():
                done.set_exception(exc)
        return
    for done, result in results:
        done.set_result(result)
