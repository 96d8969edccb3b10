"""Scale out on Redis: two web processes and three workers, each with its own data directory,
share one Redis and one WordPress. Every post gets exactly one image, Segmind is paid once per
post, and a worker SIGKILLed with jobs in flight loses nothing: its leases run out and the
other workers' sweeps resume its jobs."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devenv.bridge_process import BridgeProcesses
from devenv.chaos import Tally, attachments_of, count, settle
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
    """Runs of 1.5 s, so a kill after every submission still finds jobs in flight."""
    with FakeSegmind(default_job=JobScript(queued_s=0.2, processing_s=1.5)) as fake:
        yield fake


@pytest.fixture
def fleet(
    site: LocalWordPress, fleet_segmind: FakeSegmind, redis_server: LocalRedis, tmp_path: Path
) -> Iterator[tuple[list[BridgeProcesses], list[BridgeProcesses]]]:
    redis.Redis.from_url(redis_server.url).flushdb()
    env = bridge_env(
        site,
        BRIDGE_REDIS_URL=redis_server.url,
        SEGMIND_API_KEY=fleet_segmind.api_key,
        SEGMIND_WORKFLOW_URL=fleet_segmind.workflow_url,
        SEGMIND_POLL_SCHEDULE="fixed",
        SEGMIND_POLL_INTERVAL="0.1",
        SEGMIND_DEADLINE="60",
        SEGMIND_MAX_CONCURRENCY="0",  # no gate is shared across workers on Redis yet
        BRIDGE_DOWNLOAD_ALLOW="127.0.0.1/32",
        BRIDGE_JOB_RETRIES="10",
        BRIDGE_LEASE_SECONDS="3",
        BRIDGE_SWEEP_INTERVAL="0.25",
    )
    webs = [BridgeProcesses(env, tmp_path / f"web-{n}") for n in range(2)]
    workers = [BridgeProcesses(env, tmp_path / f"worker-{n}") for n in range(WORKERS)]
    try:
        for web in webs:
            web.start(roles=("web",))
        for worker in workers:
            worker.data_dir.mkdir(parents=True)
            worker.start_role("worker")
        yield webs, workers
    finally:
        for bridge in (*webs, *workers):
            bridge.stop()


def test_a_fleet_on_redis_gives_each_post_one_image_through_a_worker_kill(
    site: LocalWordPress,
    fleet_segmind: FakeSegmind,
    fleet: tuple[list[BridgeProcesses], list[BridgeProcesses]],
    editor: EditorSession,
) -> None:
    webs, workers = fleet
    posts = []
    for n in range(POSTS):  # a load balancer in front of the two web processes, by hand
        site.update_plugin_settings(bridge_url=webs[n % 2].url, enabled=True)
        posts.append(editor.create_post(f"Fleet post {n}", excerpt=f"Post {n} of the fleet."))
    deadline = time.monotonic() + 60
    while len(fleet_segmind.submissions) < POSTS and time.monotonic() < deadline:
        time.sleep(0.02)
    workers[0].kill("worker", signal.SIGKILL)  # its jobs are waiting on their provider runs
    views = settle(editor, posts, timeout=90, poke=lambda: None)

    tally = Tally("Redis fleet: 2 web, 3 workers, one SIGKILLed")
    count(tally, editor, views, len(fleet_segmind.submissions))
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert tally.featured == POSTS
    assert all(attachments_of(editor, post_id) == 1 for post_id in posts)
    assert tally.submissions == POSTS, "a provider request was paid twice"
    survivors = "".join((w.data_dir / "worker.log").read_text() for w in workers[1:])
    assert "stalled" in survivors, "the killed worker held no job: the kill proved nothing"
    for bridge in (*webs, *workers):
        assert not (bridge.data_dir / "queue.sqlite3").exists()
