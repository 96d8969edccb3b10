"""Counters the web side adds to on requests (refused and duplicate webhooks), summed in memory
and written to the shared metrics store by a background thread, at most every
``FLUSH_SECONDS`` and once per label set, instead of one store write per request.

Each process keeps its own sums and writes them with ``increment`` (an addition), so the store
still holds the total of every process: a figure reaches ``/metrics`` at most
``FLUSH_SECONDS`` late, and at once in the process that answers the scrape (it calls
:func:`flush_all` first). A write that fails is kept and tried again at the next flush (logged
once per run of failures, not at every try); a process that exits normally writes what it
holds. A process killed with SIGKILL loses at most its last ``FLUSH_SECONDS`` of these counts
(never a job: they are only figures).

One thread per process flushes every buffer. A buffer holds its store weakly: once nothing
else uses a store (its services were closed), its buffer and any sums it could not write go
with it, so no thread keeps writing to a store, or a server, that is gone. The thread and the
sums belong to the process that made them: after a ``fork`` (gunicorn starts its workers that
way) the child starts its own on first use.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Protocol

from bridge.storage import STORE_ERRORS

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0

_Key = tuple[str, tuple[tuple[str, str], ...]]


class Incrementable(Protocol):
    """Where the sums go: a metrics store (``bridge.events.Metrics``)."""

    def increment(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None: ...


class BufferedCounters:
    """Sums increments for ``store`` in memory until :meth:`flush` writes them."""

    def __init__(self, store: Incrementable) -> None:
        self._store = weakref.ref(store)
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: dict[_Key, float] = {}
        self._pid = os.getpid()
        self._failing = False

    def increment(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        """Adds ``amount`` to the counter; returns at once (no store write)."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._forget_after_fork()
            self._pending[key] = self._pending.get(key, 0.0) + amount
        _flusher.ensure_running()

    def flush(self) -> None:
        """Writes every sum held so far to the store (one ``increment`` per label set)."""
        with self._flushing:  # one flush at a time, so a sum put back is not written twice
            with self._lock:
                self._forget_after_fork()
                pending, self._pending = self._pending, {}
            store = self._store()
            if not pending or store is None:
                return
            items = list(pending.items())
            for index, ((name, labels), amount) in enumerate(items):
                try:
                    store.increment(name, dict(labels), amount)
                except STORE_ERRORS as exc:
                    # The error's text only: a log record holding the error would hold its
                    # traceback, and through it the store.
                    if not self._failing:
                        log.warning("metrics: counts kept for the next try (%s)", str(exc))
                    self._failing = True
                    self._put_back(items[index:])
                    return
            if self._failing:
                log.info("metrics: the counts kept are written")
            self._failing = False

    def _forget_after_fork(self) -> None:
        """Drops the parent's sums, copied by a fork (called with ``_lock`` held)."""
        if self._pid != os.getpid():
            self._pid, self._pending = os.getpid(), {}

    def _put_back(self, items: list[tuple[_Key, float]]) -> None:
        with self._lock:
            for key, amount in items:
                self._pending[key] = self._pending.get(key, 0.0) + amount


class _Flusher:
    """The process's one flushing thread, started on first use (again after a fork)."""

    def __init__(self, interval: float = FLUSH_SECONDS) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._pid = -1
        self._buffers: weakref.WeakKeyDictionary[Incrementable, BufferedCounters] = (
            weakref.WeakKeyDictionary()
        )

    def buffer_for(self, store: Incrementable) -> BufferedCounters:
        with self._lock:
            buffer = self._buffers.get(store)
            if buffer is None:
                buffer = self._buffers[store] = BufferedCounters(store)
            return buffer

    def ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._serve, name="metrics-flush", daemon=True).start()

    def flush_all(self) -> None:
        with self._lock:
            buffers = list(self._buffers.values())
        for buffer in buffers:
            buffer.flush()

    def _serve(self) -> None:
        stop = threading.Event()  # never set: the thread ends with the process
        while not stop.wait(self.interval):
            self.flush_all()


_flusher = _Flusher()
atexit.register(_flusher.flush_all)


def buffered(store: Incrementable) -> BufferedCounters:
    """The process's buffer in front of ``store`` (one per store object)."""
    return _flusher.buffer_for(store)


def flush_all() -> None:
    """Writes what every buffer of this process holds (before a scrape reads the store)."""
    _flusher.flush_all()
