"""The one place that turns settings into storage: the job record, its leases, the queue, the
backfill runs, the provider-key gate and the metrics. Nothing else asks which backend is
configured.

- SQLite (default): files in ``BRIDGE_DATA_DIR``; web and workers on one machine.
- Redis (``BRIDGE_REDIS_URL``): one Redis shared by web and worker processes on any number
  of machines: job record, leases, queue, backfill runs, the provider-key gate, the figures
  of ``/metrics`` and the workers' heartbeats. Only images between download and upload stay
  in each process's local ``BRIDGE_DATA_DIR`` (a job resumed elsewhere downloads again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from typing import Protocol

import redis
from huey import Huey, PriorityRedisHuey, SqliteHuey

from bridge.backfill import Runs, RunStore
from bridge.config import Settings, redacted_url
from bridge.events import Metrics, metrics_store
from bridge.gate import Gate, SqliteGate
from bridge.jobs import JobStore
from bridge.leases import Leases
from bridge.nudged_queue import NudgedSqliteStorage
from bridge.redis_gate import redis_gate
from bridge.redis_leases import RedisLeases
from bridge.redis_metrics import redis_metrics
from bridge.redis_runs import redis_run_store
from bridge.redis_store import RedisJobStore, connect
from bridge.sqlite import NormalSyncConnection
from bridge.storage import JobRecords, LeaseStore

log = logging.getLogger(__name__)
QUEUE_NAME = "featured-image-bridge"


class Backend(Protocol):
    """Builds the stores of one backend; each call makes a new object over the same data."""

    name: str

    def job_store(self, *, create_sync: str = "FULL") -> JobRecords:
        """``create_sync``: how SQLite commits a new job (``bridge.sqlite.SYNCHRONOUS``)."""
        ...

    def leases(self) -> LeaseStore: ...

    def huey(self, *, immediate: bool = False) -> Huey: ...

    def run_store(self, jobs: JobRecords) -> Runs:
        """The backfill runs beside ``jobs``, a job store of this backend (TypeError if not)."""
        ...

    def gate(self, jobs: JobRecords, on_slot_free: Callable[[str], None] | None) -> Gate:
        """The provider-key gate every worker sharing this backend's data goes through."""
        ...

    def metrics(self) -> Metrics:
        """The figures of ``/metrics`` and the workers' heartbeats, which every process
        sharing this backend's data records into and reads."""
        ...


class SqliteBackend:
    """Job record, leases, queue, runs and metrics in SQLite files in the data directory."""

    name = "sqlite"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def job_store(self, *, create_sync: str = "FULL") -> JobStore:
        return JobStore(self.settings.jobs_db, create_sync=create_sync)

    def leases(self) -> Leases:
        return Leases(self.settings.jobs_db)

    def huey(self, *, immediate: bool = False) -> Huey:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(
            name=QUEUE_NAME,
            filename=str(self.settings.queue_db),
            results=False,
            immediate=immediate,
            storage_class=NudgedSqliteStorage,  # a task queued here wakes an idle worker
            # The queue only wakes the worker; a lost entry is queued again by the sweep, so
            # its commits need not wait for the disk (WAL with NORMAL: safe from corruption).
            factory=NormalSyncConnection,
        )

    def run_store(self, jobs: JobRecords) -> Runs:
        if not isinstance(jobs, JobStore):
            raise TypeError(f"the SQLite backend keeps no runs beside a {type(jobs).__name__}")
        return RunStore(jobs)

    def gate(self, jobs: JobRecords, on_slot_free: Callable[[str], None] | None) -> Gate:
        return SqliteGate(self.settings.jobs_db, on_slot_free=on_slot_free)

    def metrics(self) -> Metrics:
        return metrics_store(self.settings.jobs_db)


class RedisBackend:
    """Job record, leases, queue, runs, gate and metrics in the Redis at
    ``settings.redis_url``."""

    name = "redis"

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.url = url

    @cached_property
    def client(self) -> redis.Redis:
        """One connection pool per backend (redis-py makes a fresh one after a fork)."""
        log.info(
            "jobs, leases, queue, gate, runs and metrics in Redis at %s", redacted_url(self.url)
        )
        return connect(self.url)

    def job_store(self, *, create_sync: str = "FULL") -> RedisJobStore:
        """``create_sync`` does not apply: Redis's own ``appendfsync`` says when a write is
        on disk."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return RedisJobStore(self.client)

    def leases(self) -> RedisLeases:
        return RedisLeases(self.client)

    def huey(self, *, immediate: bool = False) -> Huey:
        # Priorities: a due poll goes ahead of new jobs (``bridge.tasks``). huey keeps bytes
        # (pickles), so its pool does not decode; its blocking reads wait at most 1 s.
        pool = redis.ConnectionPool.from_url(
            self.url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30
        )
        return PriorityRedisHuey(
            name=QUEUE_NAME, results=False, immediate=immediate, connection_pool=pool
        )

    def run_store(self, jobs: JobRecords) -> Runs:
        if not isinstance(jobs, RedisJobStore):
            raise TypeError(f"the Redis backend keeps no runs beside a {type(jobs).__name__}")
        return redis_run_store(jobs)

    def gate(self, jobs: JobRecords, on_slot_free: Callable[[str], None] | None) -> Gate:
        return redis_gate(self.client, store=jobs, on_slot_free=on_slot_free)

    def metrics(self) -> Metrics:
        return redis_metrics(self.client)


def create_backend(settings: Settings) -> Backend:
    """The backend ``settings`` name: Redis when ``BRIDGE_REDIS_URL`` is set, else SQLite."""
    if settings.redis_url:
        return RedisBackend(settings, settings.redis_url)
    return SqliteBackend(settings)
