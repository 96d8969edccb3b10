"""Shared fixtures. Integration fixtures (real WordPress, fake Segmind) live in
``tests/integration/conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import Settings
from tests.signing import new_secret


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
