"""Posts published while the plugin sent nothing get their images from the reconciliation."""

from __future__ import annotations

import pytest

from devenv.chaos import Tally, count, settle
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind
from devenv.wordpress import LocalWordPress
from tests.reliability.conftest import BridgeFactory

pytestmark = pytest.mark.wordpress


def test_reconciliation_fills_posts_the_plugin_never_sent(
    site: LocalWordPress,
    start_bridge: BridgeFactory,
    segmind: FakeSegmind,
    editor: EditorSession,
    report: list[Tally],
) -> None:
    site.reset()  # only this test's posts (and WordPress's sample post) lack an image
    site.update_plugin_settings(enabled=False)
    posts = [editor.create_post(f"Published with the plugin off {i}") for i in range(3)]
    missing = editor.call(
        "GET",
        "/wp/v2/posts",
        params={"status": "publish", "per_page": 100, "_fields": "id,featured_media"},
    )
    without_image = [int(p["id"]) for p in missing if not p["featured_media"]]
    assert set(posts) <= set(without_image)

    start_bridge(BRIDGE_RECONCILE_INTERVAL="1")
    views = settle(editor, without_image, timeout=90, poke=lambda: None)

    tally = Tally("reconciliation (posts published with the plugin off)")
    count(tally, editor, views, len(segmind.submissions))
    tally.notes = "BRIDGE_RECONCILE_INTERVAL=1"
    report.append(tally)
    assert (tally.lost, tally.duplicates, tally.failed_reported) == (0, 0, 0), tally.row()
    assert tally.featured == len(without_image)
    assert tally.submissions == len(without_image), "reconciliation made a job twice"
