"""The real WordPress each test suite starts once per session (Debian's packages)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.wordpress import LocalWordPress

REPO = Path(__file__).resolve().parents[1]


def running_site(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[LocalWordPress]:
    """A fresh WordPress with the plugin active, stopped when the session ends."""
    wordpress = LocalWordPress(tmp_path_factory.mktemp(name), plugin_dir=REPO / "wp-plugin")
    wordpress.start()
    yield wordpress
    wordpress.stop()
