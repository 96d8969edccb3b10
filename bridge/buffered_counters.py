"""Counters the web side adds to on requests (refused and duplicate webhooks), summed in memory
and written to the shared metrics store by a background thread, at most every
``FLUSH_SECONDS`` and once per label set, instead of one store write per request.

Each process keeps its own sums and writes them with ``increment`` (an addition), so the store
still holds the total of every process: a figure reaches ``/metrics`` at most
``FLUSH_SECONDS`` late, and at once in the process that answers the scrape (it calls
:func:`flush_all` first). A write that fails is kept and tried again at the next flush; a
process that exits normally writes what it holds. A process killed with SIGKILL loses at most
its last ``FLUSH_SECONDS`` of these counts (never a job: they are only figures).

The thread and the sums belong to the process that made them: after a ``fork`` (gunicorn
starts its workers that way) the child starts its own on first use.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
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
    """Sums increments for ``store`` in memory; a thread per process writes them."""

    def __init__(self, store: Incrementable, interval: float = FLUSH_SECONDS) -> None:
        self.store = store
        self.interval = interval
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: dict[_Key, float] = {}
        self._pid = -1

    def increment(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        """Adds ``amount`` to the counter; returns at once (no store write)."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            if self._pid != os.getpid():
                self._start()
            self._pending[key] = self._pending.get(key, 0.0) + amount

    def flush(self) -> None:
        """Writes every sum held so far to the store (one ``increment`` per label set)."""
        with self._flushing:  # one flush at a time, so a sum put back is not written twice
            with self._lock:
                if self._pid != os.getpid():  # the parent's sums, copied by a fork: its own
                    self._pending = {}
                    return
                pending, self._pending = self._pending, {}
            for index, ((name, labels), amount) in enumerate(pending.items()):
                try:
                    self.store.increment(name, dict(labels), amount)
                except STORE_ERRORS as exc:
                    log.warning("metrics: counts kept for the next try (%s)", exc)
                    self._put_back(list(pending.items())[index:])
                    return

    def _put_back(self, items: list[tuple[_Key, float]]) -> None:
        with self._lock:
            for key, amount in items:
                self._pending[key] = self._pending.get(key, 0.0) + amount

    def _start(self) -> None:
        """In a new process (called with ``_lock`` held): forgets the parent's sums and
        starts this process's flushing thread."""
        self._pid = os.getpid()
        self._pending = {}
        threading.Thread(target=self._serve, name="metrics-flush", daemon=True).start()
        atexit.register(self.flush)

    def _serve(self) -> None:
        stop = threading.Event()  # never set: the thread ends with the process
        while not stop.wait(self.interval):
            self.flush()


_buffers: dict[int, BufferedCounters] = {}
_buffers_lock = threading.Lock()


def buffered(store: Incrementable) -> BufferedCounters:
    """The process's buffer in front of ``store`` (one per store object)."""
    with _buffers_lock:
        buffer = _buffers.get(id(store))
        if buffer is None or buffer.store is not store:
            buffer = _buffers[id(store)] = BufferedCounters(store)
        return buffer


def flush_all() -> None:
    """Writes what every buffer of this process holds (before a scrape reads the store)."""
    with _buffers_lock:
        buffers = list(_buffers.values())
    for buffer in buffers:
        buffer.flush()
