"""A real WordPress (Debian's packages) started *without* the plugin, for installing the
plugin zip through wp-admin as a site owner would. Its own site, so the other suites' sites
(which have the plugin copied in and active) stay as they are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.plugin_zip import build_plugin_zip
from devenv.wordpress import LocalWordPress


@pytest.fixture
def bare_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWordPress]:
    """A fresh WordPress with no Featured Image Bridge plugin in wp-content/plugins (one per
    test: installing changes the site)."""
    wordpress = LocalWordPress(tmp_path_factory.mktemp("wp-bare"), plugin_dir=None)
    wordpress.start()
    yield wordpress
    wordpress.stop()


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip ``make plugin-zip`` builds, built into a temporary directory."""
    return build_plugin_zip(dist_dir=tmp_path_factory.mktemp("dist"))
