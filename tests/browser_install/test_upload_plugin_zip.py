"""The plugin zip installs from wp-admin's *Plugins → Add New → Upload Plugin* form, activates,
and shows its settings page, in a real WordPress driven by Debian's chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from devenv import browser as chromium
from devenv.wordpress import PLUGIN_SLUG, LocalWordPress

pytestmark = pytest.mark.wordpress

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def test_the_zip_installs_through_the_upload_form_and_shows_its_settings(
    browser: Browser, bare_site: LocalWordPress, plugin_zip: Path
) -> None:
    installed = bare_site.docroot / "wp-content" / "plugins" / PLUGIN_SLUG
    assert not installed.exists()
    page = chromium.log_in(chromium.new_context(browser, bare_site), bare_site.admin)
    try:
        page.goto("/wp-admin/plugin-install.php")
        page.locator(".upload-view-toggle").first.click()
        page.set_input_files("#pluginzip", str(plugin_zip))
        page.click("#install-plugin-submit")
        expect(page.locator(".wrap")).to_contain_text("Plugin installed successfully.")
        chromium.screenshot(page, SCREENSHOTS, "plugin-zip-installed", full_page=True)

        page.locator("a", has_text="Activate Plugin").click()
        expect(page.locator("#message")).to_contain_text("Plugin activated.")
        row = page.locator(f'tr[data-slug="{PLUGIN_SLUG}"]')
        expect(row).to_have_class(re.compile(r"(^|\s)active(\s|$)"))
        expect(row.locator(".plugin-title strong")).to_have_text("Featured Image Bridge")

        row.locator("a", has_text="Settings").click()
        expect(page.locator(".wrap h1")).to_have_text("Featured Image Bridge")
        expect(page.locator("#fib-secret")).to_have_value(
            re.compile(r"^whsec_[A-Za-z0-9+/=]{20,}$")
        )
        chromium.screenshot(page, SCREENSHOTS, "plugin-zip-settings", full_page=True)
    finally:
        page.context.close()

    assert (installed / f"{PLUGIN_SLUG}.php").is_file()
    assert not (installed / "tests").exists()
    active = bare_site.php("echo wp_json_encode( get_option( 'active_plugins' ) );")
    assert json.loads(active) == [f"{PLUGIN_SLUG}/{PLUGIN_SLUG}.php"]
