"""An idle worker starts a task its own process queues at once, not at its next look at the
queue; work another process queues is still found by looking."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from huey import SqliteHuey
from huey.storage import SqliteStorage

from bridge.nudged_queue import NudgedSqliteStorage, NudgedWorker

LONG_LOOK = 60.0  # the worker's polling delay: a task started sooner was woken for


class _Running:
    """A worker thread looping until stopped, and the task it runs."""

    def __init__(self, path: Path, look_every: float) -> None:
        self.huey = SqliteHuey(
            name="test", filename=str(path), results=False, storage_class=NudgedSqliteStorage
        )
        self.ran: list[int] = []
        self.arrived = threading.Event()

        @self.huey.task()
        def record(n: int) -> None:
            self.ran.append(n)
            self.arrived.set()

        self.task = record
        self.stop = threading.Event()
        self.worker = NudgedWorker(self.huey, self.stop, look_every, look_every, 1.0)
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.worker.loop()

    def idle(self) -> None:
        """Starts the thread and returns once it sleeps, having found the queue empty."""
        sleeping = threading.Event()
        sleep = self.worker.sleep

        def announced_sleep() -> None:
            sleeping.set()
            sleep()

        self.worker.sleep = announced_sleep  # type: ignore[method-assign]
        self.thread.start()
        assert sleeping.wait(30)

    def close(self) -> None:
        self.stop.set()
        storage = self.huey.storage
        assert isinstance(storage, NudgedSqliteStorage)
        storage.arrivals.signal()  # wakes the sleeping worker so it sees the stop
        self.thread.join(timeout=10)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[_Running]:
    worker = _Running(tmp_path / "queue.sqlite3", LONG_LOOK)
    yield worker
    worker.close()


def test_a_task_queued_in_the_process_wakes_an_idle_worker(running: _Running) -> None:
    running.idle()
    running.task(1)
    assert running.arrived.wait(LONG_LOOK / 4), "the task waited for the worker's next look"
    assert running.ran == [1]


def test_tasks_queued_together_all_run(running: _Running) -> None:
    running.idle()
    storage = running.huey.storage
    assert isinstance(storage, NudgedSqliteStorage)
    tasks = [running.task.s(n) for n in range(3)]
    storage.enqueue_many([(running.huey.serialize_task(t), 0) for t in tasks])
    for _ in range(3):
        assert running.arrived.wait(LONG_LOOK / 4)
        running.arrived.clear()
        if len(running.ran) == 3:
            break
    assert sorted(running.ran) == [0, 1, 2]


def test_a_task_another_process_queued_is_found_at_the_next_look(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    worker = _Running(path, look_every=0.05)
    try:
        worker.idle()
        other = SqliteStorage(name="test", filename=str(path))  # another process's: no nudge
        other.enqueue(worker.huey.serialize_task(worker.task.s(7)), 0)
        assert worker.arrived.wait(30)
        assert worker.ran == [7]
    finally:
        worker.close()
