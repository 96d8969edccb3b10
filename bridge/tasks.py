"""The job queue (huey): the web side enqueues job ids, the worker runs them.

The queue carries only job ids; the job record (``bridge.jobs``) holds the state. A job
waiting on its provider request holds no worker thread: its task ends, and the worker's
poll timer (``bridge.poll_timer``) queues it again when its next poll is due.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from huey import Huey, crontab
from huey.exceptions import RetryTask

from bridge.backends import Backend, create_backend
from bridge.backfill import Feeder
from bridge.config import Settings
from bridge.gate import Hold, Limits, key_id
from bridge.leases import LeaseKeeper, new_owner
from bridge.nudged_queue import NudgedSqliteStorage
from bridge.pipeline import HeldAtGate, Pipeline, RetryLater, RetryPolicy
from bridge.poll_timer import PollTimer
from bridge.provider_metrics import ObservedProvider
from bridge.providers import create_provider
from bridge.providers.base import PollLater, Provider
from bridge.site_pipelines import SitePipelines
from bridge.sites import Site, SiteRegistry
from bridge.storage import JobRecords, LeaseStore
from bridge.task_context import TaskContext
from bridge.wakeups import Wakeups
from bridge.wordpress import create_wordpress

log = logging.getLogger(__name__)
POLL_PRIORITY = 10
"""huey priority of a due poll (new jobs and retries have 0; higher runs first)."""

SHORT_HOLD = 5.0
"""A gate hold up to this many seconds, and every wait for a free slot, is kept by the
process's wake-ups (precise to the millisecond; a slot freed in this process wakes the job
that waited longest at once). A longer wait for a token, credits or the daily cap is a huey
retry. Either way the job's lease covers the wait: if this process dies, the sweep queues the
job again."""


@dataclass(frozen=True)
class JobQueue:
    """The huey instance, the task that runs one job, the backfill feeder, the job record
    and the timer of the jobs waiting on their provider (in a worker), the job leases."""

    huey: Huey
    run_job: Any  # huey's TaskWrapper: calling it enqueues
    feeder: Callable[[], Feeder]
    store: JobRecords
    poll_timer: PollTimer
    leases: LeaseStore

    def enqueue(self, job_id: str) -> None:
        self.run_job(job_id)

    def enqueue_many(self, job_ids: Sequence[str]) -> None:
        """``enqueue`` for each job, in order; with the SQLite queue in one transaction."""
        storage = self.huey.storage
        if self.huey.immediate or not isinstance(storage, NudgedSqliteStorage):
            for job_id in job_ids:
                self.enqueue(job_id)
            return
        tasks = [self.run_job.s(job_id) for job_id in job_ids]
        storage.enqueue_many([(self.huey.serialize_task(t), t.priority or 0) for t in tasks])

    def enqueue_first(self, job_id: str) -> None:
        """Queues the job ahead of those queued with ``enqueue`` (a job whose turn came)."""
        self.run_job(job_id, priority=1)

    def queued_job_ids(self) -> set[str]:
        """The job ids waiting in the queue or scheduled for a retry (not those running)."""
        tasks = [*self.huey.pending(), *self.huey.scheduled()]
        return {str(task.args[0]) for task in tasks if task.name == "run_job" and task.args}


def create_queue(
    settings: Settings,
    *,
    store: JobRecords | None = None,
    immediate: bool = False,
    backend: Backend | None = None,
) -> JobQueue:
    """Builds the queue. Both the web side and the worker call this; only the worker runs
    tasks, building its pipeline the first time one arrives. ``store``: the job record, when
    the caller has opened it already (it is opened, and its schema checked, once).
    ``backend``: where job record, leases, queue, runs and gate live (default: as ``settings`` say).

    A task first takes the job's lease: a job another live worker runs, or one that has ended,
    is left alone, so a job queued twice (by the sweep) still runs once at a time. A job whose
    provider request still runs gives its lease back until its next poll is due (plus the
    lease time as a grace, after which the sweep takes it if this worker died meanwhile); that
    poll does not count as a retry.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    backend = backend or create_backend(settings)
    huey = backend.huey(immediate=immediate)
    jobs = store or backend.job_store()  # creates the job record if needed
    # Logs and metrics know each task's job.
    TaskContext(settings.jobs_db, jobs, metrics=backend.metrics()).install(huey)
    wakeups = Wakeups(lambda job_id: queue.enqueue_first(job_id))
    pipeline = _lazy(
        lambda: site_pipelines(settings, jobs, on_slot_free=wakeups.slot_free, backend=backend)
    )
    feeder = _lazy(lambda: Feeder(backend.run_store(jobs), queue.enqueue, settings.backfill_window))
    leases = backend.leases()
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
            except HeldAtGate as held:
                leases.release(job_id, owner, wait=held.delay + settings.lease_seconds)
                for_slot = held.hold == Hold.CONCURRENCY
                if held.delay > SHORT_HOLD and not for_slot:
                    raise RetryTask(str(held), delay=held.delay) from None
                wakeups.later(job_id, held.key, held.delay, for_slot=for_slot)
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
        huey=huey, run_job=run_task, feeder=feeder, store=jobs, poll_timer=timer, leases=leases
    )
    return queue


def site_pipelines(
    settings: Settings,
    store: JobRecords,
    on_slot_free: Callable[[str], None] | None = None,
    backend: Backend | None = None,
) -> SitePipelines:
    """A pipeline per site (``build_pipeline`` with the site's settings); sites that share a
    provider key share its provider (one client, one poll budget) and, in the gate, its
    limits."""
    providers: dict[str, Provider] = {}

    def build(site: Site) -> Pipeline:
        view = site.settings(settings)
        if site.key_id not in providers:
            providers[site.key_id] = create_provider(view)
        return build_pipeline(
            view, store, on_slot_free, backend=backend, provider=providers[site.key_id]
        )

    return SitePipelines(SiteRegistry.from_settings(settings), store, build)


def build_pipeline(
    settings: Settings,
    store: JobRecords,
    on_slot_free: Callable[[str], None] | None = None,
    *,
    backend: Backend | None = None,
    provider: Provider | None = None,
) -> Pipeline:
    """The worker's pipeline with its provider, WordPress client and provider-key gate
    (``provider``: one made already, else the one ``settings`` name).

    The concurrency cap, rate limit and credits pause apply to Segmind's key; the local
    provider has none of them, but the site's daily cap applies to every provider.
    """
    provider = provider or create_provider(settings)
    limits = Limits(credits_recheck=settings.credits_recheck)
    if provider.name == "segmind":
        limits = Limits(
            max_concurrency=settings.max_concurrency,
            rate=settings.rate_limit,
            credits_recheck=settings.credits_recheck,
            claim_seconds=max(90.0, settings.lease_seconds),
        )
    return Pipeline(
        store=store,
        provider=ObservedProvider(provider),
        wordpress=create_wordpress(settings),
        images_dir=settings.images_dir,
        retry=RetryPolicy(attempts=settings.job_retries + 1, base_delay=settings.retry_delay),
        gate=(backend or create_backend(settings)).gate(store, on_slot_free),
        provider_key=key_id(provider.name, settings.segmind_api_key),
        limits=limits,
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
