"""Counts of refused and duplicate webhooks: summed in memory per process, written to the
shared metrics store in one write per label set, none lost."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import sqlite3
import weakref
from collections.abc import Mapping
from pathlib import Path

import pytest

from bridge.buffered_counters import BufferedCounters, buffered, flush_all
from bridge.events import MetricsStore


def _totals(store: MetricsStore) -> dict[tuple[str, str], float]:
    return {(c.name, c.labels.get("reason", "")): c.value for c in store.counters()}


class _CountingStore:
    """A metrics store that counts its writes, and can refuse the first ones."""

    def __init__(self, inner: MetricsStore, fail_first: int = 0) -> None:
        self.inner = inner
        self.writes = 0
        self.fail_first = fail_first

    def increment(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise sqlite3.OperationalError("database is locked")
        self.writes += 1
        self.inner.increment(name, labels, amount)


def test_many_increments_are_one_write_per_label_set(tmp_path: Path) -> None:
    store = _CountingStore(MetricsStore(tmp_path / "jobs.sqlite3"))
    counters = BufferedCounters(store)
    for n in range(1000):
        counters.increment("refused", {"reason": "invalid_signature" if n % 4 else "stale"})
    counters.flush()
    assert store.writes == 2
    assert _totals(store.inner) == {
        ("refused", "invalid_signature"): 750,
        ("refused", "stale"): 250,
    }


def test_counts_a_failed_write_kept_are_written_at_the_next_flush(tmp_path: Path) -> None:
    store = _CountingStore(MetricsStore(tmp_path / "jobs.sqlite3"), fail_first=1)
    counters = BufferedCounters(store)
    for _ in range(3):
        counters.increment("refused", {"reason": "invalid_signature"})
    counters.flush()
    assert _totals(store.inner) == {}
    counters.increment("refused", {"reason": "invalid_signature"})
    counters.flush()
    assert _totals(store.inner) == {("refused", "invalid_signature"): 4}


def _count_in_child(path: Path) -> None:
    store = MetricsStore(path)
    for _ in range(50):
        buffered(store).increment("refused", {"reason": "missing_signature"})
    flush_all()


def test_processes_add_up_in_the_shared_store(tmp_path: Path) -> None:
    """gunicorn's workers are forked from a parent that may have counted already."""
    path = tmp_path / "jobs.sqlite3"
    store = MetricsStore(path)
    buffered(store).increment("refused", {"reason": "missing_signature"}, 7)
    children = [
        multiprocessing.get_context("fork").Process(target=_count_in_child, args=(path,))
        for _ in range(3)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    flush_all()
    assert _totals(store) == {("refused", "missing_signature"): 7 + 3 * 50}


def test_a_store_no_longer_used_is_let_go_with_its_counts(tmp_path: Path) -> None:
    """Services closed: nothing keeps writing to their store (or to a server that is gone)."""
    store = _CountingStore(MetricsStore(tmp_path / "jobs.sqlite3"), fail_first=10**6)
    gone = weakref.ref(store)
    buffered(store).increment("refused", {"reason": "stale"})
    flush_all()
    del store
    gc.collect()
    assert gone() is None


def test_a_failing_store_is_reported_once_not_at_every_try(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _CountingStore(MetricsStore(tmp_path / "jobs.sqlite3"), fail_first=3)
    counters = BufferedCounters(store)
    counters.increment("refused", {"reason": "stale"})
    with caplog.at_level(logging.INFO, logger="bridge.buffered_counters"):
        for _ in range(4):
            counters.flush()
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert _totals(store.inner) == {("refused", "stale"): 1}
