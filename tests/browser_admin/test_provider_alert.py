"""A key the provider refuses, as the admin sees it: the alert on the settings page and the
notice on the Tools screen, until an image comes through or Test connection passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind
from devenv.wordpress import LocalWordPress
from tests.browser_admin.conftest import logged_in_page, screenshot
from tests.integration.provider_alert import clear_provider_alert

pytestmark = pytest.mark.wordpress

SETTINGS = "/wp-admin/options-general.php?page=featured-image-bridge"
TOOLS = "/wp-admin/tools.php?page=fib-backfill"
REFUSED = "The Segmind API key was refused (401): enter a valid key in the bridge's SEGMIND_API_KEY"


@pytest.fixture
def refused_key(
    site: LocalWordPress, use_segmind: FakeSegmind, editor: EditorSession
) -> Iterator[int]:
    """A post whose generation failed because Segmind refused the key; no alert after."""
    clear_provider_alert(site)
    use_segmind.fail_next_submit(401)
    post_id = editor.create_post("Refused by Segmind")
    assert editor.wait_for(post_id).generation == "failed"
    yield post_id
    clear_provider_alert(site)


def test_a_refused_key_shows_on_the_settings_page_until_an_image_comes_through(
    refused_key: int,
    admin_page: Page,
    site: LocalWordPress,
    use_segmind: FakeSegmind,
    editor: EditorSession,
) -> None:
    page = admin_page
    page.goto(site.url + SETTINGS)
    alert = page.locator("#fib-provider-alert")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("data-kind", "auth")
    expect(alert).to_contain_text(REFUSED)
    expect(alert).to_contain_text("Segmind rejected the API key")
    expect(page.locator("#fib-provider-alert-posts")).to_contain_text("1 post has no image")
    assert use_segmind.api_key not in page.content()
    screenshot(page, "settings-provider-alert")

    page.goto(site.url + TOOLS)
    notice = page.locator("#fib-provider-alert")
    expect(notice).to_contain_text(REFUSED)
    settings_link = notice.get_by_role("link", name="Open the Featured Image Bridge settings")
    expect(settings_link).to_be_visible()

    post_id = editor.create_post("Accepted by Segmind")
    assert editor.wait_for(post_id).generation == "done"
    page.goto(site.url + SETTINGS)
    expect(page.locator("#fib-settings-form")).to_be_visible()
    expect(page.locator("#fib-provider-alert")).to_have_count(0)


def test_test_connection_clears_the_alert_only_when_the_provider_check_passes(
    refused_key: int,
    admin_page: Page,
    site: LocalWordPress,
    local_bridge: BridgeProcesses,
) -> None:
    page = admin_page
    page.goto(site.url + SETTINGS)
    page.click("#fib-test-connection")
    result = page.locator("#fib-connection-result")
    expect(result.locator('li[data-check="provider"]')).to_have_attribute("data-ok", "0")
    expect(page.locator("#fib-provider-alert")).to_be_visible()

    site.update_plugin_settings(bridge_url=local_bridge.url)  # a bridge whose provider works
    page.click("#fib-test-connection")
    expect(result.locator('li[data-check="provider"]')).to_have_attribute("data-ok", "1")
    expect(page.locator("#fib-provider-alert")).to_have_count(0)


def test_editors_do_not_get_the_notice(
    refused_key: int, browser: Browser, site: LocalWordPress
) -> None:
    page = logged_in_page(browser, site, site.editor)
    page.goto(site.url + TOOLS)
    expect(page.locator("#fib-backfill-form, .wrap h1").first).to_be_visible()
    expect(page.locator("#fib-provider-alert")).to_have_count(0)
    page.context.close()
