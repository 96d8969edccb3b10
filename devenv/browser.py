"""Drives Debian's chromium with Playwright against the local WordPress.

The browser is headless, never downloads a browser build of its own (``executable_path`` is
Debian's ``/usr/bin/chromium``) and reaches nothing but 127.0.0.1: every other request (gravatar,
s.w.org, fonts) is aborted by a route handler, so pages behave the same without a network.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from devenv.wordpress import LocalWordPress, Subsite, WordPressUser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT = {"width": 1400, "height": 1000}
LOOPBACK_HOSTS = ("127.0.0.1",)


def launch(playwright: Playwright) -> Browser:
    """Debian's chromium, headless."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
    )


def _only_loopback(route: Route) -> None:
    url = route.request.url
    if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK_HOSTS:
        route.continue_()
    else:
        route.abort()


def new_context(browser: Browser, site: LocalWordPress | Subsite) -> BrowserContext:
    """A fresh browser profile for ``site`` that can reach only 127.0.0.1."""
    context = browser.new_context(base_url=site.url, viewport=VIEWPORT)  # type: ignore[arg-type]
    context.route("**/*", _only_loopback)
    return context


def log_in(context: BrowserContext, user: WordPressUser) -> Page:
    """Logs ``user`` in through wp-login.php; returns the page once wp-admin answers.

    Only the redirect is awaited, not the dashboard's load (its widgets can keep a loaded
    ``php -S`` busy). A login that never redirects (seen rarely in loaded full runs, never
    alone) is tried once more before it fails, saying what the login page showed.
    """
    page = context.new_page()
    seen: list[str] = []
    for _attempt in range(2):
        page.goto("/wp-login.php")
        page.fill("#user_login", user.login)
        page.fill("#user_pass", user.password)
        page.click("#wp-submit")
        try:
            page.wait_for_url(re.compile(r"/wp-admin/"), wait_until="commit", timeout=30_000)
            return page
        except PlaywrightTimeout:
            error = page.locator("#login_error")
            seen.append(f"{page.url}: {error.inner_text() if error.count() else 'no error shown'}")
    raise AssertionError(f"could not log in as {user.login}: {seen}")


def close_welcome_guide(page: Page) -> None:
    """Closes the block editor's welcome guide if it shows (first visit per user)."""
    guide = page.locator(".edit-post-welcome-guide")
    try:
        guide.wait_for(state="visible", timeout=5000)
    except PlaywrightTimeout:
        return  # not shown: this user has seen it before
    page.keyboard.press("Escape")
    guide.wait_for(state="hidden")


def open_sidebar_panel(page: Page, title: str) -> None:
    """Shows the block editor's document sidebar ("Post" tab) and expands its panel ``title``."""
    page.evaluate("wp.data.dispatch('core/edit-post').openGeneralSidebar('edit-post/document')")
    toggle = page.locator(
        ".components-panel__body-toggle", has_text=re.compile(f"^{re.escape(title)}$")
    )
    toggle.wait_for()
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def screenshot(page: Page, directory: Path, name: str, *, full_page: bool = False) -> Path:
    """Saves a PNG of the page (the viewport, or the whole page) under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
