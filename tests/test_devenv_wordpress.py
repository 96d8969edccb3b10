"""Tests of the local-WordPress harness (devenv/wordpress.py) against a real WordPress."""

from __future__ import annotations

import os
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devenv.wordpress import (
    DEBIAN_PACKAGES,
    PLUGIN_FILE,
    LocalWordPress,
    MissingPackages,
    PhpError,
    missing_packages,
)

pytestmark = pytest.mark.wordpress

DUMMY_PLUGIN = """<?php
/**
 * Plugin Name: Featured Image Bridge (devenv test dummy)
 * Description: Stands in for the real plugin: sets fib_settings on activation.
 * Version: 0.0.1
 */

register_activation_hook(
	__FILE__,
	function () {
		if ( false === get_option( 'fib_settings' ) ) {
			add_option(
				'fib_settings',
				array(
					'enabled'    => true,
					'bridge_url' => '',
					'secret'     => wp_generate_password( 32, false ),
				)
			);
		}
	}
);

// A route that calls back into the site during a request, as the bridge will.
add_action(
	'rest_api_init',
	function () {
		register_rest_route(
			'fib-devenv-test/v1',
			'/loopback',
			array(
				'methods'             => 'GET',
				'permission_callback' => '__return_true',
				'callback'            => function () {
					$args     = array( 'timeout' => 10 );
					$inner    = wp_remote_get( rest_url( 'wp/v2/types' ), $args );
					$external = wp_remote_get( 'http://example.com/', $args );
					return array(
						'inner'    => is_wp_error( $inner )
							? $inner->get_error_message()
							: wp_remote_retrieve_response_code( $inner ),
						'external' => is_wp_error( $external )
							? $external->get_error_code()
							: wp_remote_retrieve_response_code( $external ),
					);
				},
			)
		);
	}
);
"""


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG, built without Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xc0\x40\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def our_processes(root: Path) -> list[str]:
    """Lines of `ps` for processes that mention root (zombies excluded)."""
    out = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [
        line
        for line in out.splitlines()
        if str(root) in line and not line.split()[1].startswith("Z")
    ]


def require_packages() -> None:
    """Skip when the Debian packages are missing; in CI (CI=true) fail instead."""
    missing = missing_packages()
    if not missing:
        return
    message = f"Debian packages missing: {' '.join(missing)} (apt-get install -y them)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def dummy_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plugin_dir = tmp_path_factory.mktemp("plugin") / "featured-image-bridge"
    plugin_dir.mkdir()
    (plugin_dir / "featured-image-bridge.php").write_text(DUMMY_PLUGIN)
    return plugin_dir


@pytest.fixture(scope="module")
def wp(tmp_path_factory: pytest.TempPathFactory, dummy_plugin: Path) -> Iterator[LocalWordPress]:
    require_packages()
    site = LocalWordPress(tmp_path_factory.mktemp("wordpress"), plugin_dir=dummy_plugin)
    site.start()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture
def client(wp: LocalWordPress) -> Iterator[httpx.Client]:
    wp.reset()
    with httpx.Client(base_url=wp.url, timeout=30) as http:
        yield http


def create_post(client: httpx.Client, wp: LocalWordPress, title: str) -> dict[str, object]:
    resp = client.post(
        "/wp-json/wp/v2/posts",
        auth=wp.editor.auth,
        json={"title": title, "content": "<p>Hello from the tests.</p>", "status": "publish"},
    )
    assert resp.status_code == 201, resp.text
    post: dict[str, object] = resp.json()
    return post


def test_debian_package_list() -> None:
    assert "wordpress" in DEBIAN_PACKAGES
    assert "php-intl" in DEBIAN_PACKAGES
    assert len(set(DEBIAN_PACKAGES)) == len(DEBIAN_PACKAGES)
    err = MissingPackages(["php-gd", "php-intl"])
    assert "apt-get install -y php-gd php-intl" in str(err)
    assert err.packages == ("php-gd", "php-intl")


