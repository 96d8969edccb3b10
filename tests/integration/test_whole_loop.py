"""Publish a post in the real WordPress; it gets its featured image, or a readable error."""

from __future__ import annotations

import io
import time

import httpx
import pytest
from PIL import Image

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession, PostView
from devenv.segmind_fake import FakeSegmind, JobScript
from devenv.wordpress import LocalWordPress
from tests.signing import event, signed

pytestmark = pytest.mark.wordpress


def _featured_image(editor: EditorSession, view: PostView) -> tuple[dict[str, object], Image.Image]:
    assert view.featured_media, f"post {view.id} has no featured image: {view.message}"
    media = editor.media(view.featured_media)
    data = httpx.get(str(media["source_url"]), timeout=10).content
    return media, Image.open(io.BytesIO(data))


def _barrier(editor: EditorSession) -> None:
    """Publishes a post and waits for its image: everything sent before it has been handled."""
    post_id = editor.create_post("Barrier post", "Makes sure earlier events were processed.")
    assert editor.wait_for(post_id).generation == "done"


def test_local_provider_gives_a_published_post_its_title_card(
    use_local: BridgeProcesses, editor: EditorSession
) -> None:
    post_id = editor.create_post(
        "Ten &amp; one <em>ideas</em> for a quiet garden",
        "<!-- wp:paragraph --><p>Stones, moss and water.</p><!-- /wp:paragraph -->",
    )
    view = editor.wait_for(post_id)
    assert view.generation == "done", view.message
    media, image = _featured_image(editor, view)
    assert image.format == "JPEG" and image.size == (1200, 630)
    assert media["alt_text"] == "Ten & one ideas for a quiet garden"
    assert str(media["source_url"]).endswith("/ten-one-ideas-for-a-quiet-garden.jpg")
    assert media["post"] == post_id
    assert view.meta["_fib_attachment_id"] == view.featured_media


@pytest.mark.parametrize(
    ("shape", "image_format"), [("list", "JPEG"), ("object", "PNG"), ("list", "WEBP")]
)
def test_segmind_gives_a_published_post_its_image(
    use_segmind: FakeSegmind, editor: EditorSession, shape: str, image_format: str
) -> None:
    use_segmind.queue_jobs(JobScript(output_shape=shape, image_format=image_format))  # type: ignore[arg-type]
    title = f"Mountain huts of the Alps, drawn as {image_format}"
    post_id = editor.create_post(title, excerpt="A week walking from hut to hut.")
    view = editor.wait_for(post_id)
    assert view.generation == "done", view.message
    media, image = _featured_image(editor, view)
    # Whatever the provider drew, the site gets its own format and size (the defaults here).
    assert (image.format, image.size, media["mime_type"]) == ("JPEG", (1200, 630), "image/jpeg")
    assert media["alt_text"] == title
    slug = f"mountain-huts-of-the-alps-drawn-as-{image_format.lower()}"
    assert str(media["source_url"]).endswith(f"/{slug}.jpg")
    (submission,) = use_segmind.submissions
    expected = f"Title: {title}\n\nDescription: A week walking from hut to hut.\n"
    assert submission["payload"] == {"Blog_title_and_description": expected}


