"""SEO-friendly file names for uploaded images, from the post's slug or title."""

from __future__ import annotations

from urllib.parse import unquote

from slugify import slugify

MAX_STEM = 80


def image_filename(slug: str, title: str, post_id: int, extension: str) -> str:
    """``<slug>.<ext>``: WordPress stores non-Latin slugs percent-encoded, so they are decoded
    and transliterated (``日本語`` → ``ri-ben-yu``); an empty result falls back to the title,
    then to ``post-<id>``."""
    for source in (unquote(slug), title):
        stem = slugify(source, max_length=MAX_STEM, word_boundary=True)
        if stem:
            return f"{stem}.{extension}"
    return f"post-{post_id}.{extension}"