def test_site_basics(wp: LocalWordPress, client: httpx.Client) -> None:
    assert wp.url.startswith("http://127.0.0.1:")
    assert not wp.url.endswith("/")
    index = client.get("/wp-json/")
    assert index.status_code == 200
    assert index.json()["url"] == wp.url
    assert client.get("/wp-json/wp/v2/posts").status_code == 200
    # Static files are served as they are; directories get their index.php.
    css = client.get("/wp-includes/css/dashicons.min.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    admin = client.get("/wp-admin/")
    assert admin.status_code == 302
    assert "wp-login.php" in admin.headers["location"]
    assert client.get("/wp-login.php").status_code == 200


def test_users_and_roles(wp: LocalWordPress, client: httpx.Client) -> None:
    expected = {"admin": "administrator", "editor": "editor", "bridge": "editor"}
    for user in (wp.admin, wp.editor, wp.bridge):
        resp = client.get("/wp-json/wp/v2/users/me", params={"context": "edit"}, auth=user.auth)
        assert resp.status_code == 200, resp.text
        me = resp.json()
        assert me["id"] == user.user_id
        assert me["username"] == user.login
        assert me["roles"] == [expected[user.login]]
    wrong = client.get("/wp-json/wp/v2/users/me", auth=(wp.editor.login, "not the password"))
    assert wrong.status_code == 401


def test_editor_publishes_post(wp: LocalWordPress, client: httpx.Client) -> None:
    post = create_post(client, wp, "Devenv harness post")
    assert post["status"] == "publish"
    assert post["author"] == wp.editor.user_id
    assert isinstance(post["link"], str) and post["link"].startswith(wp.url + "/")
    page = client.get(post["link"])
    assert page.status_code == 200
    assert "Devenv harness post" in page.text


def test_bridge_uploads_media(wp: LocalWordPress, client: httpx.Client) -> None:
    png = tiny_png()
    resp = client.post(
        "/wp-json/wp/v2/media",
        auth=wp.bridge.auth,
        content=png,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="bridge-test.png"',
        },
    )
    assert resp.status_code == 201, resp.text
    media = resp.json()
    assert media["author"] == wp.bridge.user_id
    assert media["mime_type"] == "image/png"
    source_url = media["source_url"]
    assert source_url.startswith(wp.url + "/wp-content/uploads/")
    assert source_url.endswith("bridge-test.png")
    served = client.get(source_url)
    assert served.status_code == 200
    assert served.content == png
    assert served.headers["content-type"].startswith("image/png")
    on_disk = list(wp.uploads_dir.rglob("bridge-test.png"))
    assert len(on_disk) == 1

    # The bridge (an editor) may set it as the featured image of the editor's post.
    post = create_post(client, wp, "Post with a featured image")
    update = client.post(
        f"/wp-json/wp/v2/posts/{post['id']}",
        auth=wp.bridge.auth,
        json={"featured_media": media["id"]},
    )
    assert update.status_code == 200, update.text
    assert update.json()["featured_media"] == media["id"]


def test_reset_removes_new_posts_and_uploads(wp: LocalWordPress, client: httpx.Client) -> None:
    post = create_post(client, wp, "Gone after reset")
    upload = client.post(
        "/wp-json/wp/v2/media",
        auth=wp.bridge.auth,
        content=tiny_png(),
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="reset-me.png"',
        },
    )
    assert upload.status_code == 201, upload.text
    assert client.get(f"/wp-json/wp/v2/posts/{post['id']}").status_code == 200

    started = time.monotonic()
    wp.reset()
    elapsed = time.monotonic() - started
    assert elapsed < 10

    assert client.get(f"/wp-json/wp/v2/posts/{post['id']}").status_code == 404
    media = client.get("/wp-json/wp/v2/media", auth=wp.admin.auth).json()
    assert media == []
    assert list(wp.uploads_dir.iterdir()) == []
    # Users and their application passwords survive the reset.
    assert client.get("/wp-json/wp/v2/users/me", auth=wp.editor.auth).status_code == 200


def test_plugin_active(wp: LocalWordPress, client: httpx.Client) -> None:
    plugins = client.get("/wp-json/wp/v2/plugins", auth=wp.admin.auth)
    assert plugins.status_code == 200, plugins.text
    by_file = {p["plugin"]: p for p in plugins.json()}
    assert by_file[PLUGIN_FILE.removesuffix(".php")]["status"] == "active"
    assert wp.php(f"echo is_plugin_active( '{PLUGIN_FILE}' ) ? 'yes' : 'no';") == "yes"
    installed = wp.docroot / "wp-content" / "plugins" / PLUGIN_FILE
    assert installed.is_file()


def test_request_can_call_back_into_the_site(wp: LocalWordPress, client: httpx.Client) -> None:
    # php -S runs several workers, so a request may make another request to the site;
    # requests to anything but 127.0.0.1/localhost are blocked (no internet here).
    started = time.monotonic()
    resp = client.get("/wp-json/fib-devenv-test/v1/loopback")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"inner": 200, "external": "http_request_not_executed"}
    assert time.monotonic() - started < 10


def test_plugin_settings(wp: LocalWordPress, client: httpx.Client) -> None:
    settings = wp.plugin_settings()
    assert set(settings) >= {"enabled", "bridge_url", "secret"}
    assert isinstance(settings["secret"], str) and settings["secret"]

    changed = wp.update_plugin_settings(bridge_url="http://127.0.0.1:9/hook", enabled=False)
    assert changed["bridge_url"] == "http://127.0.0.1:9/hook"
    assert changed["enabled"] is False
    assert changed["secret"] == settings["secret"]
    assert wp.plugin_settings() == changed

    wp.reset()
    assert wp.plugin_settings() == settings


def test_php_helper(wp: LocalWordPress) -> None:
    assert wp.php("<?php echo get_bloginfo( 'name' );") == "Featured Image Bridge demo"
    assert wp.php("echo get_option( 'permalink_structure' );") == "/%postname%/"
    assert wp.php("echo wp_get_environment_type();") == "local"
    with pytest.raises(PhpError, match="boom"):
        wp.php("throw new RuntimeException( 'boom' );")


def test_stop_leaves_no_processes(tmp_path: Path, dummy_plugin: Path) -> None:
    require_packages()
    root = tmp_path / "site"
    with LocalWordPress(root) as site:
        assert httpx.get(f"{site.url}/wp-json/", timeout=30).status_code == 200
        assert our_processes(root), "expected mariadbd and php -S under the root"
        assert site.plugin_settings() == {}
    assert our_processes(root) == []
    site.stop()  # a second stop is harmless
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{site.url}/wp-json/", timeout=5)
