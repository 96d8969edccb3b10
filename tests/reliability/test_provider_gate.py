"""The provider-key gate with the real bridge, a real WordPress and the Segmind fake: the
configured limits give zero 429s, no credits pauses the key for every post at once (and the
posts carry on when credits are back), and a site's daily cap holds posts back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devenv.chaos import Tally, count, most_at_once, settle
from devenv.posts import EditorSession, PostView
from devenv.segmind_fake import FakeSegmind, JobScript
from devenv.wordpress import LocalWordPress
from tests.reliability.conftest import BridgeFactory

pytestmark = pytest.mark.wordpress

POSTS = 4


def _wait_for_all(
    editor: EditorSession, posts: list[int], status: str, timeout: float = 60
) -> dict[int, PostView]:
    deadline = time.monotonic() + timeout
    while True:
        views = {post_id: editor.post(post_id) for post_id in posts}
        if all(view.generation == status for view in views.values()):
            return views
        if time.monotonic() > deadline:
            pytest.fail(f"not all {status}: {[v.generation for v in views.values()]}")
        time.sleep(0.2)


@pytest.fixture
def limited() -> Iterator[FakeSegmind]:
    """A Segmind that runs 2 jobs at a time and answers 429 past 3 submissions a second."""
    with FakeSegmind(
        default_job=JobScript(queued_s=0.0, processing_s=0.4), concurrency=2, rate_limit=(3, 1.0)
    ) as fake:
        yield fake


def test_the_configured_limits_give_no_429_and_never_more_than_the_cap(
    start_bridge: BridgeFactory, limited: FakeSegmind, editor: EditorSession, report: list[Tally]
) -> None:
    start_bridge(
        SEGMIND_API_KEY=limited.api_key,
        SEGMIND_WORKFLOW_URL=limited.workflow_url,
        SEGMIND_MAX_CONCURRENCY="2",
        SEGMIND_RATE_LIMIT="3/1s",
        BRIDGE_WORKERS="6",
    )
    posts = [editor.create_post(f"limits: post {i}") for i in range(8)]
    views = settle(editor, posts, timeout=120, poke=lambda: None)

    tally = Tally("provider limits (C = 2, 3/s) configured")
    count(tally, editor, views, len(limited.submissions))
    tally.notes = f"{limited.rate_limited} × 429"
    report.append(tally)
    assert (tally.lost, tally.duplicates, tally.featured) == (0, 0, 8), tally.row()
    assert limited.rate_limited == 0
    assert tally.submissions == 8
    records = limited.records()
    assert most_at_once([(r.submitted, r.finished) for r in records]) <= 2
    assert all(r.started == r.submitted for r in records)  # none queued behind the cap


def test_no_credits_pauses_the_key_for_every_post_until_credits_are_back(
    start_bridge: BridgeFactory, segmind: FakeSegmind, editor: EditorSession, report: list[Tally]
) -> None:
    start_bridge(SEGMIND_CREDITS_RECHECK="1")
    segmind.credits = 0
    started = time.monotonic()
    posts = [editor.create_post(f"no credits: post {i}") for i in range(POSTS)]

    waiting = _wait_for_all(editor, posts, "waiting")
    assert all("Waiting for Segmind credits" in view.message for view in waiting.values())
    time.sleep(4)
    assert editor.post(posts[0]).generation == "waiting"
    # Paused for the key, not per post: after the requests already on their way when the key
    # paused, only one probe asks, 1 s after the pause began, then 2, 4, 8 … s after that.
    elapsed = time.monotonic() - started
    probes = sum(1 for n in range(1, 20) if 2**n - 1 <= elapsed)
    assert segmind.refused_for_credits <= POSTS + probes

    segmind.credits = 100  # the owner buys credits
    views = settle(editor, posts, timeout=90, poke=lambda: None)
    tally = Tally("provider 406: key paused, resumed when credits are back")
    count(tally, editor, views, len(segmind.submissions))
    tally.notes = f"{segmind.refused_for_credits} × 406 in all"
    report.append(tally)
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert (tally.featured, tally.submissions) == (POSTS, POSTS), tally.row()


@pytest.fixture
def daily_cap(site: LocalWordPress) -> Iterator[int]:
    site.update_plugin_settings(daily_cap=2)
    yield 2
    site.update_plugin_settings(daily_cap=0)


def test_past_the_daily_cap_posts_wait_for_the_next_day(
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    daily_cap: int,
    report: list[Tally],
) -> None:
    start_bridge()
    first = [editor.create_post(f"daily cap: post {i}") for i in range(daily_cap)]
    views = settle(editor, first, timeout=60, poke=lambda: None)
    assert all(view.generation == "done" for view in views.values())
    late = editor.create_post("daily cap: one too many")
    (view,) = _wait_for_all(editor, [late], "waiting").values()
    assert "daily cap of 2" in view.message and "00:00 UTC" in view.message
    time.sleep(1)
    assert len(segmind.submissions) == daily_cap
    assert editor.post(late).featured_media == 0

    tally = Tally("daily cap of 2 per site")
    count(tally, editor, {**views, late: view}, len(segmind.submissions))
    tally.lost -= 1  # the waiting post is held on purpose, not lost
    tally.notes = "1 post waiting for 00:00 UTC"
    report.append(tally)
    assert (tally.featured, tally.duplicates, tally.lost) == (daily_cap, 0, 0), tally.row()
