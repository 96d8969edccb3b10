"""Benchmark 4: backfill throughput against a provider with a concurrency cap and a rate limit.

Posts without a featured image are pushed through the bridge as signed webhooks, all at
once, so only the bridge's provider-key gate (``SEGMIND_MAX_CONCURRENCY`` = C,
``SEGMIND_RATE_LIMIT`` = the fake's limit) keeps the provider within its limits. The Segmind
fake runs at most C jobs at a time (queuing the rest) and answers 429 beyond its rate limit.
Time is scaled down: Segmind's run times (lognormal, median 35 s, σ 0.35) and the bridge's
time settings are multiplied by the same factor.
The figure is the achieved rate over the best the provider allows, min(C / mean run time,
rate limit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.report import Result
from bench.stack import Stack, job_states, job_times, send_webhooks
from bench.stats import mean
from devenv.segmind_fake import FakeSegmind, JobScript, LognormalRunTimes

SCALE = 0.027  # mean run time 37 s → 1.0 s
THREADS_PER_SLOT = 2  # the default BRIDGE_WORKERS (8) over the default cap (4)
POLL_INTERVAL = 1.5


@dataclass(frozen=True)
class Scenario:
    name: str
    concurrency: int
    rate_count: int
    rate_window: float
    posts: int

    @property
    def rate_per_s(self) -> float:
        return self.rate_count / self.rate_window


def _scaled(seconds: float) -> str:
    return f"{seconds * SCALE:.3f}"


def run_scenario(stack: Stack, scenario: Scenario, result: Result) -> None:
    site = stack.site
    post_ids = stack.create_posts(scenario.posts, f"Backfill {scenario.name}")
    spread = LognormalRunTimes(median=35.0, sigma=0.35, scale=SCALE, seed=11)
    with FakeSegmind(
        default_job=JobScript(queued_s=0.0),
        run_times=spread,
        concurrency=scenario.concurrency,
        rate_limit=(scenario.rate_count, scenario.rate_window),
        credits=scenario.posts * 2,
    ) as fake:
        env = stack.bridge_env(
            SEGMIND_API_KEY=fake.api_key,
            SEGMIND_WORKFLOW_URL=fake.workflow_url,
            # More threads than slots, as by default: jobs downloading and uploading to
            # WordPress leave threads to submit with.
            BRIDGE_WORKERS=str(scenario.concurrency * THREADS_PER_SLOT),
            SEGMIND_MAX_CONCURRENCY=str(scenario.concurrency),
            SEGMIND_RATE_LIMIT=f"{scenario.rate_count}/{scenario.rate_window:g}s",
            # The learned schedule's dense interval, as a fixed one: its run-time prior (35 s)
            # is not scaled, so it would wait ~17 scaled runs before its first poll.
            SEGMIND_POLL_INTERVAL=_scaled(POLL_INTERVAL),
            SEGMIND_DEADLINE=_scaled(600.0),
            BRIDGE_RETRY_DELAY=_scaled(10.0),
        )
        with stack.bridge(env) as bridge:
            started = time.time()
            statuses = send_webhooks(bridge.url, stack.secret, site.url, post_ids)
            accepted = sum(1 for status in statuses if status == 202)
            finished = _wait_for_jobs(bridge.data_dir, accepted, timeout=scenario.posts * 2.0)
            times = job_times(bridge.data_dir)
        records = fake.records()
        rate_limited = fake.rate_limited
    done = [updated for _, updated, state in times if state == "done"]
    elapsed = (max(done) - started) if done else float("nan")
    achieved = len(done) / elapsed if done else 0.0
    mean_run = mean([r.finished - r.started for r in records])
    best = min(scenario.concurrency / mean_run, scenario.rate_per_s)
    label = scenario.name
    result.add(f"{label}: posts / webhooks accepted", f"{scenario.posts} / {accepted}")
    result.add(
        f"{label}: C, rate limit, mean run time (s)",
        f"{scenario.concurrency}, {scenario.rate_count} per {scenario.rate_window:g} s, "
        f"{mean_run:.2f}",
    )
    result.add(
        f"{label}: done / failed / unfinished",
        f"{len(done)} / "
        f"{finished.get('failed', 0)} / {accepted - len(done) - finished.get('failed', 0)}",
    )
    result.add(f"{label}: achieved rate (jobs/s)", achieved, "{:.2f}")
    result.add(f"{label}: best the provider allows (jobs/s)", best, "{:.2f}")
    result.add(f"{label}: achieved / best", achieved / best, "{:.2f}")
    # What the gate controls: how close the bridge keeps the provider to its limit, leaving
    # out WordPress's upload and thumbnail work after each run.
    span = max(r.finished for r in records) - min(r.submitted for r in records)
    at_provider = len(records) / span if records and span > 0 else 0.0
    result.add(f"{label}: runs at the provider per second", at_provider, "{:.2f}")
    result.add(f"{label}: at the provider / best", at_provider / best, "{:.2f}")
    result.add(f"{label}: 429s from the rate limit", rate_limited, "{}")
    result.add(f"{label}: provider submissions (credits spent)", len(records), "{}")


def _wait_for_jobs(data_dir: object, count: int, timeout: float) -> dict[str, int]:
    """Waits until ``count`` jobs are done or failed, or nothing moved for 60 s."""
    from pathlib import Path

    assert isinstance(data_dir, Path)
    deadline = time.monotonic() + timeout
    last_progress, last_finished = time.monotonic(), -1
    while True:
        states = job_states(data_dir)
        finished = states.get("done", 0) + states.get("failed", 0)
        if finished >= count or time.monotonic() > deadline:
            return states
        if finished != last_finished:
            last_progress, last_finished = time.monotonic(), finished
        elif time.monotonic() - last_progress > 60:
            return states
        time.sleep(0.2)


def run(stack: Stack, quick: bool) -> Result:
    result = Result(
        "backfill",
        "4. Backfill throughput (signed webhooks, Segmind fake with cap and rate limit)",
        "achieved / min(C / mean run time, rate limit) ≥ 0.95, zero 429s",
    )
    scenarios = [
        Scenario(
            "cap-bound", concurrency=4, rate_count=6, rate_window=1.0, posts=12 if quick else 1000
        ),
        Scenario(
            "rate-bound", concurrency=8, rate_count=3, rate_window=1.0, posts=8 if quick else 50
        ),
    ]
    for scenario in scenarios:
        run_scenario(stack, scenario, result)
    result.notes.append(
        f"Time scaled ×{SCALE}: run times, and the bridge's SEGMIND_POLL_INTERVAL "
        f"({POLL_INTERVAL:g} s, the learned schedule's dense interval), SEGMIND_DEADLINE "
        "(600 s) and BRIDGE_RETRY_DELAY (10 s). SEGMIND_MAX_CONCURRENCY = C, "
        f"SEGMIND_RATE_LIMIT = the fake's limit, BRIDGE_WORKERS = {THREADS_PER_SLOT} × C."
    )
    result.notes.append(
        "Rate = jobs done ÷ (last job done − first webhook sent); includes WordPress's upload "
        "and thumbnail work for each image on this machine. At the provider = runs ÷ (last run "
        "finished − first submission), what the provider-key gate controls."
    )
    return result
