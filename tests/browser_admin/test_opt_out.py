"""The per-post opt-out checkbox in the classic editor's Publish box."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress
from tests.browser_admin.conftest import screenshot

pytestmark = pytest.mark.wordpress


@pytest.fixture
def classic_editor(site: LocalWordPress, use_local: BridgeProcesses) -> Iterator[LocalWordPress]:
    """The classic editor instead of the block editor, as the Classic Editor plugin does."""
    mu_plugins = site.docroot / "wp-content" / "mu-plugins"
    mu_plugins.mkdir(exist_ok=True)
    switch = mu_plugins / "fib-test-classic-editor.php"
    switch.write_text("<?php\nadd_filter( 'use_block_editor_for_post', '__return_false' );\n")
    yield site
    switch.unlink()


def _publish(page: Page, site: LocalWordPress, title: str, *, skip: bool) -> int:
    page.goto(f"{site.url}/wp-admin/post-new.php")
    page.fill("#title", title)
    if skip:
        page.check("#fib-skip")
    page.click("#publish")
    expect(page.locator("#message")).to_contain_text("Post published")
    return int(page.locator("#post_ID").input_value())


def test_a_post_ticked_do_not_generate_gets_no_image(
    classic_editor: LocalWordPress, admin_page: Page, editor: EditorSession
) -> None:
    page = admin_page
    skipped = _publish(page, classic_editor, "Painted by hand", skip=True)
    expect(page.locator("#fib-skip")).to_be_checked()
    screenshot(page, "classic-editor-opt-out")
    view = editor.post(skipped)
    assert view.meta["_fib_skip"] is True
    assert view.generation == ""

    sent = _publish(page, classic_editor, "Painted by the bridge", skip=False)
    expect(page.locator("#fib-skip")).not_to_be_checked()
    assert editor.post(sent).meta["_fib_skip"] is False
    assert editor.wait_for(sent).generation == "done"
