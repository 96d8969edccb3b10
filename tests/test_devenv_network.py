"""The local WordPress as a subdirectory multisite network (devenv/wordpress.py ``subsites``)."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devenv.wordpress import LocalWordPress, WordPressError
from tests.test_devenv_wordpress import require_packages


@pytest.mark.parametrize("names", [("News",), ("blog",), ("wp-admin",), ("a/b",), ("x", "x")])
def test_subsite_names_are_checked_first(tmp_path: Path, names: tuple[str, ...]) -> None:
    with pytest.raises(WordPressError, match="subsite"):
        LocalWordPress(tmp_path, subsites=names)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWordPress]:
    require_packages()
    wordpress = LocalWordPress(tmp_path_factory.mktemp("network"), subsites=("news", "sport"))
    wordpress.start()
    try:
        yield wordpress
    finally:
        wordpress.stop()


@pytest.mark.wordpress
def test_each_subsite_answers_under_its_path_with_the_bridge_users_app_password(
    network: LocalWordPress,
) -> None:
    assert [s.name for s in network.subsites] == ["news", "sport"]
    with httpx.Client(timeout=30) as http:
        for subsite in network.subsites:
            assert subsite.php("echo get_current_blog_id();").strip() == str(subsite.blog_id)
            index = http.get(f"{subsite.rest_url}/").json()
            assert index["url"] == subsite.url

            me = http.get(
                f"{subsite.rest_url}/wp/v2/users/me",
                params={"context": "edit"},
                auth=subsite.bridge.auth,
            )
            assert me.status_code == 200, me.text
            assert me.json()["roles"] == ["editor"]

            blogs = xmlrpc.client.ServerProxy(f"{subsite.url}/xmlrpc.php").wp.getUsersBlogs(
                subsite.bridge.login, subsite.bridge.app_password
            )
            assert f"{subsite.url}/" in [blog["url"] for blog in blogs]  # type: ignore[union-attr]

            # The network's rewrite rules, as php -S serves them (devenv/php/router.php).
            admin = http.get(f"{subsite.url}/wp-admin")
            assert (admin.status_code, admin.headers["location"]) == (
                301,
                f"/{subsite.name}/wp-admin/",
            )
            login = http.get(f"{subsite.url}/wp-admin/")
            assert login.status_code == 302 and "wp-login.php" in login.headers["location"]
            css = http.get(f"{subsite.url}/wp-includes/css/dashicons.min.css")
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
