"""The reliability suite: its own WordPress, the Segmind fake, and bridges started per test
with short leases so a killed worker's jobs resume within seconds.

The table of figures is printed at the end of the session and written to
``test-artifacts/reliability.md``. ``RELIABILITY_KILLS`` sets how many random worker kills
the kill scenario makes (default 20).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.chaos import Tally, table
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind, JobScript
from devenv.wordpress import LocalWordPress
from tests.sites import running_site

REPO = Path(__file__).resolve().parents[2]
ARTIFACT = REPO / "test-artifacts" / "reliability.md"
ROWS: list[Tally] = []

BridgeFactory = Callable[..., BridgeProcesses]


def kills_wanted() -> int:
    return int(os.environ.get("RELIABILITY_KILLS", "20"))


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWordPress]:
    yield from running_site(tmp_path_factory, "wp")


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeSegmind]:
    with FakeSegmind(default_job=JobScript(queued_s=0.2, processing_s=0.8)) as segmind:
        yield segmind


@pytest.fixture
def segmind(fake: FakeSegmind) -> Iterator[FakeSegmind]:
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture
def editor(site: LocalWordPress) -> Iterator[EditorSession]:
    session = EditorSession(site)
    yield session
    session.close()


@pytest.fixture
def start_bridge(
    site: LocalWordPress, segmind: FakeSegmind, tmp_path: Path
) -> Iterator[BridgeFactory]:
    """Starts a bridge on the Segmind fake and points the plugin at it."""
    started: list[BridgeProcesses] = []

    def start(**extra: str) -> BridgeProcesses:
        env = {
            "WP_URL": site.url,
            "WP_USER": site.bridge.login,
            "WP_APP_PASSWORD": site.bridge.app_password,
            "BRIDGE_WEBHOOK_SECRET": str(site.plugin_settings()["secret"]),
            "SEGMIND_API_KEY": segmind.api_key,
            "SEGMIND_WORKFLOW_URL": segmind.workflow_url,
            "BRIDGE_DOWNLOAD_ALLOW": "127.0.0.1/32",  # the fake serves its images on loopback
            "SEGMIND_POLL_SCHEDULE": "fixed",  # the fake's runs take a second, not 35 s
            "SEGMIND_POLL_INTERVAL": "0.1",
            "SEGMIND_DEADLINE": "60",
            "BRIDGE_WORKERS": "4",
            "BRIDGE_RETRY_DELAY": "0.3",
            "BRIDGE_JOB_RETRIES": "10",
            "BRIDGE_LEASE_SECONDS": "5",
            "BRIDGE_SWEEP_INTERVAL": "0.25",
            **extra,
        }
        bridge = BridgeProcesses(env, tmp_path / f"bridge-{len(started)}")
        started.append(bridge)
        bridge.start()
        site.update_plugin_settings(bridge_url=bridge.url, enabled=True)
        return bridge

    yield start
    for bridge in started:
        bridge.stop()


@pytest.fixture(scope="session")
def report() -> Iterator[list[Tally]]:
    yield ROWS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    text = table(ROWS)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text("# Reliability\n\n" + text)
    terminalreporter.section("reliability")
    terminalreporter.write(text)
    terminalreporter.write_line(f"(written to {ARTIFACT.relative_to(REPO)})")
