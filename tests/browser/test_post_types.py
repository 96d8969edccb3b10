"""Post types the plugin does not generate images for show none of its controls."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from devenv import browser as chromium
from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress, WordPressUser

pytestmark = pytest.mark.wordpress


def test_pages_have_no_ai_controls(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    logged_in: Callable[[WordPressUser], Page],
    rest: EditorSession,
) -> None:
    page_id = int(
        rest.call("POST", "/wp/v2/pages", json={"title": "About", "status": "publish"})["id"]
    )
    answer = rest.http.post("", params={"rest_route": f"/fib/v1/posts/{page_id}/regenerate"})
    assert answer.status_code == 409
    assert answer.json()["code"] == "fib_post_type"

    page = logged_in(site.editor)
    page.goto("/wp-admin/edit.php?post_type=page")
    expect(page.locator(f"#post-{page_id}")).to_be_visible()
    expect(page.locator("th#fib_image")).to_have_count(0)
    expect(page.locator(".fib-regenerate-link")).to_have_count(0)

    page.goto(f"/wp-admin/post.php?post={page_id}&action=edit")
    chromium.close_welcome_guide(page)
    chromium.open_sidebar_panel(page, "Featured image")
    toggles = page.locator(".components-panel__body-toggle")
    expect(toggles.filter(has_text=re.compile(r"^Featured image \(AI\)$"))).to_have_count(0)
