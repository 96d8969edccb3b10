"""Who may regenerate: only users who can edit the post, with a nonce that names that post."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession, login
from devenv.wordpress import LocalWordPress, WordPressUser

pytestmark = pytest.mark.wordpress


@pytest.fixture(scope="module")
def contributor(site: LocalWordPress) -> WordPressUser:
    """A contributor: may write drafts of their own, may not edit the editor's posts."""
    password = secrets.token_urlsafe(16)
    out = site.php(
        "echo wp_insert_user( array( 'user_login' => 'writer', 'user_pass' => '"
        + password
        + "', 'user_email' => 'writer@example.org', 'role' => 'contributor' ) );"
    )
    return WordPressUser("writer", password, "", int(out.strip()))


@pytest.fixture
def post_id(bridge: BridgeProcesses, rest: EditorSession) -> int:
    """The editor's published post, with its generated image."""
    post_id = rest.create_post("Harbour lights", "Boats at dusk.")
    assert rest.wait_for(post_id).generation == "done"
    return post_id


@pytest.fixture
def cookie_session(site: LocalWordPress) -> Iterator[Callable[[WordPressUser], httpx.Client]]:
    clients: list[httpx.Client] = []

    def open_session(user: WordPressUser) -> httpx.Client:
        clients.append(login(site, user))
        return clients[-1]

    yield open_session
    for client in clients:
        client.close()


def _regenerate_link(client: httpx.Client, post_id: int) -> str:
    page = client.get("/wp-admin/edit.php").text
    match = re.search(
        rf'href="([^"]*admin-post\.php\?action=fib_regenerate(?:&|&amp;|&#038;)post={post_id}[^"]*)"',
        page,
    )
    assert match, f"no regenerate link for post {post_id}"
    return match.group(1).replace("&#038;", "&").replace("&amp;", "&")


def _rest_nonce(client: httpx.Client) -> str:
    return client.get("/wp-admin/admin-ajax.php", params={"action": "rest-nonce"}).text.strip()


def test_a_contributor_is_refused_everywhere(
    site: LocalWordPress,
    contributor: WordPressUser,
    post_id: int,
    rest: EditorSession,
    cookie_session: Callable[[WordPressUser], httpx.Client],
    logged_in: Callable[[WordPressUser], Page],
) -> None:
    before = rest.post(post_id)
    editor_link = _regenerate_link(cookie_session(site.editor), post_id)

    writer = cookie_session(contributor)
    refused = writer.get(editor_link.removeprefix(site.url))
    assert refused.status_code == 403
    assert "not allowed" in refused.text

    nonce = _rest_nonce(writer)
    route = {"rest_route": f"/fib/v1/posts/{post_id}/regenerate"}
    answer = writer.post("/", params=route, headers={"X-WP-Nonce": nonce})
    assert answer.status_code == 403
    status = writer.get(
        "/", params={"rest_route": f"/fib/v1/posts/{post_id}/status"}, headers={"X-WP-Nonce": nonce}
    )
    assert status.status_code == 403

    page = logged_in(contributor)
    page.goto("/wp-admin/edit.php")
    expect(page.locator(f"#post-{post_id}")).to_be_visible()
    expect(page.locator(f"#post-{post_id} .fib-regenerate-link")).to_have_count(0)

    after = rest.post(post_id)
    assert after.meta["_fib_job_id"] == before.meta["_fib_job_id"]
    assert after.featured_media == before.featured_media


def test_a_nonce_for_another_post_or_none_is_refused(
    site: LocalWordPress,
    post_id: int,
    rest: EditorSession,
    cookie_session: Callable[[WordPressUser], httpx.Client],
) -> None:
    other = rest.create_post("Another post", "Its own nonce.")
    rest.wait_for(other)
    editor = cookie_session(site.editor)
    link_for_other = _regenerate_link(editor, other)
    before = rest.post(post_id)

    swapped = link_for_other.replace(f"post={other}", f"post={post_id}")
    assert editor.get(swapped.removeprefix(site.url)).status_code == 403
    without = re.sub(r"&_wpnonce=[^&]*", "", swapped)
    assert editor.get(without.removeprefix(site.url)).status_code == 403

    # The REST route with a cookie but without the REST nonce: treated as logged out.
    route = {"rest_route": f"/fib/v1/posts/{post_id}/regenerate"}
    assert editor.post("/", params=route).status_code == 401

    after = rest.post(post_id)
    assert after.meta["_fib_job_id"] == before.meta["_fib_job_id"]


def test_the_rest_route_regenerates_for_an_editor(post_id: int, rest: EditorSession) -> None:
    before = rest.post(post_id)
    answer = rest.http.post("", params={"rest_route": f"/fib/v1/posts/{post_id}/regenerate"})
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] in ("queued", "generating", "uploading", "done")
    assert body["job_id"] and body["job_id"] != before.meta["_fib_job_id"]

    missing = rest.http.post("", params={"rest_route": "/fib/v1/posts/999999/regenerate"})
    assert missing.status_code == 404


def test_the_bulk_action_skips_posts_the_user_cannot_edit(
    site: LocalWordPress,
    contributor: WordPressUser,
    post_id: int,
    rest: EditorSession,
    cookie_session: Callable[[WordPressUser], httpx.Client],
) -> None:
    before = rest.post(post_id)
    writer = cookie_session(contributor)
    listing = writer.get("/wp-admin/edit.php").text
    match = re.search(r'id="_wpnonce" name="_wpnonce" value="([0-9a-f]+)"', listing)
    assert match, "no bulk-posts nonce on the posts list"

    answer = writer.get(
        "/wp-admin/edit.php",
        params={"action": "fib_generate", "post[]": str(post_id), "_wpnonce": match.group(1)},
    )
    assert "fib-denied=1" in str(answer.history[0].headers["location"])
    assert "1 not allowed" in answer.text
    assert rest.post(post_id).meta["_fib_job_id"] == before.meta["_fib_job_id"]
