"""Browser tests of the settings page and the Tools screen: the shared ``browser`` (root
conftest, Debian's chromium), logged in to the integration tests' WordPress, requests leaving
127.0.0.1 aborted (devenv/browser.py). Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from devenv import browser as chromium
from devenv.wordpress import LocalWordPress, WordPressUser
from tests.integration import conftest as integration

# The integration tests' WordPress and bridge fixtures, shared here.
site = integration.site
local_bridge = integration.local_bridge
use_local = integration.use_local
editor = integration.editor
segmind = integration.segmind
segmind_bridge = integration.segmind_bridge
use_segmind = integration.use_segmind

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def logged_in_page(browser: Browser, wordpress: LocalWordPress, user: WordPressUser) -> Page:
    """A new browser profile logged in to wp-admin as ``user``."""
    return chromium.log_in(chromium.new_context(browser, wordpress), user)


@pytest.fixture
def admin_page(browser: Browser, site: LocalWordPress) -> Iterator[Page]:
    page = logged_in_page(browser, site, site.admin)
    yield page
    page.context.close()


def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page screenshot as test-artifacts/screenshots/<name>.png, with the webhook
    secret shown as a placeholder."""
    page.evaluate(
        "() => { const s = document.getElementById('fib-secret'); if (s) s.value = 'whsec_…'; }"
    )
    return chromium.screenshot(page, SCREENSHOTS, name, full_page=True)
