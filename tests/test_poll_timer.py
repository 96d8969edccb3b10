"""The worker's poll timer: one thread wakes each waiting job when its poll is due."""

from __future__ import annotations

import threading

from bridge.poll_timer import PollTimer


class Wakes:
    def __init__(self) -> None:
        self.order: list[str] = []
        self.changed = threading.Condition()

    def __call__(self, job_id: str) -> None:
        with self.changed:
            self.order.append(job_id)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.order) >= count, timeout=30)
            return list(self.order)


def test_jobs_wake_in_the_order_they_are_due_from_one_thread() -> None:
    wakes = Wakes()
    timer = PollTimer(wakes)
    for job_id, delay in (("late", 0.3), ("soon", 0.05), ("now", 0.0)):
        timer.add(job_id, delay)
    threads_before = threading.active_count()
    assert wakes.wait_for(3) == ["now", "soon", "late"]
    assert threading.active_count() == threads_before
    assert timer.waiting() == 0
    timer.stop()


def test_a_job_added_again_waits_for_its_new_time_only() -> None:
    wakes = Wakes()
    timer = PollTimer(wakes)
    timer.add("moved", 0.01)
    timer.add("moved", 3600.0)
    timer.add("other", 0.1)
    assert wakes.wait_for(1) == ["other"]
    assert timer.waiting() == 1, "the moved job waits for its new time"
    timer.stop()


def test_a_failing_wake_does_not_stop_the_timer() -> None:
    wakes = Wakes()

    def wake(job_id: str) -> None:
        if job_id == "broken":
            raise RuntimeError("queue unavailable")
        wakes(job_id)

    timer = PollTimer(wake)
    timer.add("broken", 0.0)
    timer.add("fine", 0.05)
    assert wakes.wait_for(1) == ["fine"]
    timer.stop()
