"""Benchmark 2: how late the bridge notices that Segmind finished, and how many polls it spends.

The Segmind fake runs jobs whose run times spread like Segmind's (lognormal, median 35 s,
σ 0.35), with time scaled down. The bridge's own ``SegmindProvider`` runs each job one step at
a time, as the worker does: a few threads take the steps, and the worker's ``PollTimer`` hands
a job back to them when its next poll is due. The provider's clock and the timer's delays are
scaled by the same factor, so it behaves as it would with real run times. The same run times
go through each polling schedule. The fake records when each job finished, when a poll first
saw it finished, and how many polls it got.
"""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.report import Result
from bench.stack import Stack
from bench.stats import mean, percentile
from bridge.config import Settings
from bridge.download import ImageDownloader
from bridge.poll_timer import PollTimer
from bridge.providers import poll_schedule
from bridge.providers.base import PollLater, Prompt, ProviderError
from bridge.providers.segmind import (
    LearnedSchedule,
    SegmindClient,
    SegmindProvider,
)
from devenv.segmind_fake import FakeSegmind, JobScript, LognormalRunTimes

SEED_INTERVAL = 7.0  # the first version's fixed poll interval, in seconds


WORKER_THREADS = 4  # threads polling at once (the first default BRIDGE_WORKERS)


@dataclass
class _MemoryCheckpoint:
    reference: str | None = None
    progress: str | None = None

    def load(self) -> str | None:
        return self.reference

    def save(self, reference: str) -> None:
        self.reference, self.progress = reference, None

    def load_progress(self) -> str | None:
        return self.progress

    def save_progress(self, progress: str) -> None:
        self.progress = progress

    def finished(self) -> None:
        pass


@dataclass(frozen=True)
class _Clock:
    """Time as the provider sees it: real time divided by ``scale``."""

    scale: float

    def now(self) -> float:
        return time.monotonic() / self.scale


@dataclass
class _Worker:
    """Takes each job's steps on a few threads, as ``bridge worker`` does, keeping
    ``concurrent`` jobs under way; a job waiting on Segmind sits in the poll timer."""

    provider: SegmindProvider
    jobs: int
    concurrent: int
    scale: float
    prompt: Prompt = Prompt("Benchmark", "", "Title: Benchmark\n\nDescription: \n")
    failures: list[str] = field(default_factory=list)

    def run(self) -> None:
        checkpoints = [_MemoryCheckpoint() for _ in range(self.jobs)]
        ended = threading.Semaphore(0)
        started = 0
        with ThreadPoolExecutor(WORKER_THREADS) as pool:

            def step(job: int) -> None:
                try:
                    self.provider.generate(self.prompt, checkpoints[job])
                except PollLater as later:
                    timer.add(str(job), later.delay * self.scale)
                    return
                except ProviderError as exc:
                    self.failures.append(exc.message)
                ended.release()

            def wake(job: str) -> None:
                pool.submit(step, int(job))

            timer = PollTimer(wake)
            for _ in range(min(self.concurrent, self.jobs)):
                pool.submit(step, started)
                started += 1
            for _ in range(self.jobs):
                ended.acquire()
                if started < self.jobs:
                    pool.submit(step, started)
                    started += 1
            timer.stop()


ProviderFactory = Callable[[SegmindClient, _Clock], SegmindProvider]


def fixed(interval: float) -> ProviderFactory:
    def make(client: SegmindClient, clock: _Clock) -> SegmindProvider:
        return SegmindProvider(client, poll_interval=interval, clock=clock.now)

    return make


def learned(dense_interval: float) -> ProviderFactory:
    """A provider with its own :class:`LearnedSchedule`, shared by all the arm's jobs."""

    def make(client: SegmindClient, clock: _Clock) -> SegmindProvider:
        schedule = LearnedSchedule(dense_interval=dense_interval, sparse_interval=SEED_INTERVAL)
        return SegmindProvider(
            client, poll_interval=SEED_INTERVAL, schedule=schedule, clock=clock.now
        )

    return make


def bridge_default(client: SegmindClient, clock: _Clock) -> SegmindProvider:
    """The provider as ``bridge.providers.create_provider`` builds it from default settings
    (its poll budget on the bench's clock)."""
    settings = Settings.from_env(
        {
            "BRIDGE_WEBHOOK_SECRET": "whsec_" + "A" * 44,
            "WP_URL": "http://127.0.0.1:9",
            "WP_USER": "bench",
            "WP_APP_PASSWORD": "bench",
        }
    )
    return SegmindProvider(
        client,
        poll_interval=settings.poll_interval,
        deadline=settings.provider_deadline,
        schedule=poll_schedule(settings, clock=clock.now),
        clock=clock.now,
    )


@dataclass(frozen=True)
class Scenario:
    """Run times: the wait in Segmind's queue plus the run itself, both lognormal."""

    name: str
    queue: LognormalRunTimes | None
    run: LognormalRunTimes

    def draw(self, jobs: int, seed: int) -> list[tuple[float, float]]:
        rng = random.Random(seed)
        return [
            (self.queue.draw(rng) if self.queue else 0.0, self.run.draw(rng)) for _ in range(jobs)
        ]


IN_THE_RUN = Scenario("spread in the run", None, LognormalRunTimes(median=35.0, sigma=0.35))
IN_THE_QUEUE = Scenario(
    "spread in the queue",
    LognormalRunTimes(median=22.0, sigma=0.5),
    LognormalRunTimes(median=12.0, sigma=0.1),
)


