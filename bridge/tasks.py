"""The job queue (huey): the web side enqueues job ids, the worker runs them.

The queue carries only job ids; the job record (``bridge.jobs``) holds the state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from huey import SqliteHuey, crontab
from huey.exceptions import RetryTask

from bridge.backfill import Feeder, RunStore
from bridge.config import Settings
from bridge.jobs import JobStore
from bridge.leases import LeaseKeeper, Leases, new_owner
from bridge.pipeline import Pipeline, RetryLater, RetryPolicy
from bridge.providers import create_provider
from bridge.sqlite import NormalSyncConnection
from bridge.wordpress import create_wordpress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobQueue:
    """The huey instance, the task that runs one job and the backfill feeder."""

    huey: SqliteHuey
    run_job: Any  # huey's TaskWrapper: calling it enqueues
    feeder: Callable[[], Feeder]

    def enqueue(self, job_id: str) -> None:
        self.run_job(job_id)

    def queued_job_ids(self) -> set[str]:
        """The job ids waiting in the queue or scheduled for a retry (not those running)."""
        tasks = [*self.huey.pending(), *self.huey.scheduled()]
        return {str(task.args[0]) for task in tasks if task.name == "run_job" and task.args}


def create_queue(settings: Settings, *, immediate: bool = False) -> JobQueue:
    """Builds the queue. Both the web side and the worker call this; only the worker runs
    tasks, building its pipeline the first time one arrives.

    A task first takes the job's lease: a job another live worker runs, or one that has ended,
    is left alone, so a job queued twice (by the sweep) still runs once at a time.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    huey = SqliteHuey(
        name="featured-image-bridge",
        filename=str(settings.queue_db),
        results=False,
        immediate=immediate,
        # The queue only wakes the worker; a lost entry is queued again by the sweep, so its
        # commits need not wait for the disk (WAL with NORMAL: safe from corruption).
        factory=NormalSyncConnection,
    )
    pipeline = _lazy(lambda: build_pipeline(settings))
    feeder = _lazy(
        lambda: Feeder(
            RunStore(JobStore(settings.jobs_db)), queue.enqueue, settings.backfill_window
        )
    )

    JobStore(settings.jobs_db)  # creates the job record (with its lease columns) if needed
    leases = Leases(settings.jobs_db)
    keeper = LeaseKeeper(leases, settings.lease_seconds)

    def run_job(job_id: str) -> None:
        owner = new_owner()
        if not leases.claim(job_id, owner, settings.lease_seconds):
            log.info("job %s: already running elsewhere or finished; skipped", job_id)
            return
        with keeper.hold(owner):
            try:
                pipeline().run(job_id)
            except RetryLater as later:
                leases.release(job_id, owner, wait=later.delay + settings.lease_seconds)
                raise RetryTask(str(later), delay=later.delay) from None
        feeder().after_job(job_id)

    def feed_backfills() -> None:
        """The safety net: a run keeps going even if a feed after a job was missed."""
        feeder().feed()

    task: Any = huey.task(name="run_job")
    periodic: Any = huey.periodic_task(crontab(), name="feed_backfills")
    periodic(feed_backfills)
    queue: JobQueue = JobQueue(huey=huey, run_job=task(run_job), feeder=feeder)
    return queue


def build_pipeline(settings: Settings) -> Pipeline:
    """The worker's pipeline with its provider and WordPress client."""
    return Pipeline(
        store=JobStore(settings.jobs_db),
        provider=create_provider(settings),
        wordpress=create_wordpress(settings),
        images_dir=settings.images_dir,
        retry=RetryPolicy(attempts=settings.job_retries + 1, base_delay=settings.retry_delay),
    )


_T = TypeVar("_T")


def _lazy(factory: Callable[[], _T]) -> Callable[[], _T]:
    lock = threading.Lock()
    made: list[_T] = []

    def get() -> _T:
        with lock:
            if not made:
                made.append(factory())
            return made[0]

    return get
