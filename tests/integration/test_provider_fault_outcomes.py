"""What a provider fault leaves behind in the real WordPress: the title card fallback (when the
site turned it on) with a note, the provider's reason and kind on the post, and the site-wide
alert when the key is refused."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind, JobScript
from devenv.wordpress import LocalWordPress
from tests.integration.provider_alert import clear_provider_alert, provider_alert

pytestmark = pytest.mark.wordpress


@pytest.fixture
def fallback_on(site: LocalWordPress, use_segmind: FakeSegmind) -> Iterator[FakeSegmind]:
    site.update_plugin_settings(fallback_title_card=True)
    yield use_segmind
    site.update_plugin_settings(fallback_title_card=False)


@pytest.fixture
def no_alert(site: LocalWordPress) -> Iterator[None]:
    clear_provider_alert(site)
    yield
    clear_provider_alert(site)


def _image(editor: EditorSession, media_id: int) -> tuple[dict[str, object], Image.Image]:
    media = editor.media(media_id)
    data = httpx.get(str(media["source_url"]), timeout=10).content
    return media, Image.open(io.BytesIO(data))


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (JobScript(outcome="failed", failure="NSFW content detected"), "NSFW content detected"),
        (JobScript(image_expired=True), "404"),
    ],
    ids=["failed-run", "expired-image-url"],
)
def test_with_the_fallback_on_a_failed_run_gives_the_post_a_title_card_and_a_note(
    fallback_on: FakeSegmind, editor: EditorSession, script: JobScript, reason: str
) -> None:
    fallback_on.queue_jobs(script)
    post_id = editor.create_post("Night trains across Europe", excerpt="Sleepers and ferries.")
    view = editor.wait_for(post_id)

    assert view.generation == "done", view.message
    assert reason in view.message
    assert view.message.endswith("a title card was used instead.")
    assert view.meta["_fib_error_kind"] == ""
    media, image = _image(editor, view.featured_media)
    assert (image.format, image.size) == ("JPEG", (1200, 630))
    assert media["alt_text"] == "Night trains across Europe"
    assert view.meta["_fib_attachment_id"] == view.featured_media
    # Paid for once; the title card was drawn locally, not asked of Segmind again.
    assert len(fallback_on.submissions) == 1


def test_the_fallback_note_names_segminds_reason(
    fallback_on: FakeSegmind, editor: EditorSession
) -> None:
    fallback_on.queue_jobs(JobScript(outcome="failed", failure="Flux model crashed"))
    post_id = editor.create_post("Lighthouses of Brittany")
    view = editor.wait_for(post_id)
    assert view.message == (
        "Segmind could not generate the image: Flux model crashed; a title card was used instead."
    )


def test_with_the_fallback_off_the_post_shows_the_providers_reason_and_kind(
    use_segmind: FakeSegmind, editor: EditorSession, no_alert: None, site: LocalWordPress
) -> None:
    use_segmind.queue_jobs(JobScript(outcome="failed", failure="NSFW content detected"))
    post_id = editor.create_post("A post the model refuses to draw")
    view = editor.wait_for(post_id)
    assert view.generation == "failed"
    assert "Segmind could not generate the image: NSFW content detected" in view.message
    assert view.meta["_fib_error_kind"] == "failed"
    assert view.featured_media == 0
    assert provider_alert(site) is None  # the post's problem, not the key's


def test_a_refused_key_never_falls_back_and_raises_the_alert_until_an_image_comes(
    site: LocalWordPress, fallback_on: FakeSegmind, editor: EditorSession, no_alert: None
) -> None:
    fallback_on.fail_next_submit(401, times=2)
    first = editor.create_post("Refused once")
    failed = editor.wait_for(first)
    assert failed.generation == "failed"
    assert failed.meta["_fib_error_kind"] == "auth"
    assert "SEGMIND_API_KEY" in failed.message
    assert failed.featured_media == 0
    second = editor.create_post("Refused twice")
    assert editor.wait_for(second).generation == "failed"

    alert = provider_alert(site)
    assert alert is not None
    assert alert["kind"] == "auth"
    assert sorted(alert["posts"]) == sorted([first, second])
    assert "SEGMIND_API_KEY" in alert["message"]
    assert fallback_on.api_key not in alert["message"]
    assert fallback_on.submissions == []

    third = editor.create_post("Accepted again")
    assert editor.wait_for(third).generation == "done"
    assert provider_alert(site) is None


@pytest.mark.parametrize(("status", "kind"), [(403, "forbidden"), (404, "not_found")])
def test_a_refused_workflow_raises_the_alert_of_its_kind(
    site: LocalWordPress,
    use_segmind: FakeSegmind,
    editor: EditorSession,
    no_alert: None,
    status: int,
    kind: str,
) -> None:
    use_segmind.fail_next_submit(status)
    post_id = editor.create_post(f"Workflow refused with {status}")
    view = editor.wait_for(post_id)
    assert (view.generation, view.meta["_fib_error_kind"]) == ("failed", kind)
    alert = provider_alert(site)
    assert alert is not None
    assert (alert["kind"], alert["posts"]) == (kind, [post_id])
