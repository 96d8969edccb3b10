"""The reliability harness: breaks the bridge's surroundings on purpose and counts the damage.

It publishes posts in the real WordPress, lets the real bridge processes handle them against
the Segmind fake, injects a fault (SIGKILLed workers, a bridge that is down, WordPress in
maintenance, provider errors), and tallies what a site owner cares about: images set,
provider submissions paid, duplicate attachments, and posts lost (never finished).
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession, PostView
from devenv.wordpress import LocalWordPress


@dataclass
class Tally:
    """One row of the reliability table."""

    scenario: str
    runs: int = 0
    posts: int = 0
    submissions: int = 0
    featured: int = 0
    failed_reported: int = 0
    duplicates: int = 0
    lost: int = 0
    notes: str = ""

    HEADER = (
        "| scenario | runs | posts | provider submissions | featured images set "
        "| failed (reported) | duplicates | lost | notes |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    )

    def row(self) -> str:
        return (
            f"| {self.scenario} | {self.runs} | {self.posts} | {self.submissions} "
            f"| {self.featured} | {self.failed_reported} | {self.duplicates} | {self.lost} "
            f"| {self.notes} |"
        )


def table(rows: Iterable[Tally]) -> str:
    return "\n".join([Tally.HEADER, *(row.row() for row in rows)]) + "\n"


def is_final(view: PostView) -> bool:
    """Done, or failed with its reason. WordPress saves the status meta one key at a time, so
    a reader can see ``failed`` a moment before the message that goes with it."""
    return view.generation == "done" or (view.generation == "failed" and bool(view.message))


def settle(
    editor: EditorSession, post_ids: Iterable[int], timeout: float, poke: Callable[[], None]
) -> dict[int, PostView]:
    """Waits until every post has a final status (or the timeout); returns their last views.

    ``poke`` runs between rounds (e.g. WordPress's cron, for the plugin's redeliveries).
    """
    pending = list(post_ids)
    views: dict[int, PostView] = {}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        poke()
        for post_id in list(pending):
            views[post_id] = editor.post(post_id)
            if is_final(views[post_id]):
                pending.remove(post_id)
        if pending:
            time.sleep(0.25)
    for post_id in pending:
        views[post_id] = editor.post(post_id)
    return views


def attachments_of(editor: EditorSession, post_id: int) -> int:
    """How many media items are attached to the post."""
    items = editor.call(
        "GET", "/wp/v2/media", params={"parent": post_id, "per_page": 100, "_fields": "id"}
    )
    return len(items)


def count(
    tally: Tally, editor: EditorSession, views: dict[int, PostView], submissions: int
) -> None:
    """Adds one run's outcome to ``tally``."""
    tally.runs += 1
    tally.posts += len(views)
    tally.submissions += submissions
    for post_id, view in views.items():
        if not is_final(view):
            tally.lost += 1
        elif view.generation == "failed":
            tally.failed_reported += 1
        if view.featured_media:
            tally.featured += 1
        tally.duplicates += max(attachments_of(editor, post_id) - 1, 0)


def job_phases(jobs_db: Path) -> Counter[str]:
    """Where the jobs a worker is running are, read from the bridge's job record (a job
    waiting on its provider request between two polls counts as polling)."""
    phases: Counter[str] = Counter()
    if not jobs_db.exists():
        return phases
    db = sqlite3.connect(f"file:{jobs_db}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute(
            "SELECT state, provider_ref, image_path, attachment_id FROM jobs "
            "WHERE state IN ('queued', 'generating', 'uploading') AND (lease_owner IS NOT NULL "
            "OR (state = 'generating' AND provider_ref IS NOT NULL))"
        ).fetchall()
    except sqlite3.OperationalError:
        return phases
    finally:
        db.close()
    for state, ref, image, attachment in rows:
        if attachment:
            phases["after upload"] += 1
        elif state == "uploading":
            phases["during upload"] += 1
        elif image:
            phases["after download"] += 1
        elif ref:
            phases["polling"] += 1
        else:
            phases["before submit"] += 1
    return phases


def retry_notes(jobs_db: Path) -> list[str]:
    """The errors of active jobs that wait to retry (``... (retrying)``)."""
    if not jobs_db.exists():
        return []
    db = sqlite3.connect(f"file:{jobs_db}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute(
            "SELECT error FROM jobs WHERE state IN ('queued', 'generating', 'uploading') "
            "AND error LIKE '%(retrying)'"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()
    return [str(row[0]) for row in rows]


SUBMIT_WINDOW = 0.25
"""Seconds after Segmind accepts a request within which a kill may stop the bridge from
recording it (in practice a few milliseconds; generous under load)."""


def paid_twice(submissions: list[dict[str, Any]], kill_times: list[float]) -> tuple[int, int]:
    """Repeated submissions of the same prompt: ``(explained, unexplained)``.

    A repeat is explained when a worker was killed within :data:`SUBMIT_WINDOW` of Segmind
    accepting the earlier request, i.e. before the bridge could record its ``poll_url``; no
    bridge can know about a request whose answer it never received. Any other repeat is a bug.
    """
    by_prompt: dict[str, list[float]] = {}
    for item in submissions:
        by_prompt.setdefault(json.dumps(item["payload"], sort_keys=True), []).append(
            float(item["received_at"])
        )
    explained = unexplained = 0
    for times in by_prompt.values():
        times.sort()
        for earlier in times[:-1]:
            if any(earlier <= kill <= earlier + SUBMIT_WINDOW for kill in kill_times):
                explained += 1
            else:
                unexplained += 1
    return explained, unexplained


class WorkerKiller:
    """SIGKILLs the bridge worker at random moments and starts a new one at once."""

    def __init__(self, bridge: BridgeProcesses, rng: random.Random) -> None:
        self.bridge = bridge
        self.rng = rng
        self.kills = 0
        self.kill_times: list[float] = []
        self.phases: Counter[str] = Counter()

    def kill_now(self) -> None:
        self.phases.update(job_phases(self.bridge.data_dir / "jobs.sqlite3"))
        self.kill_times.append(time.monotonic())
        self.bridge.kill("worker", signal.SIGKILL)
        self.kills += 1
        self.bridge.start_role("worker")

    def kill_at_random(self, times: int, low: float, high: float) -> None:
        for _ in range(times):
            time.sleep(self.rng.uniform(low, high))
            self.kill_now()

    def kill_in_phase(self, phase: str, timeout: float) -> bool:
        """Kills the worker as soon as some job is in ``phase``; False if none got there."""
        deadline = time.monotonic() + timeout
        jobs_db = self.bridge.data_dir / "jobs.sqlite3"
        while time.monotonic() < deadline:
            if job_phases(jobs_db)[phase]:
                self.kill_now()
                return True
            time.sleep(0.005)
        return False

    def phase_note(self) -> str:
        return ", ".join(f"{name}: {n}" for name, n in sorted(self.phases.items()))


@dataclass
class Maintenance:
    """WordPress's own maintenance mode: every request answers 503 while it is on."""

    site: LocalWordPress
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.path = self.site.docroot / ".maintenance"

    def on(self) -> None:
        self.path.write_text(f"<?php $upgrading = {int(time.time())};\n")

    def off(self) -> None:
        self.path.unlink(missing_ok=True)


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most ``(start, end)`` intervals that overlap at one moment (e.g. provider runs)."""
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most
