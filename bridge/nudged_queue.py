"""The SQLite queue's idle workers woken by what their own process enqueues.

huey's SQLite storage cannot block on a read, so an idle worker thread looks at the queue
every ``max_delay`` (a tenth of a second here). Most work a worker does next is queued by its
own process: the poll timer queues a due poll, a freed provider slot wakes the job that waited
for it, a finished job feeds its backfill run the next post. Each of those hops cost up to a
tenth of a second, twice per provider slot cycle (the poll that sees a run done, then the
submission of the next job): a tenth of a second per slot that a backfill at the provider's
concurrency cap leaves idle. Here an enqueue in the process wakes an idle worker at once; work
queued by another process (the web side's webhooks) is still found by the regular look.

With Redis, huey's reads block until a task arrives, and none of this is used.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from huey.consumer import Consumer, Worker
from huey.storage import SqliteStorage


class Arrivals:
    """Counts the tasks this process queued; an idle worker waits for the count to move."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.count = 0

    def signal(self, tasks: int = 1) -> None:
        """``tasks`` were queued: wakes as many idle workers."""
        with self._changed:
            self.count += tasks
            self._changed.notify(tasks)

    def wait(self, seen: int, timeout: float) -> None:
        """Returns when the count is past ``seen`` (a task came since) or after ``timeout``."""
        with self._changed:
            self._changed.wait_for(lambda: self.count != seen, timeout)


class NudgedSqliteStorage(SqliteStorage):  # type: ignore[misc]  # huey has no type hints
    """huey's SQLite storage, counting this process's enqueues in ``arrivals``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals = Arrivals()

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        super().enqueue(data, priority)
        self.arrivals.signal()

    def enqueue_many(self, tasks: Sequence[tuple[bytes, int]]) -> None:
        """:meth:`enqueue` for each ``(data, priority)``, in one transaction (the statement of
        huey's ``SqliteStorage.enqueue``, for many rows)."""
        rows = [(self.name, self.to_blob(data), priority) for data, priority in tasks]
        with self.db(commit=True) as cursor:
            cursor.executemany("insert into task (queue, data, priority) values (?, ?, ?)", rows)
        self.arrivals.signal(len(rows))


class NudgedWorker(Worker):  # type: ignore[misc]
    """A worker that, with nothing queued, sleeps until its process queues a task or its
    polling delay passes, whichever comes first."""

    delay: float
    max_delay: float
    backoff: float
    _seen = 0

    def __init__(self, huey: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(huey, *args, **kwargs)
        storage = huey.storage
        self._arrivals = storage.arrivals if isinstance(storage, NudgedSqliteStorage) else None

    def loop(self, now: Any = None) -> None:
        if self._arrivals is not None:  # read before the queue is: a task queued after wakes it
            self._seen = self._arrivals.count
        super().loop(now)

    def sleep(self) -> None:
        if self._arrivals is None:
            super().sleep()
            return
        self.delay = min(self.delay, self.max_delay)
        self._arrivals.wait(self._seen, self.delay)  # at most max_delay: a stop is seen that soon
        self.delay *= self.backoff


class NudgedConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer with :class:`NudgedWorker` threads."""

    worker_class = NudgedWorker
