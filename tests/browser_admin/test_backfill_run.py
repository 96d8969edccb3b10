"""A backfill run started from Tools → Fill missing featured images, followed to 100 %."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress
from tests.browser_admin.conftest import screenshot

pytestmark = pytest.mark.wordpress

TOOLS = "/wp-admin/tools.php?page=fib-backfill"
POSTS = 30


@pytest.fixture
def thirty_posts(
    site: LocalWordPress, use_local: BridgeProcesses, editor: EditorSession
) -> Iterator[list[int]]:
    """30 published posts without a featured image (published while the trigger was manual)."""
    site.update_plugin_settings(trigger="manual")
    try:
        posts = [
            editor.create_post(f"Field notes, number {n}", excerpt=f"Notes from day {n}.")
            for n in range(1, POSTS + 1)
        ]
    finally:
        site.update_plugin_settings(trigger="publish")
    yield posts
    site.php("delete_option( 'fib_backfill_run' );")


def test_a_run_fills_thirty_posts_and_the_bar_reaches_100(
    thirty_posts: list[int], admin_page: Page, site: LocalWordPress, editor: EditorSession
) -> None:
    page = admin_page
    page.goto(site.url + TOOLS)
    page.click("#fib-dry-run")
    planned = int(page.locator("#fib-dry-run-result").get_attribute("data-posts") or 0)
    assert planned >= POSTS
    page.click("#fib-start")
    expect(page.locator("#fib-backfill-started")).to_be_visible()
    panel = page.locator("#fib-run")
    expect(panel).to_be_visible()
    screenshot(page, "backfill-run-started")

    expect(panel).to_have_attribute("data-state", "done", timeout=120_000)
    expect(page.locator("#fib-run-bar")).to_have_attribute("value", "100")
    expect(page.locator("#fib-run-percent")).to_have_text("100 %")
    expect(page.locator("#fib-run-counts")).to_contain_text(f"0 remaining of {planned}")
    expect(page.locator("#fib-run-pause")).to_be_hidden()
    screenshot(page, "backfill-run-done")

    missing = [post_id for post_id in thirty_posts if not editor.post(post_id).featured_media]
    assert missing == []

    page.reload()
    expect(panel).to_have_attribute("data-state", "done")


@pytest.fixture
def stopped_worker(use_local: BridgeProcesses) -> Iterator[BridgeProcesses]:
    """The bridge without its worker: a run's jobs wait, so the run stays under way."""
    use_local.kill("worker")
    yield use_local
    use_local.start_role("worker")


def test_a_run_can_be_paused_resumed_and_cancelled(
    thirty_posts: list[int], stopped_worker: BridgeProcesses, admin_page: Page, site: LocalWordPress
) -> None:
    page = admin_page
    page.goto(site.url + TOOLS)
    page.click("#fib-dry-run")
    page.click("#fib-start")
    panel = page.locator("#fib-run")
    expect(panel).to_have_attribute("data-state", "running")
    page.click("#fib-run-pause")
    expect(panel).to_have_attribute("data-state", "paused")
    expect(page.locator("#fib-run-pause")).to_be_hidden()
    page.reload()
    expect(panel).to_have_attribute("data-state", "paused")
    screenshot(page, "backfill-run-paused")
    page.click("#fib-dry-run")
    page.click("#fib-start")
    expect(page.locator("#fib-backfill-error")).to_contain_text("A run is under way")
    expect(panel).to_have_attribute("data-state", "paused")
    page.click("#fib-run-resume")
    expect(panel).to_have_attribute("data-state", "running")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#fib-run-cancel")
    expect(panel).to_have_attribute("data-state", "cancelled")
    expect(page.locator("#fib-run-cancel")).to_be_hidden()
    expect(page.locator("#fib-run-resume")).to_be_hidden()
