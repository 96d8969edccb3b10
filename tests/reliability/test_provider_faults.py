"""Each class of provider fault: passing ones are retried and paid once, final ones are
reported to the editor (or, with the title card fallback on, a failed run gives the post a
title card); no post is left without a final status. (406, no credits, pauses the key
instead: tests/reliability/test_provider_gate.py.)"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devenv.chaos import Maintenance, Tally, WorkerKiller, count, settle
from devenv.posts import EditorSession
from devenv.segmind_fake import DROP, FakeSegmind, JobScript
from devenv.wordpress import LocalWordPress
from tests.reliability.conftest import BridgeFactory

pytestmark = pytest.mark.wordpress

POSTS = 3


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[FakeSegmind], None]
    final: bool  # the job fails (and says why) instead of being retried
    paid: bool  # the provider accepted (and charged) each post's request
    shown: str = ""  # in the editor's message when final
    fallback: bool = False  # the site's "use a title card" setting is on
    deadline: str = "60"  # SEGMIND_DEADLINE, seconds


FAULTS = [
    Fault(
        "429 with Retry-After",
        lambda fake: fake.fail_next_submit(429, times=POSTS, headers={"Retry-After": "1"}),
        final=False,
        paid=True,
    ),
    Fault(
        "5xx with an HTML body (submit 502, poll 500)",
        lambda fake: (fake.fail_next_submit(502, times=POSTS), fake.fail_next_poll(500, times=2)),
        final=False,
        paid=True,
    ),
    Fault(
        "connection dropped (submit and poll)",
        lambda fake: (fake.fail_next_submit(DROP, times=2), fake.fail_next_poll(DROP, times=2)),
        final=False,
        paid=True,
    ),
    Fault(
        "401 bad key",
        lambda fake: fake.fail_next_submit(401, times=POSTS),
        final=True,
        paid=False,
        shown="key",
    ),
    Fault(
        "FAILED run",
        lambda fake: fake.queue_jobs(*[JobScript(outcome="failed")] * POSTS),
        final=True,
        paid=True,
        shown="Flux model crashed",
    ),
    Fault(
        "FAILED run, title card fallback on",
        lambda fake: fake.queue_jobs(*[JobScript(outcome="failed")] * POSTS),
        final=False,
        paid=True,
        shown="Flux model crashed; a title card was used instead.",
        fallback=True,
    ),
    Fault(
        "run past its deadline, title card fallback on",
        lambda fake: fake.queue_jobs(*[JobScript(processing_s=4)] * POSTS),
        final=False,
        paid=True,
        shown="Segmind gave no result after 1 s",
        fallback=True,
        deadline="1",
    ),
    Fault(
        "401 bad key, title card fallback on",
        lambda fake: fake.fail_next_submit(401, times=POSTS),
        final=True,
        paid=False,
        shown="key",
        fallback=True,
    ),
]

FALLBACK_NOTE = "a title card was used instead"


@pytest.fixture
def fallback_setting(site: LocalWordPress) -> Iterator[Callable[[bool], None]]:
    """Turns the site's title card fallback on or off; off again after the test."""
    yield lambda on: site.update_plugin_settings(fallback_title_card=on)
    site.update_plugin_settings(fallback_title_card=False)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_provider_fault(
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    report: list[Tally],
    fault: Fault,
    fallback_setting: Callable[[bool], None],
) -> None:
    fallback_setting(fault.fallback)
    start_bridge(SEGMIND_DEADLINE=fault.deadline)
    fault.inject(segmind)
    posts = [editor.create_post(f"{fault.name}: post {i}") for i in range(POSTS)]
    views = settle(editor, posts, timeout=90, poke=lambda: None)

    tally = Tally(f"provider: {fault.name}")
    count(tally, editor, views, len(segmind.submissions))
    if fault.final:
        tally.notes = "reported as failed, as expected"
    else:
        tally.notes = "title cards, with the reason" if fault.fallback else "retried"
    report.append(tally)
    assert (tally.lost, tally.duplicates) == (0, 0), tally.row()
    assert tally.submissions == (POSTS if fault.paid else 0)
    if fault.final:
        assert (tally.failed_reported, tally.featured) == (POSTS, 0), tally.row()
        messages = [view.message for view in views.values()]
        assert all(fault.shown.lower() in m.lower() for m in messages), messages
    else:
        assert (tally.failed_reported, tally.featured) == (0, POSTS), tally.row()
    messages = [view.message for view in views.values()]
    assert all((FALLBACK_NOTE in m) is (fault.fallback and not fault.final) for m in messages)
    if fault.fallback and not fault.final:
        assert all(fault.shown in m for m in messages), messages


def _falling_back(jobs_db: Path) -> bool:
    """Whether a running job has its title card kept and not yet uploaded."""
    if not jobs_db.exists():
        return False
    db = sqlite3.connect(f"file:{jobs_db}?mode=ro", uri=True, timeout=5)
    try:
        row = db.execute(
            "SELECT 1 FROM jobs WHERE state IN ('generating', 'uploading') "
            "AND error_kind = 'failed' AND image_path IS NOT NULL AND attachment_id IS NULL"
        ).fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
    return row is not None


def test_a_kill_during_the_fallback_uploads_the_title_card_once(
    site: LocalWordPress,
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    report: list[Tally],
    fallback_setting: Callable[[bool], None],
) -> None:
    """WordPress in maintenance holds the job with its title card drawn but not uploaded;
    the worker dies there. The resumed job uploads it with the note and asks nothing of
    Segmind again."""
    fallback_setting(True)
    bridge = start_bridge()
    killer = WorkerKiller(bridge, random.Random(0))
    # A run long enough to put WordPress in maintenance once the job reports "generating".
    segmind.queue_jobs(JobScript(outcome="failed", failure="Flux model crashed", processing_s=2))
    maintenance = Maintenance(site)
    post_id = editor.create_post("Killed while falling back")
    editor.wait_for(post_id, states=("generating",), timeout=30)
    maintenance.on()
    try:
        deadline = time.monotonic() + 30
        while not _falling_back(bridge.data_dir / "jobs.sqlite3"):
            assert time.monotonic() < deadline, "no job reached the fallback"
            time.sleep(0.02)
        killer.kill_now()
    finally:
        maintenance.off()
    views = settle(editor, [post_id], timeout=60, poke=lambda: None)
    tally = Tally("worker SIGKILL during the title card fallback (WordPress in maintenance)")
    count(tally, editor, views, len(segmind.submissions))
    tally.notes = f"polls of the failed run: {segmind.polls}"
    report.append(tally)
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert (tally.featured, tally.submissions) == (1, 1)
    assert views[post_id].message == (
        "Segmind could not generate the image: Flux model crashed; " + FALLBACK_NOTE + "."
    )
