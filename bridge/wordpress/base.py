"""What the bridge needs from a WordPress site, whatever the transport (REST or XML-RPC)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

BRIDGE_HEADER = "X-Featured-Image-Bridge"
"""Sent on every request to WordPress, so the plugin sends no webhook for the bridge's saves."""


class WordPressError(Exception):
    """WordPress refused or could not be reached; ``retryable`` says if waiting can help.

    The message never contains the password.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class PostState:
    """What the bridge needs to know about a post before and after generating.

    ``generated_media`` is the post's ``_fib_attachment_id``: the last image the bridge set as
    featured image (0 if none). A featured image equal to it is a generated one.
    """

    post_id: int
    status: str
    featured_media: int
    generated_media: int = 0


@dataclass(frozen=True)
class MissingPost:
    """A published post without a featured image, as the backfill needs it.

    ``excerpt`` is the post's excerpt, or the start of its content as plain text;
    ``categories``, ``tags`` and ``site_name`` fill the prompt template's placeholders.
    """

    post_id: int
    post_type: str
    title: str
    excerpt: str
    slug: str
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    site_name: str = ""


class WordPressSite(Protocol):
    """One WordPress site, reached over REST or XML-RPC with the same meaning.

    Every method raises WordPressError when WordPress refuses or cannot be reached.
    Implementations are safe to share between threads.
    """

    def get_post(self, post_type: str, post_id: int) -> PostState | None:
        """The post as it is now, or None if it was deleted."""
        ...

    def upload_media(
        self,
        data: bytes,
        *,
        filename: str,
        mime_type: str,
        alt_text: str,
        title: str,
        post_id: int,
        caption: str = "",
        description: str = "",
    ) -> int:
        """Adds an image to the media library, attached to the post; returns its id."""
        ...

    def find_media(self, post_id: int, marker: str) -> list[int]:
        """Ids of the post's attachments whose description contains ``marker``, lowest first.

        ``marker`` is one word (letters and digits), so WordPress's search finds it.
        """
        ...

    def update_post(
        self,
        post_type: str,
        post_id: int,
        *,
        status: str,
        message: str = "",
        job_id: str = "",
        featured_media: int | None = None,
        error_kind: str | None = None,
    ) -> None:
        """Writes the status meta (``_fib_status``, ``_fib_message``, ``_fib_error_kind``,
        ``_fib_job_id``, ``_fib_updated``); with ``featured_media`` also sets the featured image
        and records it as generated (``_fib_attachment_id``).

        ``error_kind`` says what kind of failure a ``failed`` status is (a provider
        ``ErrorKind`` value, or ``wordpress``); None writes it empty."""
        ...

    def delete_media(self, media_id: int) -> None:
        """Deletes an attachment permanently; one that is already gone is not an error."""
        ...

    def check(self) -> str:
        """Verifies the credentials can upload files and edit others' posts.

        Returns a short description such as ``"bridge (editor) on Site Name"``.
        """
        ...

    def list_missing(self, post_types: Sequence[str], limit: int | None) -> Iterator[MissingPost]:
        """Published posts of ``post_types`` without a featured image, newest first.

        Skips posts that opted out (``_fib_skip``) and posts that had a generated image before
        (an editor removed it). Stops after ``limit`` posts when given.
        """
        ...

    def close(self) -> None:
        """Releases the connection pool."""
        ...


def with_site_name(
    posts: Iterator[MissingPost], lookup: Callable[[], str]
) -> Iterator[MissingPost]:
    """``posts`` with the site's name on each, asked of WordPress once, and only if needed."""
    name: str | None = None
    for post in posts:
        if name is None:
            name = lookup()
        yield replace(post, site_name=name)
