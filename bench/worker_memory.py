"""Benchmark 6: the worker's memory and threads while jobs wait on the provider.

N posts are sent to the bridge at once; the Segmind fake accepts every submission and never
finishes (run time one hour), so every job the worker has started waits on the provider. The
worker's peak RSS (VmHWM) and thread count are read from /proc, with the default
BRIDGE_WORKERS, before the jobs arrive, while they are submitted and once all of them wait.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Result
from bench.stack import Stack, send_webhooks
from devenv.segmind_fake import FakeSegmind, JobScript

POLL_WINDOW = 10.0  # seconds over which the poll rate is measured once every job waits


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


def waiting_and_queued(data_dir: Path) -> tuple[int, int]:
    """Jobs with a provider request under way, and jobs not yet submitted (job record)."""
    path = data_dir / "jobs.sqlite3"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        waiting, queued = db.execute(
            "SELECT COALESCE(SUM(state = 'generating' AND provider_ref IS NOT NULL), 0), "
            "COALESCE(SUM(state = 'queued' OR (state = 'generating' AND provider_ref IS NULL)), 0) "
            "FROM jobs"
        ).fetchone()
    finally:
        db.close()
    return int(waiting), int(queued)


def measure(
    stack: Stack, post_ids: list[int], workers: int | None, result: Result, timeout: float
) -> None:
    site = stack.site
    label = f"BRIDGE_WORKERS={workers or '8 (default)'}"
    with FakeSegmind(
        default_job=JobScript(queued_s=0.0, processing_s=3600.0), credits=len(post_ids) * 2
    ) as fake:
        # No provider cap (it defaults to 4): every job is to wait at the provider.
        env = stack.bridge_env(
            SEGMIND_API_KEY=fake.api_key,
            SEGMIND_WORKFLOW_URL=fake.workflow_url,
            SEGMIND_MAX_CONCURRENCY="0",
        )
        if workers is not None:
            env["BRIDGE_WORKERS"] = str(workers)
        with stack.bridge(env) as bridge:
            pid = bridge.pid("worker")
            time.sleep(1.0)
            idle = read_status(pid)
            started = time.monotonic()
            statuses = send_webhooks(bridge.url, stack.secret, site.url, post_ids)
            most_threads = idle.threads
            deadline = started + timeout
            while fake.stats()["submissions"] < len(post_ids) and time.monotonic() < deadline:
                most_threads = max(most_threads, read_status(pid).threads)
                time.sleep(0.5)
            submitted_in = time.monotonic() - started
            polls_before = fake.stats()["polls"]
            time.sleep(POLL_WINDOW)  # rounds of polls with every job waiting
            poll_rate = (fake.stats()["polls"] - polls_before) / POLL_WINDOW
            loaded = read_status(pid)
            most_threads = max(most_threads, loaded.threads)
            waiting, queued = waiting_and_queued(bridge.data_dir)
    accepted = sum(1 for status in statuses if status == 202)
    result.add(f"{label}: webhooks accepted", f"{accepted} of {len(post_ids)}")
    result.add(f"{label}: jobs waiting on the provider / still queued", f"{waiting} / {queued}")
    result.add(f"{label}: all submitted after (s)", submitted_in, "{:.0f}")
    result.add(
        f"{label}: polls per second once all wait (every 7 s each: {len(post_ids) / 7:.0f})",
        poll_rate,
        "{:.1f}",
    )
    result.add(f"{label}: RSS idle → loaded (MB)", f"{idle.rss_mb:.0f} → {loaded.rss_mb:.0f}")
    result.add(f"{label}: peak RSS (MB)", loaded.peak_mb, "{:.0f}")
    result.add(
        f"{label}: threads idle → loaded (most seen)",
        f"{idle.threads} → {loaded.threads} ({most_threads})",
    )


def run(stack: Stack, quick: bool) -> Result:
    count = 30 if quick else 1000
    result = Result(
        "memory",
        f"6. Worker memory with {count} jobs sent, waiting on the provider",
        "≤ 150 MB; no thread or process held per waiting job",
    )
    post_ids = stack.create_posts(count, "Memory")
    measure(stack, post_ids, None, result, timeout=60 if quick else 600)
    result.notes.append(
        "A job whose Segmind request runs holds no worker thread: its task ends and the "
        "worker's poll timer (one thread) queues it again when its next poll is due (every "
        "7 s by default), so every job reaches the provider whatever BRIDGE_WORKERS is."
    )
    return result
