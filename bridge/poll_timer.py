"""The poll timer: hands jobs waiting on their provider back to the queue when a poll is due.

A job whose provider request is still running ends its task (``PollLater``), so it holds no
worker thread while it waits. The timer keeps only its id and due time, for every waiting
job of the worker in one thread, and queues the job again at that moment to the millisecond
(huey's own scheduler looks for due tasks once a second, which would add up to a second to
noticing a finished image). The job record keeps everything else: its lease runs until the
due time plus a grace, so if this worker dies, the sweep queues the job again.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class PollTimer:
    """Calls ``wake(job_id)`` once each added job is due, from one daemon thread.

    Adding a job that is already waiting moves it to the new time.
    """

    def __init__(
        self, wake: Callable[[str], None], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._wake = wake
        self._clock = clock
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}
        self._changed = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def add(self, job_id: str, delay: float) -> None:
        due = self._clock() + max(delay, 0.0)
        with self._changed:
            self._due[job_id] = due
            heapq.heappush(self._heap, (due, job_id))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="poll-timer", daemon=True)
                self._thread.start()
            self._changed.notify()

    def waiting(self) -> int:
        """How many jobs wait for their next poll."""
        with self._changed:
            return len(self._due)

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                due_ids = self._take_due()
                while not due_ids and not self._stopped:
                    timeout = self._heap[0][0] - self._clock() if self._heap else None
                    self._changed.wait(timeout)
                    due_ids = self._take_due()
                if self._stopped:
                    return
            for job_id in due_ids:
                try:
                    self._wake(job_id)
                except Exception:
                    # The job's lease runs out after its grace; the sweep queues it then.
                    log.exception("job %s: could not queue its next poll", job_id)

    def _take_due(self) -> list[str]:
        """Pops the jobs due now (called with the lock held)."""
        now = self._clock()
        due_ids = []
        while self._heap and self._heap[0][0] <= now:
            due, job_id = heapq.heappop(self._heap)
            if self._due.get(job_id) == due:  # else moved to a later time since
                del self._due[job_id]
                due_ids.append(job_id)
        return due_ids
