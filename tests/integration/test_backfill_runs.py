"""Backfill runs on the real WordPress: start, pause, resume, cancel, restart, dry run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind, JobScript, image_bytes
from devenv.wordpress import LocalWordPress
from tests.signing import signed

pytestmark = pytest.mark.wordpress


@dataclass
class Backfills:
    """The bridge's backfill endpoints, called as the plugin calls them (signed)."""

    http: httpx.Client
    secret: str
    site_url: str

    def call(self, method: str, path: str, payload: Any = b"") -> httpx.Response:
        body, headers = signed(self.secret, payload)
        return self.http.request(method, path, content=body, headers=headers)

    def start(self, **data: Any) -> dict[str, Any]:
        payload = {
            "type": "backfill.start",
            "timestamp": "2026-11-25T10:00:00+00:00",
            "data": {"site_url": self.site_url, "post_types": ["post"], **data},
        }
        response = self.call("POST", "/backfills", payload)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def get(self, run_id: str) -> dict[str, Any]:
        response = self.call("GET", f"/backfills/{run_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def act(self, run_id: str, action: str) -> dict[str, Any]:
        response = self.call("POST", f"/backfills/{run_id}/{action}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def wait(self, run_id: str, until: Any, timeout: float = 120.0) -> dict[str, Any]:
        """Polls the run until ``until(run)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get(run_id)
            if until(run):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} never got there: {run}")
            time.sleep(0.2)

    def wait_done(self, run_id: str) -> dict[str, Any]:
        return self.wait(run_id, lambda run: run["state"] in ("done", "cancelled"))


def backfills_of(site: LocalWordPress, bridge: BridgeProcesses) -> Iterator[Backfills]:
    with httpx.Client(base_url=bridge.url, timeout=30) as http:
        yield Backfills(http, str(site.plugin_settings()["secret"]), site.url)


@pytest.fixture
def local_backfills(site: LocalWordPress, use_local: BridgeProcesses) -> Iterator[Backfills]:
    yield from backfills_of(site, use_local)


@pytest.fixture
def segmind_backfills(
    site: LocalWordPress, use_segmind: FakeSegmind, segmind_bridge: BridgeProcesses
) -> Iterator[Backfills]:
    yield from backfills_of(site, segmind_bridge)


def posts_without_images(
    site: LocalWordPress, editor: EditorSession, count: int, **fields: Any
) -> list[int]:
    """Publishes posts while the plugin is off, so no job starts for them."""
    site.update_plugin_settings(enabled=False)
    try:
        return [
            editor.create_post(f"Old post {n} from the archive", f"Story number {n}.", **fields)
            for n in range(count)
        ]
    finally:
        site.update_plugin_settings(enabled=True)


def illustrated(editor: EditorSession, post_ids: list[int]) -> list[int]:
    return [post_id for post_id in post_ids if editor.post(post_id).featured_media]


def untouched(editor: EditorSession, post_ids: list[int]) -> list[int]:
    """Posts with no image and no trace of the bridge."""
    views = [editor.post(post_id) for post_id in post_ids]
    return [view.id for view in views if not view.featured_media and not view.generation]


def test_a_run_gives_every_post_without_an_image_one(
    site: LocalWordPress, editor: EditorSession, local_backfills: Backfills
) -> None:
    mine = posts_without_images(site, editor, 30)
    run = local_backfills.start(limit=30)
    assert (run["state"], run["total"], run["remaining"]) == ("running", 30, 30)
    run = local_backfills.wait_done(run["id"])
    assert (run["state"], run["done"], run["failed"], run["remaining"]) == ("done", 30, 0, 0)
    assert illustrated(editor, mine) == mine
    view = editor.post(mine[0])
    assert view.generation == "done" and view.meta["_fib_attachment_id"] == view.featured_media


def test_a_dry_run_counts_and_changes_nothing(
    site: LocalWordPress, editor: EditorSession, local_backfills: Backfills
) -> None:
    mine = posts_without_images(site, editor, 3)
    preview = local_backfills.start(limit=3, dry_run=True)
    assert (preview["posts"], preview["generations"]) == (3, 3)
    assert {post["post_id"] for post in preview["sample"]} == set(mine)
    # Everything the bridge queues runs in order: a publish after the dry run is a barrier.
    barrier = editor.create_post("Barrier after a dry run", "Its image comes after all else.")
    assert editor.wait_for(barrier).generation == "done"
    assert untouched(editor, mine) == mine


def test_opted_out_and_illustrated_posts_are_left_alone(
    site: LocalWordPress, editor: EditorSession, local_backfills: Backfills
) -> None:
    site.update_plugin_settings(enabled=False)
    try:
        image = editor.upload_image(_jpeg(), "chosen.jpg", "image/jpeg")
        chosen = editor.create_post("A post with a chosen image", featured_media=image)
        opted_out = editor.create_post("A post that wants no image", meta={"_fib_skip": True})
    finally:
        site.update_plugin_settings(enabled=True)
    mine = posts_without_images(site, editor, 2)
    run = local_backfills.start(limit=2)
    assert run["total"] == 2
    run = local_backfills.wait_done(run["id"])
    assert (run["state"], run["done"]) == ("done", 2)
    assert illustrated(editor, mine) == mine
    assert untouched(editor, [opted_out]) == [opted_out]
    kept = editor.post(chosen)
    assert kept.featured_media == image and not kept.generation


def settled(run: dict[str, Any]) -> bool:
    """Nothing of the run is in the queue or generating."""
    return run["under_way"] == 0


def test_pause_stops_new_generations_and_resume_finishes(
    site: LocalWordPress,
    editor: EditorSession,
    use_segmind: FakeSegmind,
    segmind_backfills: Backfills,
) -> None:
    use_segmind.queue_jobs(*[JobScript(processing_s=1.0) for _ in range(8)])
    mine = posts_without_images(site, editor, 8)
    run = segmind_backfills.start(limit=8)
    assert segmind_backfills.act(run["id"], "pause")["state"] == "paused"
    # What was queued before the pause finishes; then nothing more starts.
    run = segmind_backfills.wait(run["id"], settled)
    started = len(use_segmind.submissions)
    assert 0 < started < 8
    assert (run["state"], run["done"], run["remaining"]) == ("paused", started, 8 - started)
    barrier = editor.create_post("Barrier while paused", "Runs after the run's queued jobs.")
    assert editor.wait_for(barrier).generation == "done"
    assert len(use_segmind.submissions) == started + 1
    assert len(untouched(editor, mine)) == 8 - started

    assert segmind_backfills.act(run["id"], "resume")["state"] == "running"
    run = segmind_backfills.wait_done(run["id"])
    assert (run["state"], run["done"], run["remaining"]) == ("done", 8, 0)
    assert len(use_segmind.submissions) == 8 + 1
    assert illustrated(editor, mine) == mine


def test_cancel_leaves_the_posts_not_yet_started_untouched(
    site: LocalWordPress,
    editor: EditorSession,
    use_segmind: FakeSegmind,
    segmind_backfills: Backfills,
) -> None:
    use_segmind.queue_jobs(*[JobScript(processing_s=1.0) for _ in range(10)])
    mine = posts_without_images(site, editor, 10)
    run = segmind_backfills.start(limit=10)
    cancelled = segmind_backfills.act(run["id"], "cancel")
    assert cancelled["state"] == "cancelled" and cancelled["cancelled"] > 0
    run = segmind_backfills.wait(run["id"], settled)
    started = len(use_segmind.submissions)
    assert (run["done"], run["failed"], run["cancelled"]) == (started, 0, 10 - started)
    barrier = editor.create_post("Barrier after a cancel", "Runs after the run's queued jobs.")
    assert editor.wait_for(barrier).generation == "done"
    assert len(use_segmind.submissions) == started + 1
    assert len(illustrated(editor, mine)) == started
    assert len(untouched(editor, mine)) == 10 - started
    refused = segmind_backfills.call("POST", f"/backfills/{run['id']}/resume")
    assert refused.status_code == 409 and refused.json()["error"] == "run_finished"


def test_a_run_survives_a_restart_of_the_bridge(
    site: LocalWordPress,
    editor: EditorSession,
    use_segmind: FakeSegmind,
    segmind_bridge: BridgeProcesses,
    segmind_backfills: Backfills,
) -> None:
    use_segmind.queue_jobs(*[JobScript(processing_s=0.5) for _ in range(12)])
    mine = posts_without_images(site, editor, 12)
    run = segmind_backfills.start(limit=12)
    segmind_backfills.wait(run["id"], lambda r: r["done"] >= 2)
    segmind_bridge.stop()
    segmind_bridge.start()
    run = segmind_backfills.wait_done(run["id"])
    assert (run["state"], run["done"], run["failed"]) == ("done", 12, 0)
    assert illustrated(editor, mine) == mine


def test_the_command_runs_a_backfill_and_ctrl_c_leaves_it_running(
    site: LocalWordPress,
    editor: EditorSession,
    use_local: BridgeProcesses,
    local_backfills: Backfills,
) -> None:
    first = posts_without_images(site, editor, 3)
    done = _bridge(use_local, "backfill", "--limit", "3")
    assert done.returncode == 0, done.stderr
    assert "3 done, 0 failed" in done.stdout
    assert illustrated(editor, first) == first

    second = posts_without_images(site, editor, 3)
    dry = _bridge(use_local, "backfill", "--dry-run", "--limit", "3")
    assert dry.returncode == 0 and "3 posts have no featured image" in dry.stdout
    assert untouched(editor, second) == second

    use_local.kill("worker")  # the run cannot end before Ctrl-C reaches the command
    watching = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "backfill", "--limit", "3"],
        env=use_local.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watching.stdout is not None
    line = ""
    while not line.startswith("Backfill run "):
        line = watching.stdout.readline()
        assert line, "the command ended before it started a run"
    run_id = line.split()[2].rstrip(":")
    watching.send_signal(signal.SIGINT)
    out, _ = watching.communicate(timeout=30)
    assert watching.returncode == 130
    assert f"bridge backfill --pause {run_id}" in out
    assert local_backfills.get(run_id)["state"] == "running"
    use_local.start_role("worker")
    run = local_backfills.wait_done(run_id)
    assert (run["state"], run["done"]) == ("done", 3)
    status = _bridge(use_local, "backfill", "--status", run_id)
    assert status.returncode == 0 and "done; 3 posts: 3 done" in status.stdout


def _bridge(bridge: BridgeProcesses, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env=bridge.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _jpeg() -> bytes:
    return image_bytes("JPEG")
