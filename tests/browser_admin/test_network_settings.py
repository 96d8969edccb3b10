"""A subsite's own administrator on a multisite network: the plugin's settings page is there,
saves that subsite's settings only, and another subsite's page is closed to them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from devenv import browser as chromium
from devenv.wordpress import LocalWordPress, WordPressUser
from tests.browser_admin.conftest import screenshot
from tests.integration import conftest as integration

pytestmark = pytest.mark.wordpress

network = integration.network

SETTINGS = "/wp-admin/options-general.php?page=featured-image-bridge"


def subsite_admin(network: LocalWordPress, name: str) -> WordPressUser:
    """A user who is an administrator of the subsite ``name`` only (not a super admin)."""
    login, password = f"{name}-admin", f"pw-{name}-admin-not-secret"
    out = network.php(
        f"$fib_id = wpmu_create_user( '{login}', '{password}', '{login}@example.com' );\n"
        f"add_user_to_blog( {network.subsite(name).blog_id}, $fib_id, 'administrator' );\n"
        f"remove_user_from_blog( $fib_id, get_main_site_id() );\n"
        "echo $fib_id;\n"
    )
    return WordPressUser(login, password, "", int(out.strip().splitlines()[-1]))


@pytest.fixture
def news_admin_page(browser: Browser, network: LocalWordPress) -> Iterator[Page]:
    network.reset()
    news = network.subsite("news")
    page = chromium.log_in(chromium.new_context(browser, news), subsite_admin(network, "news"))
    yield page
    page.context.close()
    network.reset()


def test_a_subsite_admin_saves_the_settings_of_their_subsite_only(
    news_admin_page: Page, network: LocalWordPress
) -> None:
    page = news_admin_page
    news, sport = network.subsite("news"), network.subsite("sport")
    sport_before = sport.plugin_settings()

    page.goto(news.url + SETTINGS)
    expect(page.locator("h1")).to_have_text("Featured Image Bridge")
    expect(page.locator("#fib-network-note")).to_contain_text(news.url)
    expect(page.locator("#fib-secret")).to_have_value(str(news.plugin_settings()["secret"]))
    screenshot(page, "network-subsite-settings")
    page.fill("#fib-bridge-url", "http://127.0.0.1:8765")
    page.fill("#fib-style", "Watercolour painting")
    page.click("#submit")
    expect(page.locator("#setting-error-settings_updated")).to_be_visible()

    stored = news.plugin_settings()
    assert stored["bridge_url"] == "http://127.0.0.1:8765"
    assert stored["style"] == "Watercolour painting"
    assert sport.plugin_settings() == sport_before
    assert network.plugin_settings()["bridge_url"] == ""  # nor the main site's

    page.goto(sport.url + SETTINGS)
    expect(page.locator("#fib-settings-form")).to_have_count(0)
