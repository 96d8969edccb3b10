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


#: The subsites of the test network: ``/news/`` and ``/sport/``.
SUBSITES = ("news", "sport")


def running_network(
    tmp_path_factory: pytest.TempPathFactory, name: str, subsites: tuple[str, ...] = SUBSITES
) -> Iterator[LocalWordPress]:
    """A fresh subdirectory multisite network with the plugin network-activated, stopped when
    the session ends. ``network.subsites`` are the subsites: each has its ``url``, and its
    ``bridge`` user (the same account everywhere, an editor of every subsite) whose
    Application Password works on each subsite's REST API and XML-RPC."""
    network = LocalWordPress(
        tmp_path_factory.mktemp(name), plugin_dir=REPO / "wp-plugin", subsites=subsites
    )
    network.start()
    yield network
    network.stop()
