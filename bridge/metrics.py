"""The figures of ``GET /metrics``, computed at scrape time from the shared job database.

Nothing is counted in the web process: job counts come from the job record, and what only the
worker sees (retries, provider run times, detection delays, credits, heartbeats) from the
metric tables it writes (``bridge.events``). So any web process answers the same figures,
however many web and worker processes share the database. The route is in
``bridge.metrics_api``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bridge import recorders
from bridge.events import HEARTBEAT, WORKER_ALIVE_SECONDS, metrics_store
from bridge.job_stats import counts_by_site_state, failed_by_site_kind, webhook_jobs_by_site
from bridge.jobs import JobState

QueueCounts = Callable[[], Mapping[str, int]]


class JobStats(Protocol):
    """The job counts of a job record kept outside ``path`` (``bridge.storage.JobRecords``)."""

    def counts_by_site_state(self) -> dict[str, dict[str, int]]: ...

    def failed_by_site_kind(self) -> dict[tuple[str, str], int]: ...

    def webhook_jobs_by_site(self) -> dict[str, int]: ...


class BridgeCollector(Collector):
    """Reads every figure from the job database at ``path`` when collected (the job counts
    from ``jobs``, when the job record is elsewhere: Redis)."""

    def __init__(
        self, path: Path, queue_counts: QueueCounts | None = None, jobs: JobStats | None = None
    ) -> None:
        self.path = path
        self.queue_counts = queue_counts
        self.jobs = jobs

    def collect(self) -> Iterator[Metric]:
        yield from self._jobs()
        if self.queue_counts is not None:
            tasks = GaugeMetricFamily(
                "bridge_queue_tasks",
                "Tasks in the queue: pending (ready to run) or scheduled (a retry's delay).",
                labels=["kind"],
            )
            for kind, count in sorted(self.queue_counts().items()):
                tasks.add_metric([kind], count)
            yield tasks
        yield from self._recorded()

    def _jobs(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily(
            "bridge_jobs", "Jobs in the job record, by site and state.", labels=["site", "state"]
        )
        depth = GaugeMetricFamily(
            "bridge_queue_depth",
            "Jobs queued and not yet started, by site (backfill jobs held back are 'waiting').",
            labels=["site"],
        )
        failed = GaugeMetricFamily(
            "bridge_failed_jobs", "Failed jobs by site and error kind.", labels=["site", "kind"]
        )
        accepted = CounterMetricFamily(
            "bridge_webhooks_accepted",
            "Webhooks accepted: 'created' made a job, 'duplicate' named a job that exists.",
            labels=["site", "outcome"],
        )
        jobs = self.jobs
        counts = jobs.counts_by_site_state() if jobs else counts_by_site_state(self.path)
        for site, states in sorted(counts.items()):
            for state in JobState:
                by_state.add_metric([site, state.value], states.get(state.value, 0))
            depth.add_metric([site], states.get(JobState.QUEUED.value, 0))
        failures = jobs.failed_by_site_kind() if jobs else failed_by_site_kind(self.path)
        for (site, kind), n in sorted(failures.items()):
            failed.add_metric([site, kind], n)
        by_webhook = jobs.webhook_jobs_by_site() if jobs else webhook_jobs_by_site(self.path)
        for site, n in sorted(by_webhook.items()):
            accepted.add_metric([site, "created"], n)
        for counter in metrics_store(self.path).counters():
            if counter.name == recorders.DUPLICATES:
                accepted.add_metric([counter.labels.get("site", ""), "duplicate"], counter.value)
        yield from (by_state, depth, failed, accepted)

    def _recorded(self) -> Iterator[Metric]:
        store = metrics_store(self.path)
        retries = CounterMetricFamily(
            "bridge_job_retries",
            "Job runs put off for a retry, by site and cause (a provider error kind or "
            "'wordpress').",
            labels=["site", "cause"],
        )
        rejected = CounterMetricFamily(
            "bridge_webhooks_rejected",
            "Signed requests refused, by endpoint and reason (the answer's error code).",
            labels=["endpoint", "reason"],
        )
        for counter in store.counters():
            if counter.name == recorders.RETRIES:
                retries.add_metric([counter.labels["site"], counter.labels["cause"]], counter.value)
            elif counter.name == recorders.REJECTED:
                rejected.add_metric(
                    [counter.labels["endpoint"], counter.labels["reason"]], counter.value
                )
        credits = GaugeMetricFamily(
            "bridge_provider_remaining_credits",
            "Credits the provider said remain, in its last answer.",
            labels=["provider"],
        )
        workers = GaugeMetricFamily(
            "bridge_workers_alive",
            f"Worker processes that wrote a heartbeat in the last {WORKER_ALIVE_SECONDS:g} s.",
        )
        alive = 0
        for gauge in store.gauges():
            if gauge.name == recorders.CREDITS:
                credits.add_metric([gauge.labels["provider"]], gauge.value)
            elif gauge.name == HEARTBEAT and gauge.value > time.time() - WORKER_ALIVE_SECONDS:
                alive += 1
        workers.add_metric([], alive)
        yield from (retries, rejected, credits, workers)
        yield from self._histograms()

    def _histograms(self) -> Iterator[Metric]:
        families = {
            recorders.PROVIDER_RUN: HistogramMetricFamily(
                "bridge_provider_run_seconds",
                "Seconds from submitting a generation to having its image (resumed ones not "
                "counted).",
                labels=["site", "provider"],
            ),
            recorders.DETECTION_DELAY: HistogramMetricFamily(
                "bridge_provider_detection_delay_seconds",
                "At most this long passed between a provider run finishing and the bridge "
                "seeing it: the gap between the last poll that found it running and the poll "
                "that found it done.",
                labels=["site"],
            ),
        }
        label_names = {
            recorders.PROVIDER_RUN: ("site", "provider"),
            recorders.DETECTION_DELAY: ("site",),
        }
        for histogram in metrics_store(self.path).histograms():
            family = families.get(histogram.name)
            if family is None:
                continue
            buckets = [
                (_bound(b), float(n))
                for b, n in zip(histogram.bounds, histogram.buckets, strict=True)
            ]
            buckets.append(("+Inf", float(histogram.count)))
            family.add_metric(
                [histogram.labels.get(name, "") for name in label_names[histogram.name]],
                buckets,
                histogram.sum,
            )
        yield from families.values()


def _bound(value: float) -> str:
    """A bucket's ``le`` as Prometheus writes it (``1.0``, ``2.5``)."""
    return repr(float(value))


def render(
    path: Path, queue_counts: QueueCounts | None = None, jobs: JobStats | None = None
) -> bytes:
    """The Prometheus text exposition of every figure."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BridgeCollector(path, queue_counts, jobs))
    return generate_latest(registry)
