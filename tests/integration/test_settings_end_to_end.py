"""The settings page's values, end to end: from the plugin's option through the webhook and
the bridge to the Segmind request and the image in the media library."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind
from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress

SETTINGS = {
    "prompt_template": "Magazine cover for {site_name}: {title}\nTopics: {categories}; {tags}\n",
    "style": "linocut print",
    "width": 640,
    "height": 640,
    "format": "png",
    "alt_template": "Cover of {title}",
    "title_template": "{title} (cover)",
    "caption_template": "Illustration for {site_name}",
    "replaced_image": "delete",
}


@pytest.fixture
def custom_settings(site: LocalWordPress, use_segmind: FakeSegmind) -> Iterator[FakeSegmind]:
    before = site.plugin_settings()
    site.update_plugin_settings(**SETTINGS)
    yield use_segmind
    site.update_plugin_settings(**{key: before.get(key) for key in SETTINGS})


def test_the_sites_settings_shape_the_prompt_the_image_and_its_texts(
    site: LocalWordPress, custom_settings: FakeSegmind, editor: EditorSession
) -> None:
    site_name = site.php("echo get_bloginfo( 'name' );").strip()
    tag = editor.call("POST", "/wp/v2/tags", json={"name": "Woodcut"})["id"]
    post_id = editor.create_post("Harbour at dawn", tags=[tag])
    view = editor.wait_for(post_id)
    assert view.generation == "done", view.message

    (submission,) = custom_settings.submissions
    assert submission["payload"] == {
        "Blog_title_and_description": (
            f"Magazine cover for {site_name}: Harbour at dawn\nTopics: Uncategorized; Woodcut\n"
            "Style: linocut print\n"
        )
    }
    media = editor.media(view.featured_media)
    assert media["alt_text"] == "Cover of Harbour at dawn"
    assert media["title"]["raw"] == "Harbour at dawn (cover)"
    assert media["caption"]["raw"] == f"Illustration for {site_name}"
    assert media["mime_type"] == "image/png"
    image = Image.open(io.BytesIO(httpx.get(str(media["source_url"]), timeout=10).content))
    assert (image.format, image.size) == ("PNG", (640, 640))


def test_regenerate_from_the_plugin_deletes_the_replaced_generated_image(
    custom_settings: FakeSegmind, editor: EditorSession
) -> None:
    post_id = editor.create_post("Fishing boats")
    first = editor.wait_for(post_id)
    assert first.generation == "done", first.message
    answer = editor.http.post("", params={"rest_route": f"/fib/v1/posts/{post_id}/regenerate"})
    assert answer.status_code == 202, answer.text
    view = editor.wait_for(post_id, job_id=answer.json()["job_id"])
    assert view.generation == "done", view.message
    assert view.featured_media not in (0, first.featured_media)
    gone = editor.http.get(
        "", params={"rest_route": f"/wp/v2/media/{first.featured_media}", "context": "edit"}
    )
    assert gone.status_code == 404
