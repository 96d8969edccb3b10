"""One bridge, two real WordPress sites, served from one sites file: one over REST, one over
XML-RPC. Each plugin names its site (``X-FIB-Site``), each site's webhooks are verified with its
own secret, and each post gets its image on its own site. The same for the subsites of a
multisite network."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress, Subsite, WordPressUser
from tests.integration.wp_users import rest_blocked_editor
from tests.sites import running_site

pytestmark = pytest.mark.wordpress


@pytest.fixture(scope="module")
def second_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWordPress]:
    yield from running_site(tmp_path_factory, "wp-second")


def site_table(
    site: LocalWordPress | Subsite,
    transport: str,
    user: WordPressUser | None = None,
    *,
    password: str | None = None,
) -> str:
    user = user or site.bridge
    return f"""
[[site]]
url = "{site.url}"
webhook_secret = "{site.plugin_settings()["secret"]}"
wp_user = "{user.login}"
wp_app_password = "{user.app_password if password is None else password}"
wp_transport = "{transport}"
provider = "local"
"""


@pytest.fixture(scope="module")
def second_user(second_site: LocalWordPress) -> WordPressUser:
    """The second site's bridge user, whom its REST API refuses: nothing there can go over
    REST unnoticed."""
    return rest_blocked_editor(second_site)


def bridge_env(sites_file: Path) -> dict[str, str]:
    return {
        "BRIDGE_SITES_FILE": str(sites_file),
        "BRIDGE_WORKERS": "4",
        "BRIDGE_RETRY_DELAY": "0.2",
        "BRIDGE_JOB_RETRIES": "2",
    }


@pytest.fixture(scope="module")
def sites_file(
    site: LocalWordPress,
    second_site: LocalWordPress,
    second_user: WordPressUser,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    path = tmp_path_factory.mktemp("many-sites") / "sites.toml"
    path.write_text(site_table(site, "rest") + site_table(second_site, "xmlrpc", second_user))
    return path


@pytest.fixture(scope="module")
def shared_bridge(
    site: LocalWordPress,
    second_site: LocalWordPress,
    sites_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BridgeProcesses]:
    """Both sites' plugins point at one bridge; the first site's settings come back after."""
    before = site.plugin_settings()
    with BridgeProcesses(bridge_env(sites_file), tmp_path_factory.mktemp("shared")) as bridge:
        for each in (site, second_site):
            each.update_plugin_settings(bridge_url=bridge.url, enabled=True)
        yield bridge
    site.update_plugin_settings(bridge_url=before["bridge_url"], enabled=before["enabled"])


def test_each_post_gets_its_image_on_its_own_site(
    shared_bridge: BridgeProcesses, site: LocalWordPress, second_site: LocalWordPress
) -> None:
    first, second = EditorSession(site), EditorSession(second_site)
    try:
        first_id = first.create_post("Harbour lights", "Boats at dusk.")
        second_id = second.create_post("Orchard in bloom", "Apple trees in May.")
        first_view, second_view = first.wait_for(first_id), second.wait_for(second_id)
        assert first_view.generation == "done", first_view.message
        assert second_view.generation == "done", second_view.message
        first_media = first.media(first_view.featured_media)
        second_media = second.media(second_view.featured_media)
    finally:
        first.close()
        second.close()
    assert str(first_media["source_url"]).startswith(site.url)
    assert str(second_media["source_url"]).startswith(second_site.url)
    assert first_media["alt_text"] == "Harbour lights" and first_media["post"] == first_id
    assert second_media["alt_text"] == "Orchard in bloom" and second_media["post"] == second_id


def test_each_plugins_connection_test_reaches_its_own_site(
    shared_bridge: BridgeProcesses, site: LocalWordPress, second_site: LocalWordPress
) -> None:
    for each in (site, second_site):
        result = json.loads(
            each.php("echo wp_json_encode( \\FeaturedImageBridge\\test_connection() );")
        )
        assert result["ok"] is True, result
        checks = {check["name"]: check for check in result["checks"]}
        assert checks["wordpress"]["ok"] is True


def run_bridge(sites_file: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**bridge_env(sites_file), "BRIDGE_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_sites_command(sites_file: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_bridge(sites_file, data_dir, "sites", "--json")


def test_bridge_check_and_backfill_follow_the_site(
    site: LocalWordPress, second_site: LocalWordPress, sites_file: Path, tmp_path: Path
) -> None:
    check = run_bridge(sites_file, tmp_path, "check")
    assert check.returncode == 0, check.stderr
    assert f"site: {site.url}" in check.stdout and f"site: {second_site.url}" in check.stdout
    assert check.stdout.count("credentials accepted") == 2

    unnamed = run_bridge(sites_file, tmp_path, "backfill", "--dry-run")
    assert unnamed.returncode == 2 and "name a site with --site URL" in unnamed.stderr
    enabled = second_site.plugin_settings()["enabled"]
    second_site.update_plugin_settings(enabled=False)  # published with the plugin off
    editor = EditorSession(second_site)
    try:
        editor.create_post("Still without an image", status="publish")
    finally:
        editor.close()
        second_site.update_plugin_settings(enabled=enabled)
    dry = run_bridge(sites_file, tmp_path, "backfill", "--dry-run", "--site", second_site.url)
    assert dry.returncode == 0, dry.stderr
    assert f"posts of {second_site.url} without an image" in dry.stdout
    assert "Still without an image" in dry.stdout


def test_bridge_sites_lists_and_checks_every_site(
    site: LocalWordPress,
    second_site: LocalWordPress,
    second_user: WordPressUser,
    sites_file: Path,
    tmp_path: Path,
) -> None:
    good = run_sites_command(sites_file, tmp_path / "data")
    assert good.returncode == 0, good.stderr
    listing = json.loads(good.stdout)
    assert listing["ok"] is True
    assert [(s["url"], s["transport"]) for s in listing["sites"]] == [
        (site.url, "rest"),
        (second_site.url, "xmlrpc"),
    ]
    assert all(s["key_id"] == "local" for s in listing["sites"])

    broken = tmp_path / "broken.toml"
    broken.write_text(
        site_table(site, "rest") + site_table(second_site, "xmlrpc", second_user, password="x")
    )
    bad = run_sites_command(broken, tmp_path / "data")
    assert bad.returncode == 1
    sites = {s["url"]: s for s in json.loads(bad.stdout)["sites"]}
    assert sites[site.url]["ok"] is True
    failed = {c["name"]: c for c in sites[second_site.url]["checks"]}["wordpress"]
    assert failed["ok"] is False and "WordPress" in failed["message"]
    assert second_user.app_password not in bad.stdout


def test_one_bridge_serves_every_subsite_of_a_network(
    network: LocalWordPress, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A new subsite's first post has the same ID on every subsite: each image still lands on
    the subsite that asked for it."""
    network.reset()
    path = tmp_path_factory.mktemp("network-sites") / "sites.toml"
    path.write_text(
        "".join(
            site_table(subsite, "xmlrpc" if number % 2 else "rest")
            for number, subsite in enumerate(network.subsites)
        )
    )
    with BridgeProcesses(bridge_env(path), tmp_path_factory.mktemp("network-bridge")) as bridge:
        posts: dict[str, int] = {}
        for subsite in network.subsites:
            subsite.update_plugin_settings(bridge_url=bridge.url, enabled=True)
            editor = EditorSession(subsite)
            try:
                posts[subsite.name] = editor.create_post(f"Lights over {subsite.name}")
            finally:
                editor.close()
        assert len(set(posts.values())) == 1, f"precondition: one post ID, got {posts}"
        for subsite in network.subsites:
            editor = EditorSession(subsite)
            try:
                view = editor.wait_for(posts[subsite.name])
                assert view.generation == "done", f"{subsite.name}: {view.message}"
                media = editor.media(view.featured_media)
            finally:
                editor.close()
            # Read through this subsite's own REST API: its attachment, for its own post.
            assert media["alt_text"] == f"Lights over {subsite.name}"
            assert media["post"] == posts[subsite.name]
