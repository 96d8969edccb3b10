"""Debian's chromium driven by Playwright, logged in to the real WordPress of the integration
tests; requests leaving 127.0.0.1 are aborted. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from devenv.wordpress import LocalWordPress, WordPressUser
from tests.integration import conftest as integration

# The integration tests' WordPress and bridge fixtures, shared here.
site = integration.site
local_bridge = integration.local_bridge
use_local = integration.use_local
editor = integration.editor

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (scripts/debian-packages.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _only_loopback(route: Route) -> None:
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def logged_in_page(browser: Browser, site: LocalWordPress, user: WordPressUser) -> Page:
    """A new browser context logged in to wp-admin as ``user``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", _only_loopback)
    page = context.new_page()
    page.goto(f"{site.url}/wp-login.php")
    page.fill("#user_login", user.login)
    page.fill("#user_pass", user.password)
    page.click("#wp-submit")
    # Only the redirect matters here; every test goes on to its own screen.
    page.wait_for_url("**/wp-admin/**", wait_until="commit", timeout=60_000)
    return page


@pytest.fixture
def admin_page(browser: Browser, site: LocalWordPress) -> Iterator[Page]:
    page = logged_in_page(browser, site, site.admin)
    yield page
    page.context.close()


def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page screenshot as test-artifacts/screenshots/<name>.png, with the webhook
    secret shown as a placeholder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate(
        "() => { const s = document.getElementById('fib-secret'); if (s) s.value = 'whsec_…'; }"
    )
    page.screenshot(path=str(path), full_page=True)
    return path
