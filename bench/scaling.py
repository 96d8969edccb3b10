"""Benchmark 7: job throughput with 1, 2 and 4 worker processes sharing one Redis.

One web process and K worker processes (``bridge worker``, each with its own data directory)
share a private redis-server (``BRIDGE_REDIS_URL``). For each K, fresh posts are sent to the
web process as signed webhooks, all at once, and the figure is the rate of jobs done over the
best the Segmind fake allows, min(C / mean run time, rate limit): the fake runs at most C
jobs at a time (queuing the rest) and answers 429 beyond its rate limit. Run times are
Segmind's (lognormal, median 35 s, σ 0.35) scaled down, as in benchmark 4.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import cast

import redis

from bench.report import Result
from bench.stack import Stack, send_webhooks, wait_until
from bench.stats import mean
from bridge.events import alive
from bridge.redis_metrics import RedisMetrics
from devenv.bridge_process import BridgeProcesses
from devenv.redis_server import LocalRedis
from devenv.segmind_fake import FakeSegmind, JobScript, LognormalRunTimes

SCALE = 0.027  # mean run time 37 s → 1.0 s
CONCURRENCY = 6
RATE = (12, 1.0)  # above C / mean run time: the cap binds, as for most Segmind accounts
THREADS = 2  # BRIDGE_WORKERS per process: small, so the processes' number shows
POLL_INTERVAL = 1.5
PROCESSES = (1, 2, 4)


def job_states(client: redis.Redis) -> tuple[dict[str, int], list[float]]:
    """Jobs by state in the Redis job record, and the ``updated_at`` of the done ones."""
    states: dict[str, int] = {}
    done: list[float] = []
    for key in client.scan_iter(match="fib:job:*", count=500):
        state, updated = cast(list[str | None], client.hmget(key, ["state", "updated_at"]))
        name = state or "?"
        states[name] = states.get(name, 0) + 1
        if name == "done" and updated:
            done.append(float(updated))
    return states, done


def workers_alive(client: redis.Redis) -> int:
    """How many workers of the fleet wrote a heartbeat lately (into the shared Redis)."""
    return len(alive(RedisMetrics(client).heartbeats()))


def run_step(stack: Stack, server: LocalRedis, processes: int, posts: int, result: Result) -> float:
    """Sends ``posts`` webhooks to a fleet of ``processes`` workers; returns achieved / best."""
    client = redis.Redis.from_url(server.url, socket_timeout=10, decode_responses=True)
    client.flushdb()
    post_ids = stack.create_posts(posts, f"Scaling {processes}")
    spread = LognormalRunTimes(median=35.0, sigma=0.35, scale=SCALE, seed=7)
    with (
        FakeSegmind(
            default_job=JobScript(queued_s=0.0),
            run_times=spread,
            concurrency=CONCURRENCY,
            rate_limit=RATE,
            credits=posts * 2,
        ) as fake,
        ExitStack() as running,
    ):
        env = stack.bridge_env(
            BRIDGE_REDIS_URL=server.url,
            SEGMIND_API_KEY=fake.api_key,
            SEGMIND_WORKFLOW_URL=fake.workflow_url,
            BRIDGE_WORKERS=str(THREADS),
            SEGMIND_MAX_CONCURRENCY=str(CONCURRENCY),
            SEGMIND_POLL_INTERVAL=f"{POLL_INTERVAL * SCALE:.3f}",
            SEGMIND_DEADLINE=f"{600 * SCALE:.3f}",
            BRIDGE_RETRY_DELAY=f"{10 * SCALE:.3f}",
        )
        web = running.enter_context(stack.bridge(env, roles=("web",)))
        workers: list[BridgeProcesses] = []
        for n in range(processes):
            worker = BridgeProcesses(env, Path(f"{web.data_dir}-worker-{n}"))
            worker.data_dir.mkdir(parents=True, exist_ok=True)
            worker.start_role("worker")
            running.callback(worker.stop)
            workers.append(worker)
        # Timed from when every worker runs (its first heartbeat), not from their imports.
        wait_until(lambda: workers_alive(client) >= processes, timeout=60, interval=0.1)
        started = time.time()
        statuses = send_webhooks(web.url, stack.secret, stack.site.url, post_ids)
        accepted = sum(1 for status in statuses if status == 202)

        def finished() -> bool:
            states, _ = job_states(client)
            return states.get("done", 0) + states.get("failed", 0) >= accepted

        wait_until(finished, timeout=60 + posts * 2.0, interval=0.2)
        states, done = job_states(client)
        records = fake.records()
        rate_limited = fake.rate_limited
    client.close()
    elapsed = (max(done) - started) if done else float("nan")
    achieved = len(done) / elapsed if done else 0.0
    mean_run = mean([r.finished - r.started for r in records]) if records else float("nan")
    best = min(CONCURRENCY / mean_run, RATE[0] / RATE[1])
    label = f"{processes} worker process{'es' if processes > 1 else ''}"
    result.add(
        f"{label}: done / failed / posts",
        f"{len(done)} / {states.get('failed', 0)} / {posts}",
    )
    result.add(f"{label}: achieved (jobs/s)", achieved, "{:.2f}")
    result.add(f"{label}: best the provider allows (jobs/s)", best, "{:.2f}")
    result.add(f"{label}: achieved / best", achieved / best, "{:.2f}")
    result.add(f"{label}: provider submissions / 429s", f"{len(records)} / {rate_limited}")
    return achieved / best


def run(stack: Stack, quick: bool) -> Result:
    result = Result(
        "scaling",
        "7. Scaling out on Redis (1, 2, 4 worker processes, one Redis, Segmind fake with a cap)",
        "achieved / min(C / mean run time, rate limit) grows with the processes up to ~1",
    )
    posts = 8 if quick else 60
    ratios: dict[int, float] = {}
    with LocalRedis(stack.root / "scaling-redis") as server:
        for processes in PROCESSES:
            ratios[processes] = run_step(stack, server, processes, posts, result)
    one = ratios[PROCESSES[0]]
    for processes in PROCESSES[1:]:
        result.add(
            f"{processes} processes / 1 process (throughput)",
            ratios[processes] / one if one else float("nan"),
            "{:.2f}",
        )
    result.add(f"{PROCESSES[-1]} processes: achieved / best", ratios[PROCESSES[-1]], "{:.2f}")
    result.notes.append(
        f"{posts} posts per step, sent at once to one web process; each worker process has "
        f"BRIDGE_WORKERS={THREADS} and its own data directory. The fake runs at most "
        f"C={CONCURRENCY} jobs at once and allows {RATE[0]} submissions per {RATE[1]:g} s; "
        f"run times scaled ×{SCALE} (mean ≈ 1 s), poll interval, deadline and retry delay "
        "with them. SEGMIND_MAX_CONCURRENCY=C holds only where the Redis backend has a "
        "shared gate; without one the fake queues what is beyond C."
    )
    result.notes.append(
        "Rate = jobs done ÷ (last job done − first webhook sent), WordPress's upload and "
        "thumbnail work included; this machine's 2 cores run WordPress, MariaDB, Redis and "
        "every bridge process, so more processes also compete for them."
    )
    return result
