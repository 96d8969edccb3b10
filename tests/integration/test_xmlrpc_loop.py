"""The whole loop with a bridge that reaches WordPress over XML-RPC only (its user is refused
by the REST API, as on a host that blocks it)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from bridge.wordpress import WordPressClient, WordPressError
from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress, WordPressUser

pytestmark = pytest.mark.wordpress


def test_a_published_post_gets_its_title_card_over_xmlrpc(
    use_xmlrpc: BridgeProcesses, editor: EditorSession
) -> None:
    post_id = editor.create_post(
        "Bees &amp; <em>wild</em> flowers on a balcony",
        "<!-- wp:paragraph --><p>Pots, seeds and patience.</p><!-- /wp:paragraph -->",
    )
    view = editor.wait_for(post_id)
    assert view.generation == "done", view.message
    assert view.featured_media
    assert view.meta["_fib_attachment_id"] == view.featured_media
    assert view.meta["_fib_job_id"]
    media = editor.media(view.featured_media)
    assert media["post"] == post_id
    assert media["alt_text"] == "Bees & wild flowers on a balcony"
    assert media["title"]["raw"] == "Bees & wild flowers on a balcony"
    assert str(media["source_url"]).endswith("/bees-wild-flowers-on-a-balcony.jpg")
    image = Image.open(io.BytesIO(httpx.get(str(media["source_url"]), timeout=10).content))
    assert image.format == "JPEG" and image.size == (1200, 630)


def test_the_xmlrpc_bridges_user_is_refused_by_rest(
    site: LocalWordPress, xmlrpc_only_user: WordPressUser
) -> None:
    """What makes the test above prove that the bridge used XML-RPC alone."""
    rest = WordPressClient(site.url, xmlrpc_only_user.login, xmlrpc_only_user.app_password)
    with pytest.raises(WordPressError) as caught:
        rest.get_post("post", 1)
    rest.close()
    assert caught.value.status == 403


@pytest.mark.parametrize("good_password", [True, False], ids=["good", "wrong-password"])
def test_bridge_check_over_xmlrpc(
    site: LocalWordPress, xmlrpc_only_user: WordPressUser, tmp_path: Path, good_password: bool
) -> None:
    password = xmlrpc_only_user.app_password if good_password else "abcd efgh ijkl mnop qrst uvwx"
    env = {
        **os.environ,
        "WP_URL": site.url,
        "WP_TRANSPORT": "xmlrpc",
        "WP_USER": xmlrpc_only_user.login,
        "WP_APP_PASSWORD": password,
        "BRIDGE_WEBHOOK_SECRET": str(site.plugin_settings()["secret"]),
        "BRIDGE_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert password not in output
    if good_password:
        assert result.returncode == 0, output
        assert f"{xmlrpc_only_user.login} (editor) on {site.title}" in output
    else:
        assert result.returncode == 1
        assert "WP_APP_PASSWORD" in output
