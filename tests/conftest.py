"""Shared fixtures. Integration fixtures (real WordPress, fake Segmind) live in
``tests/integration/conftest.py``. ``browser`` is here so that every browser test directory
shares one Playwright instance: a second sync_playwright() in the same thread fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, sync_playwright

from bridge.config import Settings
from devenv import browser as chromium
from devenv.redis_server import LocalRedis
from tests.signing import new_secret


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """A test that runs ``bridge`` commands configures logging onto its captured stderr, closed
    when the test ends: the root logger gets its handlers back, so a later record (from any
    thread) is not written to a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def settings(tmp_path: Path, secret: str) -> Settings:
    return Settings.from_env(
        {
            "BRIDGE_WEBHOOK_SECRET": secret,
            "WP_URL": "http://127.0.0.1:9",
            "WP_USER": "bridge",
            "WP_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx",
            "BRIDGE_DATA_DIR": str(tmp_path / "data"),
        }
    )


@pytest.fixture
def redis_client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    """A client of the session's Redis that decodes answers, as the bridge's does; tests
    keep apart by key prefix."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def redis_settings(settings: Settings, redis_server: LocalRedis) -> Settings:
    """``settings`` with ``BRIDGE_REDIS_URL`` pointing at the session's (emptied) Redis."""
    with_redis = replace(settings, redis_url=redis_server.url)
    redis.Redis.from_url(redis_server.url).flushdb()
    return with_redis


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, for the whole session (devenv/browser.py)."""
    with sync_playwright() as playwright:
        launched = chromium.launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    """One private redis-server for the session; tests keep apart by key prefix or FLUSHDB."""
    with LocalRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server
