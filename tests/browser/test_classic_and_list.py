"""Regenerate from the classic editor's box and from the posts list (row and bulk actions)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Dialog, Page, expect

from devenv import browser as chromium
from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession, PostView
from devenv.wordpress import LocalWordPress, WordPressUser

pytestmark = pytest.mark.wordpress

CLASSIC_EDITOR_PLUGIN = "<?php\nadd_filter( 'use_block_editor_for_post', '__return_false' );\n"


@pytest.fixture
def classic_editor(site: LocalWordPress) -> Iterator[None]:
    """Forces the classic editor with a tiny must-use plugin."""
    mu_plugins = site.docroot / "wp-content" / "mu-plugins"
    mu_plugins.mkdir(exist_ok=True)
    path = mu_plugins / "fib-test-classic-editor.php"
    path.write_text(CLASSIC_EDITOR_PLUGIN)
    yield
    path.unlink()


def _photo(rest: EditorSession, name: str) -> int:
    """Uploads an image a person chose."""
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (40, 110, 160)).save(buffer, "JPEG")
    return rest.upload_image(buffer.getvalue(), f"{name}.jpg", "image/jpeg")


def _wait_for_new_image(
    rest: EditorSession, post_id: int, old_media: int, timeout: float = 60.0
) -> PostView:
    """Waits until the post's generation is done with another featured image than ``old_media``."""
    deadline = time.monotonic() + timeout
    while True:
        view = rest.post(post_id)
        assert view.generation != "failed", view.message
        if view.generation == "done" and view.featured_media not in (0, old_media):
            return view
        if time.monotonic() > deadline:
            raise TimeoutError(f"post {post_id} has no new image: {view.generation} {view.message}")
        time.sleep(0.2)


def _published_with_generated_image(rest: EditorSession, title: str) -> PostView:
    post_id = rest.create_post(title, "Some words to draw from.")
    view = rest.wait_for(post_id)
    assert view.generation == "done", view.message
    assert view.featured_media == view.meta["_fib_attachment_id"]
    return view


def test_classic_editor_box_regenerates_after_confirmation(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    classic_editor: None,
    logged_in: Callable[[WordPressUser], Page],
    rest: EditorSession,
    screenshots: Path,
) -> None:
    view = _published_with_generated_image(rest, "Tide tables for beginners")
    chosen = _photo(rest, "beach-photo")
    rest.update_post(view.id, featured_media=chosen)

    page = logged_in(site.editor)
    page.goto(f"/wp-admin/post.php?post={view.id}&action=edit")
    box = page.locator("#fib-status-box")
    expect(box.locator("#fib-status")).to_have_attribute("data-status", "done")

    questions: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    box.locator("#fib-regenerate").click()
    assert questions and "a person chose" in questions[0]
    assert rest.post(view.id).featured_media == chosen
    assert rest.post(view.id).meta["_fib_job_id"] == view.meta["_fib_job_id"]

    page.once("dialog", lambda dialog: dialog.accept())
    box.locator("#fib-regenerate").click()
    expect(page.locator("#fib-notice")).to_contain_text("is on its way")
    page.wait_for_load_state("load")
    expect(box.locator("#fib-status")).to_have_attribute(
        "data-status", re.compile("^(queued|generating|uploading|done)$")
    )
    chromium.screenshot(page, screenshots, "classic-editor-queued", full_page=True)
    assert re.search(rf"post\.php\?post={view.id}&action=edit", page.url)

    done = _wait_for_new_image(rest, view.id, chosen)
    assert done.featured_media == done.meta["_fib_attachment_id"] != chosen

    # Without a reload, the boxes show the new image, and the form now holds it.
    expect(box.locator("#fib-status")).to_have_attribute("data-status", "done")
    expect(page.locator("#_thumbnail_id")).to_have_value(str(done.featured_media))
    expect(page.locator("#postimagediv img")).to_be_visible()
    chromium.screenshot(page, screenshots, "classic-editor-done", full_page=True)


