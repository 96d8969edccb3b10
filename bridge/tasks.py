"""The job queue (huey): the web side enqueues job ids, the worker runs them.

The queue carries only job ids; the job record (``bridge.jobs``) holds the state. A job
waiting on its provider request holds no worker thread: its task ends, and the worker's
poll timer (``bridge.poll_timer``) queues it again when its next poll is due.
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
from bridge.poll_timer import PollTimer
from bridge.providers import create_provider
from bridge.providers.base import PollLater
from bridge.wordpress import create_wordpress

log = logging.getLogger(__name__)
POLL_PRIORITY = 10
"""huey priority of a due poll (new jobs and retries have 0; higher runs first)."""


@dataclass(frozen=True)
class JobQueue:
    """The huey instance, the task that runs one job, the backfill feeder, the job record
    and the timer of the jobs waiting on their provider (in a worker)."""

    huey: SqliteHuey
    run_job: Any  # huey's TaskWrapper: calling it enqueues
    feeder: Callable[[], Feeder]
    store: JobStore
    poll_timer: PollTimer

    def enqueue(self, job_id: str) -> None:
        self.run_job(job_id)

    def queued_job_ids(self) -> set[str]:
        """The job ids waiting in the queue or scheduled for a retry (not those running)."""
        tasks = [*self.huey.pending(), *self.huey.scheduled()]
        return {str(task.args[0]) for task in tasks if task.name == "run_job" and task.args}


def create_queue(
    settings: Settings, *, store: JobStore | None = None, immediate: bool = False
) -> JobQueue:
    """Builds the queue. Both the web side and the worker call this; only the worker runs
    tasks, building its pipeline the first time one arrives. ``store``: the job record, when
    the caller has opened it already (it is opened, and its schema checked, once).

    A task first takes the job's lease: a job another live worker runs, or one that has ended,
    is left alone, so a job queued twice (by the sweep) still runs once at a time. A job whose
    provider request still runs gives its lease back until its next poll is due (plus the
    lease time as a grace, after which the sweep takes it if this worker died meanwhile); that
    poll does not count as a retry.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    huey = SqliteHuey(
        name="featured-image-bridge",
        filename=str(settings.queue_db),
        results=False,
        immediate=immediate,
    )
    jobs = store or JobStore(settings.jobs_db)  # creates the job record if needed
    pipeline = _lazy(lambda: build_pipeline(settings, jobs))
    feeder = _lazy(lambda: Feeder(RunStore(jobs), queue.enqueue, settings.backfill_window))
    leases = Leases(settings.jobs_db)
    keeper = LeaseKeeper(leases, settings.lease_seconds)

    def run_job(job_id: str, poll: bool = False) -> None:
        owner = new_owner()
        if not leases.claim(job_id, owner, settings.lease_seconds):
            log.info("job %s: already running elsewhere or finished; skipped", job_id)
            return
        with keeper.hold(owner):
            try:
                pipeline().run(job_id, poll=poll)
            except PollLater as later:
                leases.release(job_id, owner, wait=later.delay + settings.lease_seconds)
                timer.add(job_id, later.delay)
                return
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
    run_task = task(run_job)
    # A due poll goes ahead of jobs not yet started: it is short, and a backlog of new jobs
    # must not delay noticing that a paid image is ready.
    timer = PollTimer(lambda job_id: run_task(job_id, poll=True, priority=POLL_PRIORITY))
    queue: JobQueue = JobQueue(
        huey=huey, run_job=run_task, feeder=feeder, store=jobs, poll_timer=timer
    )
    return queue


def build_pipeline(settings: Settings, store: JobStore) -> Pipeline:
    """The worker's pipeline with its provider and WordPress client."""
    return Pipeline(
        store=store,
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