def test_post_with_a_featured_image_and_a_draft_start_no_job(
    use_local: BridgeProcesses, editor: EditorSession
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(buffer, format="PNG")
    media_id = editor.upload_image(buffer.getvalue(), "chosen.png", "image/png")
    with_image = editor.create_post("Already illustrated", featured_media=media_id)
    draft = editor.create_post("Still a draft", status="draft")
    _barrier(editor)
    assert editor.post(with_image).generation == ""
    assert editor.post(with_image).featured_media == media_id
    assert editor.post(draft).generation == ""
    assert editor.post(draft).featured_media == 0


def test_a_post_that_opted_out_starts_no_job(
    use_local: BridgeProcesses, editor: EditorSession
) -> None:
    post_id = editor.create_post("Illustrated by hand later", meta={"_fib_skip": True})
    _barrier(editor)
    assert editor.post(post_id).generation == ""
    assert editor.post(post_id).featured_media == 0


def test_updating_a_published_post_starts_no_second_job(
    use_local: BridgeProcesses, editor: EditorSession
) -> None:
    post_id = editor.create_post("Published once")
    first = editor.wait_for(post_id)
    editor.update_post(post_id, title="Published once, edited twice")
    _barrier(editor)
    assert editor.post(post_id).featured_media == first.featured_media


@pytest.mark.parametrize(
    ("failure", "field", "shown"),
    [
        ("NSFW content detected", "error", "NSFW content detected"),
        (
            [{"model": "flux-dev", "error": "CUDA out of memory"}],
            "error_message",
            "flux-dev: CUDA out of memory",
        ),
    ],
)
def test_a_failed_run_leaves_the_providers_reason(
    use_segmind: FakeSegmind, editor: EditorSession, failure: object, field: str, shown: str
) -> None:
    use_segmind.queue_jobs(JobScript(outcome="failed", failure=failure, failure_field=field))  # type: ignore[arg-type]
    post_id = editor.create_post("A post the model refuses")
    view = editor.wait_for(post_id)
    assert view.generation == "failed"
    assert shown in view.message
    assert view.featured_media == 0


def test_insufficient_credits_make_the_post_wait_then_carry_on(
    use_segmind: FakeSegmind, editor: EditorSession
) -> None:
    use_segmind.fail_next_submit(406)
    post_id = editor.create_post("No credits left")
    view = editor.wait_for(post_id, states=("waiting",))
    assert "Waiting for Segmind credits" in view.message
    assert use_segmind.submissions == []
    view = editor.wait_for(post_id)  # the probe a second later finds credits again
    assert view.generation == "done", view.message
    assert len(use_segmind.submissions) == 1


def test_a_passing_server_error_is_retried(use_segmind: FakeSegmind, editor: EditorSession) -> None:
    use_segmind.fail_next_submit(502)
    post_id = editor.create_post("Worth a second try")
    view = editor.wait_for(post_id)
    assert view.generation == "done", view.message
    assert len(use_segmind.submissions) == 1


def test_wrong_secret_is_refused_and_shown_to_the_editor(
    site: LocalWordPress, use_local: BridgeProcesses, editor: EditorSession
) -> None:
    real = site.plugin_settings()["secret"]
    site.update_plugin_settings(secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    try:
        post_id = editor.create_post("Signed with the wrong secret")
        view = editor.post(post_id)
    finally:
        site.update_plugin_settings(secret=real)
    assert view.generation == "failed"
    assert "401" in view.message and "signature" in view.message
    _barrier(editor)
    assert editor.post(post_id).featured_media == 0


def test_stale_signature_gets_401_from_the_bridge(
    site: LocalWordPress, use_local: BridgeProcesses, editor: EditorSession
) -> None:
    post_id = editor.create_post("Old news", status="draft")
    body, headers = signed(
        str(site.plugin_settings()["secret"]),
        event(post_id=post_id, site_url=site.url),
        timestamp=time.time() - 600,
    )
    response = httpx.post(f"{use_local.url}/webhook", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "stale_timestamp"
    _barrier(editor)
    assert editor.post(post_id).generation == ""


def test_a_post_published_over_xmlrpc_gets_its_image(
    site: LocalWordPress, use_local: BridgeProcesses, editor: EditorSession
) -> None:
    from wordpress_xmlrpc import Client, WordPressPost
    from wordpress_xmlrpc.methods.posts import NewPost

    client = Client(f"{site.url}/xmlrpc.php", site.editor.login, site.editor.app_password)
    post = WordPressPost()
    post.title = "Written in a desktop blogging app"
    post.content = "Sent over XML-RPC."
    post.post_status = "publish"
    post_id = int(client.call(NewPost(post)))
    view = editor.wait_for(post_id)
    assert view.generation == "done", view.message
    assert view.featured_media


def test_the_editor_panel_status_route_gives_the_failure_reason(
    site: LocalWordPress, use_segmind: FakeSegmind, editor: EditorSession
) -> None:
    use_segmind.queue_jobs(JobScript(outcome="failed", failure="Prompt was rejected"))
    post_id = editor.create_post("A post whose image fails")
    editor.wait_for(post_id)
    # What the block editor's "Featured image (AI)" panel reads (tests/browser shows it on screen).
    status = editor.call("GET", f"/fib/v1/posts/{post_id}/status")
    assert status["status"] == "failed"
    assert "Prompt was rejected" in status["message"]
    assert status["error_kind"] == "failed"
