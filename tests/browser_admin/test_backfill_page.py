"""Tools → Fill missing featured images in a real browser: counts and the dry run."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress
from tests.browser_admin.conftest import screenshot

pytestmark = pytest.mark.wordpress

TOOLS = "/wp-admin/tools.php?page=fib-backfill"


@pytest.fixture
def manual(site: LocalWordPress, use_local: BridgeProcesses) -> Iterator[LocalWordPress]:
    """Trigger "manual only", so that published posts keep lacking an image."""
    site.update_plugin_settings(trigger="manual")
    yield site
    site.update_plugin_settings(trigger="publish")


def _count(page: Page, post_type: str, status: str) -> int:
    cell = page.locator(
        f'#fib-missing-counts tr[data-post-type="{post_type}"] td[data-status="{status}"]'
    )
    return int(cell.inner_text().replace(",", ""))


def test_counts_and_dry_run_show_the_posts_without_an_image(
    manual: LocalWordPress, admin_page: Page, editor: EditorSession
) -> None:
    page = admin_page
    page.goto(manual.url + TOOLS)
    published, drafts = _count(page, "post", "publish"), _count(page, "post", "draft")

    titles = [f"Diary of a lighthouse keeper, day {day}" for day in (1, 2, 3)]
    for title in titles:
        editor.create_post(title)
    editor.create_post("Hand-drawn only", meta={"_fib_skip": True})
    editor.create_post("Its generated image was removed", meta={"_fib_attachment_id": 999})
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "olive").save(buffer, format="PNG")
    chosen = editor.upload_image(buffer.getvalue(), "by-hand.png", "image/png")
    editor.create_post("Already illustrated", featured_media=chosen)
    editor.create_post("Draft one", status="draft")
    editor.create_post("Draft two", status="draft")

    page.reload()
    assert _count(page, "post", "publish") == published + 3
    assert _count(page, "post", "draft") == drafts + 2

    page.fill("#fib-limit", "2")
    page.click("#fib-dry-run")
    result = page.locator("#fib-dry-run-result")
    expect(result).to_have_attribute("data-posts", "2")
    expect(result).to_contain_text("2 posts would get a featured image: 2 generations")
    expect(result).to_contain_text("estimated cost 0.88")
    expect(page.locator("#fib-dry-run-sample li")).to_have_text([titles[2], titles[1]])
    expect(page.locator("#fib-start")).to_be_visible()
    screenshot(page, "backfill-dry-run")

    page.fill("#fib-limit", "")
    page.click("#fib-dry-run")
    expect(result).to_have_attribute("data-posts", str(published + 3))
    expect(page.locator("#fib-dry-run-sample")).not_to_contain_text("Hand-drawn only")
    expect(page.locator("#fib-dry-run-sample")).not_to_contain_text("Already illustrated")
    expect(page.locator("#fib-dry-run-sample")).not_to_contain_text("generated image was removed")


def test_titles_are_shown_as_text_never_as_markup(
    manual: LocalWordPress, admin_page: Page, editor: EditorSession
) -> None:
    title = '<b>Bold</b> & <img src=x onerror="window.fibXss=1">'
    editor.create_post(title)
    page = admin_page
    page.goto(manual.url + TOOLS)
    page.fill("#fib-limit", "1")
    page.click("#fib-dry-run")
    expect(page.locator("#fib-dry-run-sample li")).to_have_text([title])
    assert page.locator("#fib-dry-run-sample b, #fib-dry-run-sample img").count() == 0
    assert page.evaluate("() => window.fibXss") is None