def test_classic_save_keeps_an_image_generated_while_the_editor_was_open(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    classic_editor: None,
    logged_in: Callable[[WordPressUser], Page],
    rest: EditorSession,
) -> None:
    post_id = rest.create_post("Notes from the lock keeper", "Barges.", status="draft")
    page = logged_in(site.editor)
    page.goto(f"/wp-admin/post.php?post={post_id}&action=edit", wait_until="load")
    expect(page.locator("#fib-status")).to_have_attribute("data-status", "")

    # Meanwhile the image is generated (here: asked for over REST, as another tab would).
    answer = rest.http.post("", params={"rest_route": f"/fib/v1/posts/{post_id}/regenerate"})
    assert answer.status_code == 202
    generated = _wait_for_new_image(rest, post_id, 0).featured_media

    # The open form still says "no featured image"; saving it must not remove the new one.
    page.locator("#title").fill("Notes from the old lock keeper")
    page.locator("#save-post").click()
    page.wait_for_url(re.compile(r"message=\d+"))
    saved = rest.post(post_id)
    assert saved.featured_media == generated
    expect(page.locator("#postimagediv img")).to_be_visible()


def test_row_action_regenerates_one_post(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    logged_in: Callable[[WordPressUser], Page],
    rest: EditorSession,
    screenshots: Path,
) -> None:
    view = _published_with_generated_image(rest, "Winter routes over the pass")
    page = logged_in(site.editor)
    page.goto("/wp-admin/edit.php")
    row = page.locator(f"#post-{view.id}")
    expect(row.locator(".column-fib_image .fib-column-origin")).to_have_text("Generated")
    row.hover()
    chromium.screenshot(page, screenshots, "posts-list-row-action")
    row.locator(".fib-regenerate-link").click()  # a generated image: no question asked

    expect(page.locator("#fib-notice")).to_contain_text("Winter routes over the pass")
    assert "fib-regenerated" not in page.url  # WordPress strips the notice arguments
    done = _wait_for_new_image(rest, view.id, view.featured_media)
    assert done.featured_media == done.meta["_fib_attachment_id"]


def test_bulk_action_fills_selected_posts_and_skips_chosen_images(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    logged_in: Callable[[WordPressUser], Page],
    rest: EditorSession,
    screenshots: Path,
) -> None:
    drafts = [rest.create_post(f"Draft about rivers {n}", status="draft") for n in (1, 2)]
    chosen = _photo(rest, "river-photo")
    person = rest.create_post("Rivers, photographed", featured_media=chosen)

    page = logged_in(site.editor)
    page.goto("/wp-admin/edit.php")
    # Regenerating a chosen image from its row asks first; a generated or missing one does not.
    expect(page.locator(f"#post-{person} .fib-regenerate-link")).to_have_attribute(
        "data-fib-confirm", re.compile("a person chose")
    )
    expect(page.locator(f"#post-{drafts[0]} .fib-regenerate-link[data-fib-confirm]")).to_have_count(
        0
    )
    for post_id in [*drafts, person]:
        page.locator(f"#cb-select-{post_id}").check()
    page.locator("#bulk-action-selector-top").select_option("fib_generate")
    page.locator("#doaction").click()

    notice = page.locator("#fib-bulk-notice")
    expect(notice).to_contain_text("2 posts are getting a new featured image.")
    expect(notice).to_contain_text("1 skipped")
    chromium.screenshot(page, screenshots, "posts-list-bulk-notice")
    for post_id in drafts:
        done = _wait_for_new_image(rest, post_id, 0)
        assert done.featured_media == done.meta["_fib_attachment_id"]
    assert rest.post(person).featured_media == chosen
    assert rest.post(person).generation == ""

    page.goto("/wp-admin/edit.php")
    for post_id in drafts:
        expect(page.locator(f"#post-{post_id} .fib-column-status")).to_have_text("Done")
    expect(page.locator(f"#post-{person} .fib-column-origin")).to_have_text("Chosen by a person")
    chromium.screenshot(page, screenshots, "posts-list")
