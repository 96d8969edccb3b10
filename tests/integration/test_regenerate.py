"""Regenerate (an explicit request) and the site's settings, on the real WordPress.

The requests are sent to the bridge signed as the plugin signs them, so these tests pin the
bridge's side of docs/protocol.md; the plugin's buttons are tested in the browser tests.
"""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession, PostView
from devenv.segmind_fake import FakeSegmind, JobScript
from devenv.wordpress import LocalWordPress
from tests.signing import event, signed

pytestmark = pytest.mark.wordpress


def _request(
    site: LocalWordPress,
    bridge: BridgeProcesses,
    post_id: int,
    kind: str = "post.regenerate",
    **data: Any,
) -> dict[str, Any]:
    payload = {**event(post_id=post_id, site_url=site.url, **data), "type": kind}
    body, headers = signed(str(site.plugin_settings()["secret"]), payload)
    response = httpx.post(f"{bridge.url}/webhook", content=body, headers=headers, timeout=10)
    assert response.status_code in (200, 202), response.text
    answer: dict[str, Any] = response.json()
    return answer


def _wait_for_job(editor: EditorSession, post_id: int, job_id: str) -> PostView:
    return editor.wait_for(post_id, job_id=job_id)


def _exists(editor: EditorSession, media_id: int) -> bool:
    try:
        editor.media(media_id)
    except httpx.HTTPStatusError as exc:
        assert exc.response.status_code == 404
        return False
    return True


def _person_chosen_image(editor: EditorSession) -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "darkgreen").save(buffer, format="PNG")
    return editor.upload_image(buffer.getvalue(), "chosen-by-hand.png", "image/png")


@pytest.mark.parametrize(("replaced_image", "kept"), [("keep", True), ("delete", False)])
def test_regenerate_replaces_the_generated_image_and_keeps_or_deletes_the_old_one(
    site: LocalWordPress,
    use_local: BridgeProcesses,
    editor: EditorSession,
    replaced_image: str,
    kept: bool,
) -> None:
    post_id = editor.create_post(f"Regenerated and {replaced_image}")
    first = editor.wait_for(post_id)
    assert first.generation == "done", first.message
    answer = _request(
        site,
        use_local,
        post_id,
        title=f"Regenerated and {replaced_image}",
        options={"replaced_image": replaced_image},
    )
    view = _wait_for_job(editor, post_id, answer["job_id"])
    assert view.generation == "done", view.message
    assert view.featured_media not in (0, first.featured_media)
    assert view.meta["_fib_attachment_id"] == view.featured_media
    assert _exists(editor, first.featured_media) is kept


def test_regenerate_replaces_an_image_a_person_chose_but_never_deletes_it(
    site: LocalWordPress, use_local: BridgeProcesses, editor: EditorSession
) -> None:
    chosen = _person_chosen_image(editor)
    post_id = editor.create_post("Chosen by hand, then regenerated", featured_media=chosen)
    answer = _request(site, use_local, post_id, options={"replaced_image": "delete"})
    view = _wait_for_job(editor, post_id, answer["job_id"])
    assert view.generation == "done", view.message
    assert view.featured_media not in (0, chosen)
    assert _exists(editor, chosen)


def test_an_image_set_by_a_person_while_the_job_runs_is_kept(
    use_segmind: FakeSegmind, editor: EditorSession
) -> None:
    use_segmind.queue_jobs(JobScript(processing_s=3.0))
    post_id = editor.create_post("Illustrated by hand meanwhile")
    editor.wait_for(post_id, states=("generating",))
    chosen = _person_chosen_image(editor)
    editor.update_post(post_id, featured_media=chosen)
    view = editor.wait_for(post_id)
    assert view.generation == "done"
    assert view.featured_media == chosen
    assert "kept" in view.message.lower()
    attached = editor.call("GET", "/wp/v2/media", params={"parent": post_id})
    assert attached == []


def test_the_sites_templates_shape_the_prompt_and_the_media_texts(
    site: LocalWordPress,
    use_segmind: FakeSegmind,
    segmind_bridge: BridgeProcesses,
    editor: EditorSession,
) -> None:
    post_id = editor.create_post("Moss gardens", excerpt="Quiet and green.")
    editor.wait_for(post_id)
    use_segmind.reset()
    options = {
        "prompt_template": "Cover for {site_name}: {title} ({categories}; {tags})\n",
        "style": "ink drawing",
        "alt_template": "Illustration: {title}",
        "title_template": "{title} — cover",
        "caption_template": "Drawn for {site_name}",
        "format": "webp",
        "width": 800,
        "height": 800,
        "quality": 70,
    }
    answer = _request(
        site,
        segmind_bridge,
        post_id,
        title="Moss gardens",
        site_name="Garden notes",
        categories=["Plants"],
        tags=["moss", "stones"],
        options=options,
    )
    view = _wait_for_job(editor, post_id, answer["job_id"])
    assert view.generation == "done", view.message
    (submission,) = use_segmind.submissions
    assert submission["payload"] == {
        "Blog_title_and_description": (
            "Cover for Garden notes: Moss gardens (Plants; moss, stones)\nStyle: ink drawing\n"
        )
    }
    media = editor.media(view.featured_media)
    assert media["alt_text"] == "Illustration: Moss gardens"
    assert media["title"]["raw"] == "Moss gardens — cover"
    assert media["caption"]["raw"] == "Drawn for Garden notes"
    assert media["mime_type"] == "image/webp"
    assert str(media["source_url"]).endswith(".webp")
    image = Image.open(io.BytesIO(httpx.get(str(media["source_url"]), timeout=10).content))
    assert (image.format, image.size) == ("WEBP", (800, 800))
    assert not image.getexif() and "icc_profile" not in image.info


def test_a_post_trashed_while_its_job_runs_gets_nothing_uploaded(
    use_segmind: FakeSegmind, editor: EditorSession
) -> None:
    use_segmind.queue_jobs(JobScript(processing_s=3.0))
    post_id = editor.create_post("Published by mistake")
    editor.wait_for(post_id, states=("generating",))
    editor.call("DELETE", f"/wp/v2/posts/{post_id}")
    view = editor.wait_for(post_id)
    assert view.status == "trash"
    assert view.generation == "failed" and "deleted" in view.message
    assert view.featured_media == 0
    assert editor.call("GET", "/wp/v2/media", params={"parent": post_id}) == []
