"""The metrics store, in the job database and in Redis alike (each test runs on both): what
several processes record adds up exactly, gauges keep the last value, histograms count into
cumulative buckets, and silent workers' heartbeats are forgotten."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from bridge.events import (
    HEARTBEAT,
    HEARTBEAT_KEEP_SECONDS,
    WORKER_ALIVE_SECONDS,
    Metrics,
    MetricsStore,
    alive,
)
from bridge.redis_metrics import RedisMetrics
from devenv.redis_server import LocalRedis
from tests.metrics_writer import BOUNDS

REPO = Path(__file__).resolve().parents[1]


class Backend:
    """A store under test, how another process reaches it, and how to age a gauge."""

    def __init__(self, store: Metrics, args: list[str], age: Callable[[str, float], None]) -> None:
        self.store = store
        self.args = args
        self.age = age


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        path = tmp_path / "jobs.sqlite3"
        sqlite_store = MetricsStore(path)

        def age_row(name: str, seconds: float) -> None:
            with sqlite_store._connect() as db:
                db.execute(
                    "UPDATE metric_gauges SET updated_at = updated_at - ? WHERE name = ?",
                    (seconds, name),
                )
                if name == HEARTBEAT:  # its value is when it was written, too
                    db.execute(
                        "UPDATE metric_gauges SET value = value - ? WHERE name = ?",
                        (seconds, name),
                    )

        return Backend(sqlite_store, ["--db", str(path)], age_row)
    client: redis.Redis = request.getfixturevalue("redis_client")
    server: LocalRedis = request.getfixturevalue("redis_server")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    redis_store = RedisMetrics(client, prefix=prefix)

    def age_field(name: str, seconds: float) -> None:
        if name == HEARTBEAT:  # a sorted set timed by the server's clock
            beats = f"{prefix}metrics:heartbeats"
            for worker, at in client.zrange(beats, 0, -1, withscores=True):
                client.zadd(beats, {worker: at - seconds})
            return
        times = f"{prefix}metrics:gauge_times"
        for field, at in client.hgetall(times).items():
            if field.startswith(f"{name} "):
                client.hset(times, field, repr(float(at) - seconds))

    return Backend(redis_store, ["--redis", server.url, "--prefix", prefix], age_field)


def test_what_several_processes_record_adds_up(backend: Backend) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.metrics_writer", *backend.args, "--count", "150",
             "--writer", f"w{i}"],
            cwd=REPO,
        )
        for i in range(3)
    ]  # fmt: skip
    assert all(writer.wait(timeout=120) == 0 for writer in writers)
    (counter,) = backend.store.counters()
    assert (counter.name, counter.labels, counter.value) == ("writes", {"kind": "test"}, 450)
    (histogram,) = backend.store.histograms()
    # 0.5, 1.5, 2.5, 3.5 in turn: ≤ 1 one in four, ≤ 2 two in four, ≤ 5 all.
    assert histogram.bounds == BOUNDS
    assert histogram.buckets == (114, 228, 450)
    assert (histogram.count, histogram.sum) == (
        450,
        pytest.approx(3 * (38 * 0.5 + 38 * 1.5 + 37 * 2.5 + 37 * 3.5)),
    )
    gauges = {g.labels["writer"]: g.value for g in backend.store.gauges()}
    assert gauges == {"w0": 149, "w1": 149, "w2": 149}


def test_labels_are_one_set_whatever_their_order(backend: Backend) -> None:
    backend.store.increment("retries", {"site": "a", "cause": "network"})
    backend.store.increment("retries", {"cause": "network", "site": "a"}, 2.5)
    backend.store.increment("retries", {"cause": "network", "site": "b"})
    totals = {c.labels["site"]: c.value for c in backend.store.counters()}
    assert totals == {"a": 3.5, "b": 1}


def test_a_gauge_keeps_its_last_value_and_when_it_was_set(backend: Backend) -> None:
    before = time.time()
    backend.store.set_gauge("credits", {"provider": "segmind"}, 812)
    backend.store.set_gauge("credits", {"provider": "segmind"}, 790.5)
    (gauge,) = backend.store.gauges()
    assert (gauge.name, gauge.labels, gauge.value) == ("credits", {"provider": "segmind"}, 790.5)
    assert gauge.updated_at >= before


def test_a_histogram_with_new_bounds_starts_again(backend: Backend) -> None:
    backend.store.observe("run", {}, 3.0, (1, 5))
    backend.store.observe("run", {}, 7.0, (1, 5))
    (old,) = backend.store.histograms()
    assert (old.buckets, old.count, old.sum) == ((0, 1), 2, 10.0)
    backend.store.observe("run", {}, 0.5, (1, 2, 5))
    (new,) = backend.store.histograms()
    assert (new.bounds, new.buckets, new.count, new.sum) == ((1, 2, 5), (1, 1, 1), 1, 0.5)


def test_a_worker_silent_for_a_day_is_forgotten(backend: Backend) -> None:
    backend.store.heartbeat("host:1")
    backend.age(HEARTBEAT, HEARTBEAT_KEEP_SECONDS + 60)
    backend.store.set_gauge("credits", {"provider": "segmind"}, 5)
    backend.age("credits", HEARTBEAT_KEEP_SECONDS + 60)  # other gauges stay, however old
    backend.store.heartbeat("host:2")
    assert [beat.worker for beat in backend.store.heartbeats()] == ["host:2"]
    assert [gauge.name for gauge in backend.store.gauges() if gauge.name != HEARTBEAT] == [
        "credits"
    ]


def test_a_worker_counts_alive_until_its_heartbeat_is_half_a_minute_old(
    backend: Backend,
) -> None:
    backend.store.heartbeat("host:1")
    backend.store.heartbeat("host:2")
    backend.age(HEARTBEAT, WORKER_ALIVE_SECONDS / 2)
    backend.store.heartbeat("host:3")
    assert [beat.worker for beat in alive(backend.store.heartbeats())] == [
        "host:1",
        "host:2",
        "host:3",
    ]
    backend.age(HEARTBEAT, WORKER_ALIVE_SECONDS / 2 + 1)
    (beat,) = alive(backend.store.heartbeats())
    assert beat.worker == "host:3"
    assert beat.age == pytest.approx(WORKER_ALIVE_SECONDS / 2 + 1, abs=5)
