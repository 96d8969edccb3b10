"""Who may use the settings page's and the Tools screen's actions, and with which nonce.

Every request here is what a logged-in browser would send; none of them may change anything
or reach the bridge.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import httpx
import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.posts import login
from devenv.wordpress import LocalWordPress, WordPressUser

pytestmark = pytest.mark.wordpress


@pytest.fixture(scope="module")
def author(site: LocalWordPress) -> WordPressUser:
    """A user who may write posts but not edit other people's (no edit_others_posts)."""
    password = secrets.token_urlsafe(12)
    login_name = "author-" + secrets.token_hex(3)
    user_id = int(
        site.php(
            "echo wp_insert_user( array( 'user_login' => "
            f"'{login_name}', 'user_pass' => '{password}', 'role' => 'author', "
            f"'user_email' => '{login_name}@example.com' ) );"
        ).strip()
    )
    return WordPressUser(login=login_name, password=password, app_password="", user_id=user_id)


@pytest.fixture
def as_author(site: LocalWordPress, author: WordPressUser) -> Iterator[httpx.Client]:
    browser = login(site, author)
    yield browser
    browser.close()


@pytest.fixture
def as_editor(site: LocalWordPress, use_local: BridgeProcesses) -> Iterator[httpx.Client]:
    browser = login(site, site.editor)
    yield browser
    browser.close()


def _run_option(site: LocalWordPress) -> str:
    return site.php("echo (string) get_option( 'fib_backfill_run', '' );").strip()


def test_an_editor_cannot_test_the_connection(as_editor: httpx.Client) -> None:
    response = as_editor.post("/wp-admin/admin-post.php", data={"action": "fib_test_connection"})
    assert response.status_code == 403


def test_an_editor_cannot_regenerate_the_secret(
    site: LocalWordPress, as_editor: httpx.Client
) -> None:
    before = site.plugin_settings()["secret"]
    response = as_editor.post("/wp-admin/admin-post.php", data={"action": "fib_regenerate_secret"})
    assert response.status_code == 403
    assert site.plugin_settings()["secret"] == before


def test_an_author_cannot_open_the_tools_screen_or_start_a_run(
    site: LocalWordPress, as_author: httpx.Client
) -> None:
    screen = as_author.get("/wp-admin/tools.php", params={"page": "fib-backfill"})
    assert screen.status_code == 403
    assert "fib-missing-counts" not in screen.text
    before = _run_option(site)
    start = as_author.post(
        "/wp-admin/admin-post.php",
        data={"action": "fib_backfill_start", "post_types[]": "post"},
    )
    assert start.status_code == 403
    status = as_author.get(
        "/wp-admin/admin-ajax.php", params={"action": "fib_backfill_status", "run": "r1"}
    )
    assert status.status_code == 403
    assert _run_option(site) == before


def test_an_editor_without_the_nonce_cannot_start_a_run(
    site: LocalWordPress, as_editor: httpx.Client
) -> None:
    before = _run_option(site)
    response = as_editor.post(
        "/wp-admin/admin-post.php",
        data={"action": "fib_backfill_start", "post_types[]": "post", "fib_start_nonce": "0"},
    )
    assert response.status_code == 403
    assert _run_option(site) == before


def test_a_run_nonce_is_only_good_for_its_own_run(
    site: LocalWordPress, as_editor: httpx.Client
) -> None:
    site.php("update_option( 'fib_backfill_run', 'run-a' );")
    try:
        screen = as_editor.get("/wp-admin/tools.php", params={"page": "fib-backfill"}).text
        nonce = screen.split('data-nonce="', 1)[1].split('"', 1)[0]
        control = as_editor.post(
            "/wp-admin/admin-ajax.php",
            data={
                "action": "fib_backfill_control",
                "run": "run-b",
                "nonce": nonce,
                "command": "cancel",
            },
        )
        assert control.status_code == 403
        assert "expired" in json.loads(control.text)["data"]["message"]
        own = as_editor.get(
            "/wp-admin/admin-ajax.php",
            params={"action": "fib_backfill_status", "run": "run-a", "nonce": nonce},
        )
        # The nonce is accepted; the bridge (without backfills) cannot report on the run.
        assert own.status_code != 403
    finally:
        site.php("delete_option( 'fib_backfill_run' );")


def test_a_forged_dry_run_link_shows_no_dry_run(as_editor: httpx.Client) -> None:
    screen = as_editor.get(
        "/wp-admin/tools.php",
        params={"page": "fib-backfill", "fib-dry-run": "1", "_wpnonce": "forged"},
    )
    assert screen.status_code == 200
    assert "fib-missing-counts" in screen.text
    assert "fib-dry-run-result" not in screen.text