@dataclass(frozen=True)
class ArmFigures:
    p50: float  # detection delay, unscaled seconds
    p90: float
    polls: float  # mean polls per job


def run_arm(
    fake: FakeSegmind,
    runs: list[tuple[float, float]],
    warmup: list[tuple[float, float]],
    factory: ProviderFactory,
    scale: float,
    concurrent: int,
) -> ArmFigures:
    """Runs one job per (queue, run) time, ``concurrent`` at a time, through one provider
    from ``factory`` (a worker's threads share one provider), after ``warmup`` jobs that it
    may learn from and that are not counted."""
    with SegmindClient(
        fake.api_key,
        fake.workflow_url,
        downloader=ImageDownloader(allow=(ipaddress.ip_network("127.0.0.1/32"),)),
    ) as client:
        provider = factory(client, _Clock(scale))
        for batch in (warmup, runs):
            fake.reset()
            fake.queue_jobs(
                *(JobScript(queued_s=q * scale, processing_s=t * scale) for q, t in batch)
            )
            worker = _Worker(provider, len(batch), concurrent, scale)
            worker.run()
            if worker.failures:
                raise RuntimeError(f"jobs failed: {worker.failures[:3]}")
    records = fake.records()
    delays = [r.detection_delay / scale for r in records if r.detection_delay is not None]
    return ArmFigures(
        p50=percentile(delays, 50),
        p90=percentile(delays, 90),
        polls=mean([float(r.polls) for r in records]),
    )


SEED = f"seed: fixed {SEED_INTERVAL:g} s"
DEFAULT = "bridge: as configured by default"


def run(stack: Stack, quick: bool) -> Result:
    jobs, warm, scale, concurrent = (8, 0, 0.02, 8) if quick else (100, 40, 0.05, 20)
    result = Result(
        "detection",
        "2. Detection delay (Segmind fake, lognormal run times)",
        "p50 ≤ 1.0 s with polls/job ≤ the fixed 7 s schedule's",
    )
    plans: list[tuple[Scenario, list[tuple[str, ProviderFactory]]]] = [
        (IN_THE_RUN, [(SEED, fixed(SEED_INTERVAL)), (DEFAULT, bridge_default)])
    ]
    if not quick:
        plans[0][1].extend(
            [("fixed 2 s", fixed(2.0))]
            + [(f"learned, dense {d:g} s", learned(d)) for d in (1.5, 2.0)]
        )
        plans.append(
            (
                IN_THE_QUEUE,
                [(SEED, fixed(SEED_INTERVAL)), (DEFAULT, bridge_default)]
                + [(f"learned, dense {d:g} s", learned(d)) for d in (1.5, 2.0)],
            )
        )
    result.add("jobs per schedule (after warm-up jobs to learn from)", f"{jobs} ({warm})")
    result.add("time scale", scale, "×{:g}")
    result.add("jobs running at once", concurrent, "{}")
    with FakeSegmind(default_job=JobScript(queued_s=0.0)) as fake:
        for number, (scenario, arms) in enumerate(plans):
            runs = scenario.draw(jobs, seed=5 + number)
            warmup = scenario.draw(warm, seed=50 + number)
            order = list(arms)
            random.Random(3).shuffle(order)
            figures = {
                name: run_arm(fake, runs, warmup, factory, scale, concurrent)
                for name, factory in order
            }
            for name, _ in arms:
                arm = figures[name]
                result.add(
                    f"{scenario.name}: {name}: delay p50 / p90 (s), polls/job",
                    f"{arm.p50:.2f} / {arm.p90:.2f}, {arm.polls:.1f}",
                )
            seed, ours = figures[SEED], figures[DEFAULT]
            prefix = "" if scenario is IN_THE_RUN else f"{scenario.name}: "
            result.add(f"{prefix}bridge p50 delay / seed p50 delay", ours.p50 / seed.p50, "{:.2f}")
            result.add(
                f"{prefix}bridge polls/job ÷ seed polls/job", ours.polls / seed.polls, "{:.2f}"
            )
    result.notes.append(
        "Delays are unscaled seconds (measured ÷ scale). A poll's HTTP round trip is scaled up "
        "with them (1 ms real counts as 20 ms at ×0.05), so small delays read slightly high."
    )
    result.notes.append(
        "Spread in the run: no wait in Segmind's queue, run times lognormal (median 35 s, "
        "σ 0.35). Spread in the queue: a queue wait (median 22 s, σ 0.5) then a steady run "
        "(median 12 s, σ 0.1); the totals spread alike (median ≈ 34 s). The fake reports "
        "QUEUED until a job's run starts, then PROCESSING."
    )
    result.notes.append(
        "The bridge's default is the learned schedule with SEGMIND_POLL_DENSE_INTERVAL=auto: "
        "its dense interval moves until requests get as many polls as polling every "
        "SEGMIND_POLL_INTERVAL (7 s) would spend on the same runs. Learned schedules start "
        "from a lognormal prior (median 35 s, σ 0.35) and learn from the runs they see, here "
        "after warm-up jobs; each arm's jobs share one schedule, as a worker's threads share "
        "one provider."
    )
    result.notes.append(
        "Polls are timed by the worker's PollTimer, as in the bridge; there the due poll "
        "wakes an idle worker thread at once (benchmark 3 measures the whole path)."
    )
    return result
