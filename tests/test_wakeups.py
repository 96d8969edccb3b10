"""Short gate holds: one thread queues held jobs again when their wait ends, or at once when
a slot for their key frees."""

from __future__ import annotations

import queue

from bridge.wakeups import Wakeups


def test_held_jobs_are_queued_again_in_the_order_their_waits_end() -> None:
    queued: queue.Queue[str] = queue.Queue()
    wakeups = Wakeups(queued.put)
    wakeups.later("late", "key", 0.3, for_slot=False)
    wakeups.later("soon", "key", 0.05, for_slot=False)
    assert [queued.get(timeout=5), queued.get(timeout=5)] == ["soon", "late"]
    assert wakeups.waiting() == 0


def test_a_free_slot_wakes_the_longest_held_job_of_that_key_only() -> None:
    queued: queue.Queue[str] = queue.Queue()
    wakeups = Wakeups(queued.put)
    wakeups.later("first", "key-a", 600, for_slot=True)
    wakeups.later("second", "key-a", 601, for_slot=True)
    wakeups.later("other key", "key-b", 600, for_slot=True)
    wakeups.later("for a token", "key-a", 599, for_slot=False)
    wakeups.slot_free("key-a")
    assert queued.get(timeout=5) == "first"
    assert queued.empty() and wakeups.waiting() == 3


def test_a_job_held_again_keeps_only_its_latest_wait() -> None:
    queued: queue.Queue[str] = queue.Queue()
    wakeups = Wakeups(queued.put)
    wakeups.later("job", "key", 0.05, for_slot=False)
    wakeups.later("job", "key", 600, for_slot=False)
    wakeups.later("marker", "key", 0.2, for_slot=False)
    assert queued.get(timeout=5) == "marker"
    assert queued.empty() and wakeups.waiting() == 1
