"""Figures the worker and the web side record for ``GET /metrics``, kept in the job database.

Web and worker are separate processes (several of each), so no process keeps its own counts:
each writes here and the scrape reads the sum. The tables stay small whatever the traffic:
one row per metric and label set (labels come from closed sets: sites, error kinds, refusal
codes, histogram families), and worker heartbeats older than a day are dropped.

- ``metric_counters``: monotonic totals (retries by cause, refused requests by reason).
- ``metric_gauges``: last values (remaining provider credits, worker heartbeats).
- ``metric_histograms``: cumulative bucket counts, sum and count (provider run time,
  detection delay), the same shape Prometheus exposes.

With ``BRIDGE_REDIS_URL`` the same figures live in Redis instead (``bridge.redis_metrics``), so
processes on several machines add up; the backend (``bridge.backends``) says which.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from bridge.sqlite import connect

Labels = Mapping[str, str]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS metric_counters ("
    " name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL,"
    " PRIMARY KEY (name, labels))",
    "CREATE TABLE IF NOT EXISTS metric_gauges ("
    " name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL, updated_at REAL NOT NULL,"
    " PRIMARY KEY (name, labels))",
    "CREATE TABLE IF NOT EXISTS metric_histograms ("
    " name TEXT NOT NULL, labels TEXT NOT NULL, bounds TEXT NOT NULL, buckets TEXT NOT NULL,"
    " sum REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (name, labels))",
)
HEARTBEAT = "worker_heartbeat"
HEARTBEAT_KEEP_SECONDS = 86400.0
HEARTBEAT_INTERVAL = 10.0
"""How often a worker writes its heartbeat (``bridge worker``)."""
WORKER_ALIVE_SECONDS = 30.0
"""A worker whose last heartbeat is older than this counts as gone."""


@dataclass(frozen=True)
class Counter:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Gauge:
    name: str
    labels: dict[str, str]
    value: float
    updated_at: float


@dataclass(frozen=True)
class Histogram:
    name: str
    labels: dict[str, str]
    bounds: tuple[float, ...]
    buckets: tuple[int, ...]
    """Cumulative counts: ``buckets[i]`` observations were ``<= bounds[i]``."""
    sum: float
    count: int


@dataclass(frozen=True)
class Heartbeat:
    """A worker's last heartbeat: when (Unix time, for display) and how long ago, measured
    by the clock of the store, so workers on machines whose clocks differ compare fairly."""

    worker: str
    at: float
    age: float


def alive(beats: Sequence[Heartbeat]) -> list[Heartbeat]:
    """The workers whose last heartbeat is at most :data:`WORKER_ALIVE_SECONDS` old."""
    return [beat for beat in beats if beat.age <= WORKER_ALIVE_SECONDS]


class Metrics(Protocol):
    """What every process writes and ``GET /metrics`` reads: :class:`MetricsStore` in the
    job database, or ``bridge.redis_metrics.RedisMetrics`` in a Redis shared by machines."""

    def increment(self, name: str, labels: Labels, amount: float = 1.0) -> None: ...

    def set_gauge(self, name: str, labels: Labels, value: float) -> None: ...

    def observe(self, name: str, labels: Labels, value: float, bounds: Sequence[float]) -> None:
        """Adds one observation to a histogram whose upper bounds are ``bounds`` (ascending);
        a histogram recorded with other bounds before starts again from zero."""
        ...

    def heartbeat(self, worker: str) -> None:
        """Notes that ``worker`` is alive now, and forgets workers silent for a day."""
        ...

    def heartbeats(self) -> list[Heartbeat]:
        """The last heartbeat of every worker heard from in the last day."""
        ...

    def counters(self) -> list[Counter]: ...

    def gauges(self) -> list[Gauge]: ...

    def histograms(self) -> Iterator[Histogram]: ...


class MetricsStore:
    """The metric tables of one job database; cheap to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection that does not wait for the disk on commit: in WAL mode a crash can
        lose the last few figures, never corrupt them, and a job never waits on an fsync
        for a metric."""
        with connect(self.path) as db:
            db.execute("PRAGMA synchronous=NORMAL")
            yield db

    def increment(self, name: str, labels: Labels, amount: float = 1.0) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO metric_counters (name, labels, value) VALUES (?, ?, ?) "
                "ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value",
                (name, _key(labels), amount),
            )

    def set_gauge(self, name: str, labels: Labels, value: float) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO metric_gauges (name, labels, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name, labels) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (name, _key(labels), value, time.time()),
            )

    def observe(self, name: str, labels: Labels, value: float, bounds: Sequence[float]) -> None:
        """Adds one observation to a histogram whose upper bounds are ``bounds`` (ascending)."""
        key = _key(labels)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT bounds, buckets, sum, count FROM metric_histograms "
                    "WHERE name = ? AND labels = ?",
                    (name, key),
                ).fetchone()
                same_bounds = row is not None and json.loads(row["bounds"]) == list(bounds)
                buckets = json.loads(row["buckets"]) if same_bounds else [0] * len(bounds)
                total, count = (row["sum"], row["count"]) if same_bounds else (0.0, 0)
                for index, bound in enumerate(bounds):
                    if value <= bound:
                        buckets[index] += 1
                db.execute(
                    "INSERT OR REPLACE INTO metric_histograms "
                    "(name, labels, bounds, buckets, sum, count) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        key,
                        json.dumps(list(bounds)),
                        json.dumps(buckets),
                        total + value,
                        count + 1,
                    ),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def heartbeat(self, worker: str) -> None:
        """Notes that ``worker`` is alive now, and forgets workers silent for a day."""
        self.set_gauge(HEARTBEAT, {"worker": worker}, time.time())
        with self._connect() as db:
            db.execute(
                "DELETE FROM metric_gauges WHERE name = ? AND updated_at < ?",
                (HEARTBEAT, time.time() - HEARTBEAT_KEEP_SECONDS),
            )

    def heartbeats(self) -> list[Heartbeat]:
        now = time.time()
        return [
            Heartbeat(g.labels.get("worker", ""), g.value, now - g.value)
            for g in self.gauges()
            if g.name == HEARTBEAT
        ]

    def counters(self) -> list[Counter]:
        with self._connect() as db:
            rows = db.execute("SELECT name, labels, value FROM metric_counters ORDER BY name")
            return [Counter(r["name"], json.loads(r["labels"]), r["value"]) for r in rows]

    def gauges(self) -> list[Gauge]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT name, labels, value, updated_at FROM metric_gauges ORDER BY name"
            )
            return [
                Gauge(r["name"], json.loads(r["labels"]), r["value"], r["updated_at"]) for r in rows
            ]

    def histograms(self) -> Iterator[Histogram]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT name, labels, bounds, buckets, sum, count FROM metric_histograms "
                "ORDER BY name"
            ).fetchall()
        for r in rows:
            yield Histogram(
                r["name"],
                json.loads(r["labels"]),
                tuple(json.loads(r["bounds"])),
                tuple(json.loads(r["buckets"])),
                r["sum"],
                r["count"],
            )


def _key(labels: Labels) -> str:
    """The canonical text of a label set (the table's key)."""
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


@cache
def metrics_store(path: Path) -> MetricsStore:
    """The process's store for ``path`` (its tables are created once)."""
    return MetricsStore(path)
