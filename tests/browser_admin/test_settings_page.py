"""The settings page in a real browser: saving, refusing bad values, Test connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devenv.bridge_process import BridgeProcesses, free_port
from devenv.wordpress import LocalWordPress
from tests.browser_admin.conftest import screenshot
from tests.integration.conftest import bridge_env
from tests.signing import new_secret

pytestmark = pytest.mark.wordpress

SETTINGS = "/wp-admin/options-general.php?page=featured-image-bridge"


@pytest.fixture
def settings_page(
    admin_page: Page, site: LocalWordPress, use_local: BridgeProcesses
) -> Iterator[Page]:
    """The settings page; the settings are put back as they were afterwards."""
    before = site.plugin_settings()
    admin_page.goto(site.url + SETTINGS)
    yield admin_page
    site.update_plugin_settings(**before)


def test_the_form_saves_every_kind_of_setting(settings_page: Page, site: LocalWordPress) -> None:
    page = settings_page
    screenshot(page, "settings-page")
    page.check("#fib-trigger input[value=save]")
    page.uncheck("#fib-only-missing")
    page.check("#fib-post-types input[value=page]")
    page.fill("#fib-prompt-template", "A picture for {title}\nin {site_name}\n")
    page.fill("#fib-style", "Watercolour painting")
    page.fill("#fib-width", "800")
    page.fill("#fib-height", "800")
    page.select_option("#fib-format", "webp")
    page.fill("#fib-quality", "70")
    page.fill("#fib-caption-template", "Illustration for {title}")
    page.check("#fib-replaced-image input[value=delete]")
    page.check("#fib-fallback-title-card")
    page.fill("#fib-price-per-image", "0,05")
    page.click("#submit")
    expect(page.locator("#setting-error-settings_updated")).to_be_visible()
    stored = site.plugin_settings()
    assert {k: stored[k] for k in ("trigger", "only_missing", "post_types", "format")} == {
        "trigger": "save",
        "only_missing": False,
        "post_types": ["post", "page"],
        "format": "webp",
    }
    assert stored["prompt_template"] == "A picture for {title}\nin {site_name}\n"
    assert (stored["width"], stored["height"], stored["quality"]) == (800, 800, 70)
    assert stored["style"] == "Watercolour painting"
    assert stored["caption_template"] == "Illustration for {title}"
    assert stored["replaced_image"] == "delete"
    assert stored["fallback_title_card"] is True
    assert stored["price_per_image"] == 0.05
    expect(page.locator("#fib-format")).to_have_value("webp")


def test_bad_values_are_refused_with_a_reason_and_the_rest_is_saved(
    settings_page: Page, site: LocalWordPress
) -> None:
    page = settings_page
    page.eval_on_selector("#fib-settings-form", "form => { form.noValidate = true; }")
    page.fill("#fib-width", "99999")
    page.fill("#fib-quality", "0")
    page.fill("#fib-price-per-image", "cheap")
    page.fill("#fib-prompt-template", "   ")
    page.uncheck("#fib-post-types input[value=post]")
    page.fill("#fib-style", "Isometric 3D render")
    page.click("#submit")
    errors = page.locator(".notice-error, .error")
    expect(errors.filter(has_text="Width must be a whole number from 64 to 4096")).to_be_visible()
    expect(errors.filter(has_text="Quality must be a whole number from 1 to 100")).to_be_visible()
    expect(errors.filter(has_text="Price per image must be a number")).to_be_visible()
    expect(errors.filter(has_text="prompt template must not be empty")).to_be_visible()
    expect(errors.filter(has_text="Choose at least one post type")).to_be_visible()
    screenshot(page, "settings-errors")
    stored = site.plugin_settings()
    assert (stored["width"], stored["quality"], stored["price_per_image"]) == (1200, 85, 0.44)
    assert stored["post_types"] == ["post"]
    assert stored["prompt_template"] == "Title: {title}\n\nDescription: {excerpt}\n"
    assert stored["style"] == "Isometric 3D render"


def test_a_forged_value_outside_the_choices_is_refused(
    settings_page: Page, site: LocalWordPress
) -> None:
    page = settings_page
    page.eval_on_selector("#fib-format option[value=png]", "el => el.value = 'gif'")
    page.select_option("#fib-format", "gif")
    page.eval_on_selector("#fib-trigger input[value=manual]", "el => el.value = 'hourly'")
    page.check("#fib-trigger input[value=hourly]")
    page.click("#submit")
    errors = page.locator(".notice-error, .error")
    expect(errors.filter(has_text='"Format" must be one of: jpeg, webp, png')).to_be_visible()
    expect(
        errors.filter(has_text='"Trigger" must be one of: publish, save, manual')
    ).to_be_visible()
    stored = site.plugin_settings()
    assert (stored["format"], stored["trigger"]) == ("jpeg", "publish")


def test_test_connection_names_an_unreachable_bridge(
    settings_page: Page, site: LocalWordPress
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    site.update_plugin_settings(bridge_url=closed)
    page = settings_page
    page.reload()
    page.click("#fib-test-connection")
    result = page.locator("#fib-connection-result")
    expect(result).to_have_attribute("data-ok", "0")
    expect(result).to_contain_text(f"Could not reach the bridge at {closed}")
    expect(result).to_contain_text("Failed to connect")


def test_test_connection_reports_success(settings_page: Page) -> None:
    page = settings_page
    page.click("#fib-test-connection")
    result = page.locator("#fib-connection-result")
    expect(result).to_have_attribute("data-ok", "1")
    expect(result).to_contain_text("all of its checks passed")
    for name in ("signature", "wordpress", "provider"):
        expect(result.locator(f'li[data-check="{name}"]')).to_have_attribute("data-ok", "1")
    screenshot(page, "settings-test-connection-ok")


def test_test_connection_names_a_wrong_secret(settings_page: Page, site: LocalWordPress) -> None:
    site.update_plugin_settings(secret=new_secret())
    page = settings_page
    page.reload()
    page.click("#fib-test-connection")
    result = page.locator("#fib-connection-result")
    expect(result).to_have_attribute("data-ok", "0")
    expect(result).to_contain_text("Wrong secret: the bridge rejected the signature.")
    screenshot(page, "settings-test-connection-wrong-secret")


@pytest.fixture
def bridge_with_a_revoked_password(
    site: LocalWordPress, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeProcesses]:
    env = bridge_env(site, BRIDGE_PROVIDER="local", WP_APP_PASSWORD="abcd efgh ijkl mnop qrst uvwx")
    with BridgeProcesses(env, tmp_path_factory.mktemp("revoked-bridge")) as bridge:
        yield bridge


def test_test_connection_shows_the_bridges_failed_check(
    settings_page: Page, site: LocalWordPress, bridge_with_a_revoked_password: BridgeProcesses
) -> None:
    site.update_plugin_settings(bridge_url=bridge_with_a_revoked_password.url)
    page = settings_page
    page.reload()
    page.click("#fib-test-connection")
    result = page.locator("#fib-connection-result")
    expect(result).to_have_attribute("data-ok", "0")
    expect(result).to_contain_text("some of its checks failed")
    failed = result.locator('li[data-check="wordpress"]')
    expect(failed).to_have_attribute("data-ok", "0")
    expect(failed).to_contain_text("WP_APP_PASSWORD")
    expect(result.locator('li[data-check="signature"]')).to_have_attribute("data-ok", "1")


LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")


@pytest.fixture
def bridge_ten_minutes_ahead(
    site: LocalWordPress, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeProcesses]:
    """A bridge whose clock is 10 minutes ahead of WordPress's (libfaketime)."""
    if not LIBFAKETIME.exists():
        pytest.skip("libfaketime is not installed (scripts/debian-packages.txt: faketime)")
    env = bridge_env(
        site,
        BRIDGE_PROVIDER="local",
        LD_PRELOAD=str(LIBFAKETIME),
        FAKETIME="+10m",
        FAKETIME_DONT_RESET="1",
    )
    with BridgeProcesses(env, tmp_path_factory.mktemp("skewed-bridge")) as bridge:
        yield bridge


def test_test_connection_names_clock_skew(
    settings_page: Page, site: LocalWordPress, bridge_ten_minutes_ahead: BridgeProcesses
) -> None:
    site.update_plugin_settings(bridge_url=bridge_ten_minutes_ahead.url)
    page = settings_page
    page.reload()
    page.click("#fib-test-connection")
    result = page.locator("#fib-connection-result")
    expect(result).to_have_attribute("data-ok", "0")
    expect(result).to_contain_text("clocks of WordPress and the bridge differ by more than 5")
