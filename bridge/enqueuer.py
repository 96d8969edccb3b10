"""Queues recorded jobs from a background thread, so a webhook is answered once its job is
on disk, without waiting for the queue's own commit.

Nothing is lost if this process dies before a job reaches the queue: the job record is the
truth, and the worker's sweep (``bridge.sweeper``) queues every recorded job that has no
queue entry once ``BRIDGE_LEASE_SECONDS`` have passed. A process that exits normally first
hands over what it holds (for at most ``DRAIN_SECONDS``).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)
DRAIN_SECONDS = 10.0
MAX_BATCH = 256
"""Most job ids handed over in one ``enqueue_many`` call."""
GATHER_SECONDS = 0.005
"""After waking for a job id, how long the thread lets more arrive before handing them over:
under load, request threads then add ids without waking it for each one."""


class BackgroundEnqueuer:
    """Hands job ids to ``enqueue`` from one thread per process, in the order submitted.

    With ``enqueue_many``, the ids that arrive within ``GATHER_SECONDS`` of the first (or
    while the thread was busy) go together in one call (with the SQLite queue: one
    transaction), so under load the thread wakes and writes once per batch instead of once per
    job; if that call fails, each id is tried alone.
    """

    def __init__(
        self,
        enqueue: Callable[[str], None],
        enqueue_many: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self._enqueue = enqueue
        self._enqueue_many = enqueue_many
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._unfinished = 0
        self._pid = -1
        self._pending: queue.SimpleQueue[str] = queue.SimpleQueue()

    def submit(self, job_id: str) -> None:
        """Queues ``job_id`` soon; returns at once."""
        pending = self._started()
        with self._idle:
            self._unfinished += 1
        pending.put(job_id)

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until every job id submitted so far has been handed to the queue; False if
        ``timeout`` seconds passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def _started(self) -> queue.SimpleQueue[str]:
        with self._lock:
            if self._pid != os.getpid():  # a fresh process (gunicorn forks its workers)
                self._pid = os.getpid()
                self._pending = queue.SimpleQueue()
                self._unfinished = 0
                threading.Thread(
                    target=self._serve, args=(self._pending,), name="enqueuer", daemon=True
                ).start()
                atexit.register(self._drain)
            return self._pending

    def _drain(self) -> None:
        if not self.flush(DRAIN_SECONDS):
            log.warning("exiting with job ids not yet queued; the sweep will queue them")

    def _serve(self, pending: queue.SimpleQueue[str]) -> None:
        while True:
            batch = [pending.get()]
            if self._enqueue_many is not None:
                time.sleep(GATHER_SECONDS)
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            try:
                self._hand_over(batch)
            finally:
                with self._idle:
                    self._unfinished -= len(batch)
                    if self._unfinished == 0:
                        self._idle.notify_all()

    def _hand_over(self, batch: list[str]) -> None:
        if self._enqueue_many is not None and len(batch) > 1:
            try:
                self._enqueue_many(batch)
                return
            except Exception as exc:
                log.warning("%s job ids not queued together (%s); trying each", len(batch), exc)
        for job_id in batch:
            try:
                self._enqueue(job_id)
            except Exception as exc:
                log.warning("job %s not queued now (%s); the sweep will queue it", job_id, exc)
