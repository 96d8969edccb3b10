"""The bridge or WordPress goes away for a while: every post still gets its image, once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.chaos import Maintenance, Tally, count, job_phases, retry_notes, settle
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind, JobScript
from devenv.wordpress import LocalWordPress
from tests.reliability.conftest import BridgeFactory

pytestmark = pytest.mark.wordpress

FAST_REDELIVERY = """<?php
// Test only: redeliver webhooks a second after each failed try.
add_filter( 'fib_redelivery_delay', static fn() => 1 );
"""


@pytest.fixture
def fast_redelivery(site: LocalWordPress) -> Iterator[None]:
    mu_plugins = site.docroot / "wp-content" / "mu-plugins"
    mu_plugins.mkdir(exist_ok=True)
    path = mu_plugins / "fib-fast-redelivery.php"
    path.write_text(FAST_REDELIVERY)
    yield
    path.unlink()


def _wait_healthy(bridge: BridgeProcesses) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{bridge.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the bridge web process did not come back")


def _run_cron(site: LocalWordPress) -> None:
    httpx.get(f"{site.url}/wp-cron.php", params={"doing_wp_cron": ""}, timeout=30)


def test_posts_published_while_the_bridge_is_down_get_their_images(
    site: LocalWordPress,
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    fast_redelivery: None,
    report: list[Tally],
) -> None:
    bridge = start_bridge()
    bridge.kill("web", signal.SIGTERM)
    posts = [editor.create_post(f"Published while the bridge is down {i}") for i in range(4)]
    waiting = [editor.post(post_id) for post_id in posts]
    bridge.start_role("web")
    _wait_healthy(bridge)
    views = settle(editor, posts, timeout=90, poke=lambda: _run_cron(site))

    tally = Tally("bridge down while posts are published")
    count(tally, editor, views, len(segmind.submissions))
    tally.notes = "plugin redelivers through WP-Cron"
    report.append(tally)
    for view in waiting:
        assert view.generation == "queued"
        assert view.message.startswith("Waiting for the bridge."), view.message
        assert "Could not reach the bridge" in view.message
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert tally.featured == tally.posts
    assert tally.submissions == tally.posts


def test_wordpress_in_maintenance_during_upload_recovers(
    site: LocalWordPress,
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    report: list[Tally],
) -> None:
    segmind.default_job = JobScript(queued_s=0.2, processing_s=1.5)
    bridge = start_bridge()
    maintenance = Maintenance(site)
    jobs_db = bridge.data_dir / "jobs.sqlite3"
    posts = [editor.create_post(f"Uploaded while WordPress is down {i}") for i in range(3)]
    try:
        _wait_for_phase(jobs_db, "polling")
        maintenance.on()  # every request now answers 503, as during a WordPress update
        deadline = time.monotonic() + 30
        while not any(note.startswith("WordPress") for note in retry_notes(jobs_db)):
            assert time.monotonic() < deadline, "no job met WordPress's 503"
            time.sleep(0.05)
    finally:
        maintenance.off()
        segmind.default_job = JobScript(queued_s=0.2, processing_s=0.8)
    views = settle(editor, posts, timeout=90, poke=lambda: None)

    tally = Tally("WordPress answers 503 (maintenance) during upload")
    count(tally, editor, views, len(segmind.submissions))
    tally.notes = "uploads retried with backoff"
    report.append(tally)
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert tally.featured == tally.posts
    assert tally.submissions == tally.posts


def _wait_for_phase(jobs_db: Path, phase: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not job_phases(jobs_db)[phase]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no job reached {phase!r}")
        time.sleep(0.02)
