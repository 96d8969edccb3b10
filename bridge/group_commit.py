"""Group commit: the writes of many request threads share transactions, so concurrent
webhooks pay for one commit (and one fsync) together.

There is no writer thread. A caller adds its write to the pending list and takes the commit
lock; whoever holds it commits everything pending in one transaction. A caller that gets the
lock and finds its write already committed by the previous holder returns at once, so under
load most callers wait once and never commit themselves.

A caller of :meth:`GroupCommit.run` returns only once the transaction holding its write has
committed. A write that raises is rolled back alone and its caller gets the exception, while
the rest of the batch commits; a failed ``COMMIT`` fails every caller of that batch. The usual
batch, where no write raises, runs its writes one after the other; only when one raises is
the transaction rolled back and the batch run again, each write under a savepoint of its own.
So a write may run twice (the first run undone): it must only act on the database it is given.

The connection and the locks belong to the process that made them: after a ``fork`` (gunicorn
starts its workers that way) the child makes its own on first use.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from bridge.sqlite import open_connection

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class _Write(Generic[_T]):
    """One caller's write and, once its transaction ended, its result or exception."""

    __slots__ = ("write", "done", "result", "error")

    def __init__(self, write: Callable[[sqlite3.Connection], _T]) -> None:
        self.write = write
        self.done = False
        self.result: _T | None = None
        self.error: BaseException | None = None


class _ProcessState:
    """What one process uses: the pending writes, the commit lock, the connection."""

    def __init__(self) -> None:
        self.pending_lock = threading.Lock()
        self.pending: list[_Write[Any]] = []
        self.commit_lock = threading.Lock()
        self.db: sqlite3.Connection | None = None
        self.flock = -1


class GroupCommit:
    """Batches writes to the SQLite file ``path`` from any number of threads."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._lock = threading.Lock()
        self._pid = -1
        self._state = _ProcessState()

    def run(self, write: Callable[[sqlite3.Connection], _T]) -> _T:
        """Runs ``write(connection)`` inside a transaction and returns its result once that
        transaction has committed; raises what ``write`` or the commit raised."""
        state = self._process_state()
        mine = _Write(write)
        with state.pending_lock:
            state.pending.append(mine)
        with state.commit_lock:
            if not mine.done:
                with state.pending_lock:
                    batch, state.pending = state.pending, []
                self._commit(state, batch)
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]

    def _process_state(self) -> _ProcessState:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._state = _ProcessState()
            return self._state

    def _commit(self, state: _ProcessState, batch: list[_Write[Any]]) -> None:
        """Runs ``batch`` in one transaction; every write in it ends done, whatever happens."""
        try:
            if state.db is None:
                state.db = open_connection(self.path, synchronous=self.synchronous)
            if state.flock < 0:
                state.flock = os.open(f"{self.path}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
            with _write_lock(state.flock):
                _transaction(state.db, batch)
        except BaseException as exc:
            log.error("a batch of %s writes to %s failed: %s", len(batch), self.path, exc)
            _settle(batch, exc)
            if not isinstance(exc, Exception):
                raise


@contextmanager
def _write_lock(fd: int) -> Iterator[None]:
    """Holds ``fd``'s exclusive flock: the writers of several processes take turns at once
    when the lock is freed, instead of sleeping in SQLite's busy handler (1, 2, 5, 10 … ms)."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _transaction(db: sqlite3.Connection, batch: list[_Write[Any]]) -> None:
    try:
        db.execute("BEGIN IMMEDIATE")
        if not _all_succeed(db, batch):
            db.execute("ROLLBACK")
            db.execute("BEGIN IMMEDIATE")
            _each_under_savepoint(db, batch)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    for item in batch:
        item.done = True


def _all_succeed(db: sqlite3.Connection, batch: list[_Write[Any]]) -> bool:
    """Runs every write; False as soon as one raises (the caller rolls the batch back)."""
    for item in batch:
        try:
            item.result = item.write(db)
        except Exception:
            return False
    return True


def _each_under_savepoint(db: sqlite3.Connection, batch: list[_Write[Any]]) -> None:
    """Runs every write under a savepoint of its own: one that raises is undone alone."""
    for item in batch:
        db.execute("SAVEPOINT one_write")
        try:
            item.result, item.error = item.write(db), None
        except Exception as exc:
            db.execute("ROLLBACK TO one_write")
            item.result, item.error = None, exc
        finally:
            db.execute("RELEASE one_write")


def _settle(batch: list[_Write[Any]], exc: BaseException) -> None:
    """Ends every write of a failed batch with ``exc``, unless it already failed alone."""
    for item in batch:
        if not item.done and item.error is None:
            item.result, item.error = None, exc
        item.done = True
