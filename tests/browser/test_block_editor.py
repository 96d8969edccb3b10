"""The block editor: a published post's image appears in the Featured image panel; Regenerate
replaces it without a reload, and a later save keeps the new one."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Dialog, Page, expect

from devenv import browser as chromium
from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress, WordPressUser
from tests.signing import new_secret

pytestmark = pytest.mark.wordpress

JOB_TIMEOUT_MS = 60_000
FEATURED_IMAGE = ".editor-post-featured-image img"
PANEL_STATUS = ".fib-panel-status"


def _publish_new_post(page: Page, title: str, text: str) -> int:
    page.goto("/wp-admin/post-new.php")
    chromium.close_welcome_guide(page)
    page.locator(".editor-post-title__input").fill(title)
    page.keyboard.press("Enter")
    page.keyboard.type(text)
    page.locator(".editor-post-publish-panel__toggle").click()
    page.locator(".editor-post-publish-panel .editor-post-publish-button").click()
    page.locator(".post-publish-panel__postpublish").wait_for()
    page.locator(".editor-post-publish-panel__header button[aria-label='Close panel']").click()
    post_id = page.evaluate("wp.data.select('core/editor').getCurrentPostId()")
    assert isinstance(post_id, int)
    return post_id


def _editor_featured_media(page: Page) -> int:
    value = page.evaluate("wp.data.select('core/editor').getEditedPostAttribute('featured_media')")
    return int(value or 0)


def test_publish_then_regenerate_in_the_block_editor(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    logged_in: Callable[[WordPressUser], Page],
    rest: EditorSession,
    screenshots: Path,
) -> None:
    page = logged_in(site.editor)
    post_id = _publish_new_post(
        page, "Lanterns over the harbour", "A night walk along the old quay."
    )

    chromium.open_sidebar_panel(page, "Featured image")
    chromium.open_sidebar_panel(page, "Featured image (AI)")
    expect(page.locator(FEATURED_IMAGE)).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator(PANEL_STATUS)).to_have_attribute("data-status", "done")
    first = rest.post(post_id)
    assert first.meta["_fib_attachment_id"] == first.featured_media
    assert _editor_featured_media(page) == first.featured_media
    first_src = page.locator(FEATURED_IMAGE).get_attribute("src")
    chromium.screenshot(page, screenshots, "block-editor-published")

    page.locator(".fib-panel-regenerate").click()
    expect(page.locator(FEATURED_IMAGE)).not_to_have_attribute(
        "src", first_src or "", timeout=JOB_TIMEOUT_MS
    )
    expect(page.locator(PANEL_STATUS)).to_have_attribute("data-status", "done")
    second = rest.post(post_id)
    assert second.featured_media != first.featured_media
    assert _editor_featured_media(page) == second.featured_media
    chromium.screenshot(page, screenshots, "block-editor-regenerated")

    # The editor's state holds the new image: saving keeps it.
    page.locator(".editor-post-title__input").fill("Lanterns over the old harbour")
    page.locator(".editor-post-publish-button").click()
    page.locator(".components-snackbar", has_text="Post updated").wait_for()
    saved = rest.post(post_id)
    assert saved.featured_media == second.featured_media
    assert saved.meta["_fib_attachment_id"] == second.featured_media


def test_block_editor_asks_before_replacing_a_chosen_image_and_shows_failures(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    logged_in: Callable[[WordPressUser], Page],
    rest: EditorSession,
    screenshots: Path,
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (200, 120, 40)).save(buffer, "JPEG")
    chosen = rest.upload_image(buffer.getvalue(), "market.jpg", "image/jpeg")
    post_id = rest.create_post("Saturday market", featured_media=chosen)

    page = logged_in(site.editor)
    page.goto(f"/wp-admin/post.php?post={post_id}&action=edit")
    chromium.close_welcome_guide(page)
    chromium.open_sidebar_panel(page, "Featured image (AI)")
    expect(page.locator(PANEL_STATUS)).to_have_attribute("data-status", "")

    questions: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator(".fib-panel-regenerate").click()
    assert questions and "a person chose" in questions[0]
    expect(page.locator(PANEL_STATUS)).to_have_attribute("data-status", "")

    # The bridge refuses the request (the secrets differ): the panel says why; the image stays.
    secret = site.plugin_settings()["secret"]
    site.update_plugin_settings(secret=new_secret())
    try:
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator(".fib-panel-regenerate").click()
        expect(page.locator(PANEL_STATUS)).to_have_attribute("data-status", "failed")
        expect(page.locator(".fib-panel-message")).to_contain_text("HTTP 401")
        chromium.screenshot(page, screenshots, "block-editor-failed")
    finally:
        site.update_plugin_settings(secret=secret)
    assert _editor_featured_media(page) == chosen
    assert rest.post(post_id).featured_media == chosen


def test_a_post_opted_out_in_the_block_editor_gets_no_image(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    logged_in: Callable[[WordPressUser], Page],
    rest: EditorSession,
    screenshots: Path,
) -> None:
    page = logged_in(site.editor)
    page.goto("/wp-admin/post-new.php")
    chromium.close_welcome_guide(page)
    page.locator(".editor-post-title__input").fill("A photo essay, illustrated by hand")
    chromium.open_sidebar_panel(page, "Featured image (AI)")
    page.locator(".fib-panel-skip input[type=checkbox]").check()
    chromium.screenshot(page, screenshots, "block-editor-opt-out")
    page.locator(".editor-post-publish-panel__toggle").click()
    page.locator(".editor-post-publish-panel .editor-post-publish-button").click()
    page.locator(".post-publish-panel__postpublish").wait_for()
    post_id = page.evaluate("wp.data.select('core/editor').getCurrentPostId()")

    barrier = rest.create_post("Published after the opted-out one")
    assert rest.wait_for(barrier).generation == "done"
    view = rest.post(int(post_id))
    assert view.meta["_fib_skip"] is True
    assert view.generation == "" and view.featured_media == 0
