"""The figures of ``GET /metrics``, computed at scrape time from the shared job record.

Nothing is counted in the web process: job counts come from the job record, and what only the
worker sees (retries, provider run times, detection delays, credits, heartbeats) from the
metrics it writes (``bridge.events.Metrics``: the job database's tables, or Redis with
``BRIDGE_REDIS_URL``). So any web process answers the same figures, however many web and
worker processes share the backend, on one machine or several. The route is in
``bridge.metrics_api``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
from bridge.events import WORKER_ALIVE_SECONDS, Counter, Metrics, alive
from bridge.jobs import JobState

QueueCounts = Callable[[], Mapping[str, int]]


class JobStats(Protocol):
    """The job counts of a job record (``bridge.storage.JobRecords``)."""

    def counts_by_site_state(self) -> dict[str, dict[str, int]]: ...

    def failed_by_site_kind(self) -> dict[tuple[str, str], int]: ...

    def webhook_jobs_by_site(self) -> dict[str, int]: ...


class BridgeCollector(Collector):
    """Reads every figure when collected: job counts from ``jobs``, the rest from
    ``metrics``."""

    def __init__(
        self, jobs: JobStats, metrics: Metrics, queue_counts: QueueCounts | None = None
    ) -> None:
        self.jobs = jobs
        self.metrics = metrics
        self.queue_counts = queue_counts

    def collect(self) -> Iterator[Metric]:
        counters = self.metrics.counters()
        yield from self._jobs(counters)
        if self.queue_counts is not None:
            tasks = GaugeMetricFamily(
                "bridge_queue_tasks",
                "Tasks in the queue: pending (ready to run) or scheduled (a retry's delay).",
                labels=["kind"],
            )
            for kind, count in sorted(self.queue_counts().items()):
                tasks.add_metric([kind], count)
            yield tasks
        yield from self._recorded(counters)

    def _jobs(self, counters: list[Counter]) -> Iterator[Metric]:
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
        counts = self.jobs.counts_by_site_state()
        for site, states in sorted(counts.items()):
            for state in JobState:
                by_state.add_metric([site, state.value], states.get(state.value, 0))
            depth.add_metric([site], states.get(JobState.QUEUED.value, 0))
        for (site, kind), n in sorted(self.jobs.failed_by_site_kind().items()):
            failed.add_metric([site, kind], n)
        for site, n in sorted(self.jobs.webhook_jobs_by_site().items()):
            accepted.add_metric([site, "created"], n)
        for counter in counters:
            if counter.name == recorders.DUPLICATES:
                accepted.add_metric([counter.labels.get("site", ""), "duplicate"], counter.value)
        yield from (by_state, depth, failed, accepted)

    def _recorded(self, counters: list[Counter]) -> Iterator[Metric]:
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
        for counter in counters:
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
            f"Worker processes that wrote a heartbeat in the last {WORKER_ALIVE_SECONDS:g} s "
            "(with Redis: the whole fleet's).",
        )
        for gauge in self.metrics.gauges():
            if gauge.name == recorders.CREDITS:
                credits.add_metric([gauge.labels["provider"]], gauge.value)
        workers.add_metric([], len(alive(self.metrics.heartbeats())))
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
        for histogram in self.metrics.histograms():
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


def render(jobs: JobStats, metrics: Metrics, queue_counts: QueueCounts | None = None) -> bytes:
    """The Prometheus text exposition of every figure."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BridgeCollector(jobs, metrics, queue_counts))
    return generate_latest(registry)
