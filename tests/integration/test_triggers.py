"""The trigger settings decide which saves ask the bridge for an image.

A save that asks for an image marks the post queued before its response and sends the webhook
when its request ends; the job id follows within moments. A save that asks for nothing leaves
the status alone.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from PIL import Image

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress

DEFAULTS: dict[str, object] = {"trigger": "publish", "only_missing": True, "post_types": ["post"]}


@pytest.fixture
def triggers(site: LocalWordPress, use_local: BridgeProcesses) -> Iterator[LocalWordPress]:
    """The local bridge, with the trigger settings put back to their defaults afterwards."""
    yield site
    site.update_plugin_settings(**DEFAULTS)


def _job_id(editor: EditorSession, post_id: int, kind: str = "posts") -> str:
    """The post's job id, once the bridge answered the webhook its last save queued (queued
    with no job id yet means the webhook is on its way)."""
    deadline = time.monotonic() + 30
    while True:
        data = editor.call("GET", f"/wp/v2/{kind}/{post_id}", params={"context": "edit"})
        meta = data["meta"]
        if meta["_fib_job_id"] or meta["_fib_status"] != "queued" or time.monotonic() > deadline:
            return str(meta["_fib_job_id"])
        time.sleep(0.05)


def _chosen_image(editor: EditorSession) -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(buffer, format="PNG")
    return editor.upload_image(buffer.getvalue(), "chosen-by-hand.png", "image/png")


def test_on_publish_a_later_save_sends_nothing(
    triggers: LocalWordPress, editor: EditorSession
) -> None:
    draft = editor.create_post("Written slowly", status="draft")
    assert _job_id(editor, draft) == ""
    editor.update_post(draft, status="publish")
    first = _job_id(editor, draft)
    assert first
    editor.wait_for(draft)
    editor.update_post(draft, title="Written slowly, corrected")
    assert _job_id(editor, draft) == first


def test_on_every_save_a_published_post_without_image_is_sent_again(
    triggers: LocalWordPress, editor: EditorSession
) -> None:
    triggers.update_plugin_settings(trigger="save")
    post_id = editor.create_post("Not yet", meta={"_fib_skip": True})
    assert _job_id(editor, post_id) == ""
    editor.update_post(post_id, meta={"_fib_skip": False})
    assert _job_id(editor, post_id)
    assert editor.wait_for(post_id).generation == "done"


def test_on_every_save_a_post_with_an_image_is_left_alone(
    triggers: LocalWordPress, editor: EditorSession
) -> None:
    triggers.update_plugin_settings(trigger="save")
    post_id = editor.create_post("Illustrated", featured_media=_chosen_image(editor))
    editor.update_post(post_id, title="Illustrated, edited")
    assert _job_id(editor, post_id) == ""


def test_a_generated_image_the_editor_removed_does_not_come_back(
    triggers: LocalWordPress, editor: EditorSession
) -> None:
    triggers.update_plugin_settings(trigger="save")
    post_id = editor.create_post("Better without a picture")
    done = editor.wait_for(post_id)
    assert done.generation == "done" and done.featured_media
    job_id = _job_id(editor, post_id)
    editor.update_post(post_id, featured_media=0)
    editor.update_post(post_id, title="Better without a picture, really")
    after = editor.post(post_id)
    assert after.featured_media == 0
    assert _job_id(editor, post_id) == job_id


def test_always_replaces_an_image_the_post_has(
    triggers: LocalWordPress, editor: EditorSession
) -> None:
    triggers.update_plugin_settings(trigger="save", only_missing=False)
    chosen = _chosen_image(editor)
    post_id = editor.create_post("Has one, wants another", featured_media=chosen)
    job_id = _job_id(editor, post_id)
    assert job_id
    done = editor.wait_for(post_id)
    assert done.generation == "done", done.message
    assert done.featured_media not in (0, chosen)
    assert editor.media(chosen)["id"] == chosen  # replaced, never deleted: a person chose it
    # The bridge's own saves (status, image) are saves of a published post too: none is sent.
    assert _job_id(editor, post_id) == job_id


def test_manual_only_sends_nothing_on_publish(
    triggers: LocalWordPress, editor: EditorSession
) -> None:
    triggers.update_plugin_settings(trigger="manual")
    post_id = editor.create_post("Only when asked")
    editor.update_post(post_id, title="Only when asked, still")
    assert _job_id(editor, post_id) == ""
    assert editor.post(post_id).featured_media == 0


def test_only_the_chosen_post_types_are_sent(
    triggers: LocalWordPress, editor: EditorSession
) -> None:
    triggers.update_plugin_settings(post_types=["page"])
    post_id = editor.create_post("A post, not chosen")
    page = editor.call(
        "POST", "/wp/v2/pages", json={"title": "About this garden", "status": "publish"}
    )
    assert _job_id(editor, post_id) == ""
    assert _job_id(editor, int(page["id"]), "pages")


def test_an_opted_out_post_is_never_sent_on_any_save(
    triggers: LocalWordPress, editor: EditorSession
) -> None:
    triggers.update_plugin_settings(trigger="save", only_missing=False)
    post_id = editor.create_post("Hand-made pictures only", meta={"_fib_skip": True})
    editor.update_post(post_id, title="Hand-made pictures only, edited")
    assert _job_id(editor, post_id) == ""
