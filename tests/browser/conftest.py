"""Browser tests: Debian's chromium (Playwright) against a real WordPress with the plugin and the
bridge's real processes (local title cards). Started once per test session.

Fixtures: ``site``, ``bridge`` (the plugin points at it), ``logged_in`` (a page
logged in as a given user, in a fresh profile), ``rest`` (an editor's REST session),
``screenshots`` (where screenshots go).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from devenv import browser as chromium
from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress, WordPressUser
from tests.sites import running_site

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWordPress]:
    yield from running_site(tmp_path_factory, "wp-browser")


@pytest.fixture(scope="session")
def bridge(
    site: LocalWordPress, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeProcesses]:
    env = {
        "WP_URL": site.url,
        "WP_USER": site.bridge.login,
        "WP_APP_PASSWORD": site.bridge.app_password,
        "BRIDGE_WEBHOOK_SECRET": str(site.plugin_settings()["secret"]),
        "BRIDGE_PROVIDER": "local",
        "BRIDGE_WORKERS": "4",
        "BRIDGE_RETRY_DELAY": "0.2",
        "BRIDGE_JOB_RETRIES": "2",
    }
    with BridgeProcesses(env, tmp_path_factory.mktemp("browser-bridge")) as processes:
        site.update_plugin_settings(bridge_url=processes.url, enabled=True)
        yield processes


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keeps each phase's report on the test item, so fixtures can see whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def logged_in(
    site: LocalWordPress, browser: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[[WordPressUser], Page]]:
    """``logged_in(user)``: a page in a fresh browser profile, logged in as ``user``. When the
    test fails, each open page is saved to ``test-artifacts/screenshots/failed-*.png``. A
    JavaScript error on any page makes the test error."""
    contexts: list[BrowserContext] = []
    script_errors: list[str] = []

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: script_errors.append(f"{page.url}: {error}"))

    def open_page(user: WordPressUser) -> Page:
        context = chromium.new_context(browser, site)
        context.on("page", watch)
        contexts.append(context)
        return chromium.log_in(context, user)

    yield open_page
    report = getattr(request.node, "report_call", None)
    for number, context in enumerate(contexts):
        if report is not None and report.failed:
            for page in context.pages:
                chromium.screenshot(page, SCREENSHOTS, f"failed-{request.node.name}-{number}")
        context.close()
    assert not script_errors, "JavaScript errors:\n" + "\n".join(script_errors)


@pytest.fixture
def rest(site: LocalWordPress) -> Iterator[EditorSession]:
    session = EditorSession(site)
    yield session
    session.close()


@pytest.fixture
def screenshots() -> Path:
    return SCREENSHOTS
