"""The plugin zip installs from wp-admin's *Plugins → Add New → Upload Plugin* form, activates,
and shows its settings page; a newer zip uploaded the same way replaces it and keeps its
settings. A real WordPress, driven by Debian's chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from devenv import browser as chromium
from devenv.plugin_zip import build_plugin_zip, plugin_version
from devenv.wordpress import PLUGIN_FILE, PLUGIN_SLUG, LocalWordPress

pytestmark = pytest.mark.wordpress

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def upload(page: Page, zip_path: Path) -> None:
    """Plugins → Add New → Upload Plugin → choose the zip → Install Now."""
    page.goto("/wp-admin/plugin-install.php")
    page.locator(".upload-view-toggle").first.click()
    page.set_input_files("#pluginzip", str(zip_path))
    page.click("#install-plugin-submit")


def active_plugins(site: LocalWordPress) -> list[str]:
    return list(json.loads(site.php("echo wp_json_encode( get_option( 'active_plugins' ) );")))


def newer_zip(tmp_path: Path, version: str) -> Path:
    """The plugin zip of a copy of wp-plugin/ whose version says ``version``."""
    copy = tmp_path / "wp-plugin"
    shutil.copytree(REPO / "wp-plugin", copy)
    old = plugin_version(copy)
    for name, before, after in [
        ("featured-image-bridge.php", f"Version:           {old}", f"Version:           {version}"),
        ("featured-image-bridge.php", f"'FIB_VERSION', '{old}'", f"'FIB_VERSION', '{version}'"),
        ("readme.txt", f"Stable tag: {old}", f"Stable tag: {version}"),
    ]:
        path = copy / name
        path.write_text(path.read_text().replace(before, after))
    return build_plugin_zip(copy, tmp_path / "dist")


def test_the_zip_installs_through_the_upload_form_and_shows_its_settings(
    browser: Browser, bare_site: LocalWordPress, plugin_zip: Path
) -> None:
    installed = bare_site.docroot / "wp-content" / "plugins" / PLUGIN_SLUG
    assert not installed.exists()
    page = chromium.log_in(chromium.new_context(browser, bare_site), bare_site.admin)
    try:
        upload(page, plugin_zip)
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
    assert active_plugins(bare_site) == [PLUGIN_FILE]


def test_a_newer_zip_replaces_the_plugin_and_keeps_its_settings(
    browser: Browser, bare_site: LocalWordPress, plugin_zip: Path, tmp_path: Path
) -> None:
    page = chromium.log_in(chromium.new_context(browser, bare_site), bare_site.admin)
    try:
        upload(page, plugin_zip)
        page.locator("a", has_text="Activate Plugin").click()
        expect(page.locator("#message")).to_contain_text("Plugin activated.")
        before = bare_site.update_plugin_settings(bridge_url="http://127.0.0.1:8080")

        upload(page, newer_zip(tmp_path, "9.9.9"))
        expect(page.locator(".update-from-upload-heading")).to_have_text(
            "This plugin is already installed."
        )
        page.locator("a.update-from-upload-overwrite").click()
        expect(page.locator(".wrap")).to_contain_text("Plugin updated successfully.")

        page.goto("/wp-admin/plugins.php")
        row = page.locator(f'tr[data-slug="{PLUGIN_SLUG}"]')
        expect(row).to_contain_text("Version 9.9.9")
        expect(row).to_have_class(re.compile(r"(^|\s)active(\s|$)"))
    finally:
        page.context.close()

    assert active_plugins(bare_site) == [PLUGIN_FILE]
    after = bare_site.plugin_settings()
    assert after["secret"] == before["secret"]
    assert after["bridge_url"] == "http://127.0.0.1:8080"
