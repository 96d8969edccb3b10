"""Scale out on Redis: two web processes and three workers, each with its own data directory,
share one Redis and one WordPress. Every post gets exactly one image, Segmind is paid once per
post, a worker SIGKILLed with jobs in flight loses nothing (its leases run out and the other
workers' sweeps resume its jobs), the provider key's limits hold across all workers, and
either web process's ``/metrics`` reports what every worker recorded."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from devenv.bridge_process import BridgeProcesses
from devenv.chaos import Tally, attachments_of, count, most_at_once, settle
from devenv.posts import EditorSession
from devenv.redis_server import LocalRedis
from devenv.segmind_fake import FakeSegmind, JobScript
from devenv.wordpress import LocalWordPress
from tests.integration.conftest import bridge_env

pytestmark = pytest.mark.wordpress

POSTS = 12
WORKERS = 3


@pytest.fixture
def fleet_segmind() -> Iterator[FakeSegmind]:
    """Runs of 4 s, so a kill once every request is recorded still finds jobs in flight (on a
    busy machine the first polls of twelve requests take a while)."""
    with FakeSegmind(default_job=JobScript(queued_s=0.2, processing_s=4.0)) as fake:
        yield fake


Fleet = tuple[list[BridgeProcesses], list[BridgeProcesses]]


@pytest.fixture
def start_fleet(
    site: LocalWordPress, redis_server: LocalRedis, tmp_path: Path
) -> Iterator[Callable[..., Fleet]]:
    """Starts two web and three worker processes on one (emptied) Redis, against ``fake``;
    ``settings`` override the environment."""
    started: list[BridgeProcesses] = []

    def start(fake: FakeSegmind, **settings: str) -> Fleet:
        redis.Redis.from_url(redis_server.url).flushdb()
        env = bridge_env(
            site,
            BRIDGE_REDIS_URL=redis_server.url,
            SEGMIND_API_KEY=fake.api_key,
            SEGMIND_WORKFLOW_URL=fake.workflow_url,
            SEGMIND_POLL_SCHEDULE="fixed",
            SEGMIND_POLL_INTERVAL="0.1",
            SEGMIND_DEADLINE="60",
            BRIDGE_DOWNLOAD_ALLOW="127.0.0.1/32",
            BRIDGE_JOB_RETRIES="10",
            BRIDGE_LEASE_SECONDS="3",
            BRIDGE_SWEEP_INTERVAL="0.25",
            **settings,
        )
        webs = [BridgeProcesses(env, tmp_path / f"web-{n}") for n in range(2)]
        workers = [BridgeProcesses(env, tmp_path / f"worker-{n}") for n in range(WORKERS)]
        started.extend((*webs, *workers))
        for web in webs:
            web.start(roles=("web",))
        for worker in workers:
            worker.data_dir.mkdir(parents=True)
            worker.start_role("worker")
        return webs, workers

    try:
        yield start
    finally:
        for bridge in started:
            bridge.stop()


_JOB_IN_LOG = re.compile(r"job=([0-9a-f]{32})")


def _busiest(workers: list[BridgeProcesses], client: redis.Redis) -> BridgeProcesses:
    """The worker whose log names the most jobs that have not ended yet."""

    def open_jobs(worker: BridgeProcesses) -> int:
        seen = set(_JOB_IN_LOG.findall((worker.data_dir / "worker.log").read_text()))
        states = [client.hget(f"fib:job:{job_id}", "state") for job_id in seen]
        return sum(state not in (b"done", b"failed") for state in states)

    return max(workers, key=open_jobs)


def test_a_fleet_on_redis_gives_each_post_one_image_through_a_worker_kill(
    site: LocalWordPress,
    fleet_segmind: FakeSegmind,
    start_fleet: Callable[..., Fleet],
    editor: EditorSession,
    redis_server: LocalRedis,
) -> None:
    # The gate is shared through Redis too; here it lets every job through at once, so all
    # posts are in flight when the worker dies.
    webs, workers = start_fleet(fleet_segmind, SEGMIND_MAX_CONCURRENCY="0")
    posts = []
    for n in range(POSTS):  # a load balancer in front of the two web processes, by hand
        site.update_plugin_settings(bridge_url=webs[n % 2].url, enabled=True)
        posts.append(editor.create_post(f"Fleet post {n}", excerpt=f"Post {n} of the fleet."))
    # Every request polled once: the bridge recorded all twelve (a kill between Segmind's
    # answer and that record is the one window no provider without idempotency keys closes).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        records = fleet_segmind.records()
        if len(records) >= POSTS and all(r.polls > 0 for r in records):
            break
        time.sleep(0.02)
    victim = _busiest(workers, redis.Redis.from_url(redis_server.url))
    victim.kill("worker", signal.SIGKILL)  # its jobs are waiting on their provider runs
    views = settle(editor, posts, timeout=90, poke=lambda: None)

    tally = Tally("Redis fleet: 2 web, 3 workers, one SIGKILLed")
    count(tally, editor, views, len(fleet_segmind.submissions))
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert tally.featured == POSTS
    assert all(attachments_of(editor, post_id) == 1 for post_id in posts)
    assert tally.submissions == POSTS, "a provider request was paid twice"
    survivors = "".join((w.data_dir / "worker.log").read_text() for w in workers if w is not victim)
    assert "stalled" in survivors, "the killed worker held no job: the kill proved nothing"
    for bridge in (*webs, *workers):
        assert not (bridge.data_dir / "queue.sqlite3").exists()


def test_a_fleet_on_redis_keeps_the_provider_keys_limits_across_workers(
    site: LocalWordPress, start_fleet: Callable[..., Fleet], editor: EditorSession
) -> None:
    posts_count = 8
    with FakeSegmind(
        default_job=JobScript(queued_s=0.0, processing_s=0.4), concurrency=2, rate_limit=(3, 1.0)
    ) as limited:
        webs, _ = start_fleet(
            limited, SEGMIND_MAX_CONCURRENCY="2", SEGMIND_RATE_LIMIT="3/1s", BRIDGE_WORKERS="4"
        )
        posts = []
        for n in range(posts_count):
            site.update_plugin_settings(bridge_url=webs[n % 2].url, enabled=True)
            posts.append(editor.create_post(f"Limited post {n}"))
        views = settle(editor, posts, timeout=120, poke=lambda: None)

        tally = Tally("Redis fleet: provider limits C = 2, 3/s across 3 workers of 4 threads")
        count(tally, editor, views, len(limited.submissions))
        assert (tally.lost, tally.duplicates, tally.featured) == (0, 0, posts_count), tally.row()
        assert tally.submissions == posts_count
        assert limited.rate_limited == 0, "the workers together went past the rate limit"
        records = limited.records()
        assert most_at_once([(r.submitted, r.finished) for r in records]) <= 2
        assert all(r.started == r.submitted for r in records), "a run queued behind the cap"

        # Each run was timed by whichever worker saw it finish; both web processes (other
        # data directories) report all of them, the credits and the three live workers.
        for web in webs:
            figures = scrape(web)
            runs = metric("bridge_provider_run_seconds_count", site=site.url, provider="segmind")
            assert figures[runs] == posts_count
            assert figures[metric("bridge_workers_alive")] == 3
            assert figures[metric("bridge_provider_remaining_credits", provider="segmind")] > 0


Metric = tuple[str, frozenset[tuple[str, str]]]


def metric(name: str, **labels: str) -> Metric:
    return name, frozenset(labels.items())


def scrape(web: BridgeProcesses) -> dict[Metric, float]:
    """Every sample of a web process's ``/metrics``, as Prometheus parses it."""
    response = httpx.get(f"{web.url}/metrics", timeout=10)
    assert response.status_code == 200
    return {
        metric(sample.name, **sample.labels): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
