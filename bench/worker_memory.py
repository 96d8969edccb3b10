"""Benchmark 6: the worker's memory and threads while jobs wait on the provider.

N posts are sent to the bridge at once; the Segmind fake accepts every submission and never
finishes (run time one hour), so every job the worker has started waits on the provider. The
worker's peak RSS (VmHWM) and thread count are read from /proc, with the default
BRIDGE_WORKERS and with the most it allows, before and after the jobs arrive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Result
from bench.stack import Stack, job_states, send_webhooks
from devenv.segmind_fake import FakeSegmind, JobScript

MAX_WORKERS = 64  # the most bridge.config accepts for BRIDGE_WORKERS


@dataclass(frozen=True)
class ProcessFigures:
    rss_mb: float
    peak_mb: float
    threads: int


def read_status(pid: int) -> ProcessFigures:
    fields: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return ProcessFigures(
        rss_mb=int(fields["VmRSS"].split()[0]) / 1024,
        peak_mb=int(fields["VmHWM"].split()[0]) / 1024,
        threads=int(fields["Threads"]),
    )


def measure(stack: Stack, post_ids: list[int], workers: int | None, result: Result) -> None:
    site = stack.site
    label = f"BRIDGE_WORKERS={workers or '4 (default)'}"
    with FakeSegmind(
        default_job=JobScript(queued_s=0.0, processing_s=3600.0), credits=len(post_ids) * 2
    ) as fake:
        env = stack.bridge_env(SEGMIND_API_KEY=fake.api_key, SEGMIND_WORKFLOW_URL=fake.workflow_url)
        if workers is not None:
            env["BRIDGE_WORKERS"] = str(workers)
        with stack.bridge(env) as bridge:
            pid = bridge.pid("worker")
            time.sleep(1.0)
            idle = read_status(pid)
            statuses = send_webhooks(bridge.url, stack.secret, site.url, post_ids)
            expected = min(len(post_ids), workers or 4)
            deadline = time.monotonic() + 120
            while fake.stats()["submissions"] < expected and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2.0)  # let every started job settle into its wait
            loaded = read_status(pid)
            states = job_states(bridge.data_dir)
            waiting = fake.stats()["submissions"]
    accepted = sum(1 for status in statuses if status == 202)
    result.add(f"{label}: webhooks accepted", f"{accepted} of {len(post_ids)}")
    result.add(
        f"{label}: jobs waiting on the provider / still queued",
        f"{waiting} / {states.get('queued', 0)}",
    )
    result.add(f"{label}: RSS idle → loaded (MB)", f"{idle.rss_mb:.0f} → {loaded.rss_mb:.0f}")
    result.add(f"{label}: peak RSS (MB)", loaded.peak_mb, "{:.0f}")
    result.add(f"{label}: threads idle → loaded", f"{idle.threads} → {loaded.threads}")


def run(stack: Stack, quick: bool) -> Result:
    count = 30 if quick else 1000
    result = Result(
        "memory",
        f"6. Worker memory with {count} jobs sent, waiting on the provider",
        "≤ 150 MB; no thread or process held per waiting job",
    )
    post_ids = stack.create_posts(count, "Memory")
    for workers in (None, MAX_WORKERS):
        measure(stack, post_ids, workers, result)
    result.notes.append(
        "A job holds one worker thread for as long as it waits on Segmind (the provider "
        "sleeps between polls), so jobs beyond BRIDGE_WORKERS wait in the queue and never "
        "reach the provider."
    )
    return result
