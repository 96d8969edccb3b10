"""Short waits at the gate, kept by one thread per worker process instead of a thread per job.

huey's scheduler looks at its schedule once a second, too coarse for a token that frees in
0.3 s or a provider slot that frees when a run ends. A job the gate holds for a short while is
handed here with the time it may go on: one background thread puts it back on the queue then,
or at once when a job of this process frees a slot for the same key. Nothing here is durable:
the job's lease says when it is expected back, and the sweep queues it again if this process
dies first (``bridge.sweeper``).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(order=True)
class _Wake:
    at: float
    job_id: str = field(compare=False)
    key: str = field(compare=False)
    for_slot: bool = field(compare=False)


class Wakeups:
    """Enqueues held jobs when their wait ends; ``enqueue`` puts a job id on the queue."""

    def __init__(
        self, enqueue: Callable[[str], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._enqueue = enqueue
        self._clock = clock
        self._heap: list[_Wake] = []
        self._pending: dict[str, _Wake] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def later(self, job_id: str, key: str, delay: float, *, for_slot: bool) -> None:
        """Queues the job again after ``delay`` seconds; ``for_slot``: a free slot for ``key``
        (see :meth:`slot_free`) wakes it sooner."""
        wake = _Wake(self._clock() + delay, job_id, key, for_slot)
        with self._changed:
            self._pending[job_id] = wake
            heapq.heappush(self._heap, wake)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gate-wakeups", daemon=True)
                self._thread.start()
            self._changed.notify()

    def slot_free(self, key: str) -> None:
        """A slot for ``key`` is free: the job that has waited for one longest goes now."""
        with self._changed:
            waiting = [w for w in self._pending.values() if w.for_slot and w.key == key]
            if not waiting:
                return
            first = min(waiting)
            wake = _Wake(self._clock(), first.job_id, key, True)
            self._pending[first.job_id] = wake
            heapq.heappush(self._heap, wake)
            self._changed.notify()

    def waiting(self) -> int:
        with self._changed:
            return len(self._pending)

    def _due(self) -> list[str]:
        """Takes the jobs whose time has come; waits (on the condition) until one has."""
        with self._changed:
            while True:
                now = self._clock()
                due: list[str] = []
                while self._heap and self._heap[0].at <= now:
                    wake = heapq.heappop(self._heap)
                    if self._pending.get(wake.job_id) is wake:
                        del self._pending[wake.job_id]
                        due.append(wake.job_id)
                if due:
                    return due
                timeout = self._heap[0].at - now if self._heap else None
                self._changed.wait(timeout)

    def _run(self) -> None:
        while True:
            for job_id in self._due():
                try:
                    self._enqueue(job_id)
                except Exception:
                    log.exception("job %s: could not queue it again; the sweep will", job_id)
