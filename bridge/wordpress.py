"""WordPress over its REST API, authenticated with an Application Password.

Routes go through ``?rest_route=`` so the client works whatever the site's permalinks are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from bridge import __version__

STATUS_META = ("_fib_status", "_fib_message", "_fib_job_id", "_fib_updated")


class WordPressError(Exception):
    """WordPress refused or could not be reached; ``retryable`` says if waiting can help."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class PostState:
    """What the bridge needs to know about a post before and after generating."""

    post_id: int
    status: str
    featured_media: int


class WordPressClient:
    """One site's REST API. Thread-safe: one ``httpx.Client`` shared by all jobs."""

    def __init__(
        self,
        base_url: str,
        user: str,
        app_password: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            auth=(user, app_password),
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"User-Agent": f"featured-image-bridge/{__version__}"},
            transport=transport,
        )
        self._rest_bases: dict[str, str] = {}

    def close(self) -> None:
        self._http.close()

    def _call(
        self,
        method: str,
        route: str,
        *,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        query = {"rest_route": route, **(params or {})}
        try:
            response = self._http.request(method, "", params=query, **kwargs)
        except httpx.TimeoutException:
            raise WordPressError(
                f"WordPress at {self.base_url} did not answer in time", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise WordPressError(
                f"cannot reach WordPress at {self.base_url} ({type(exc).__name__})",
                retryable=True,
            ) from None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise WordPressError(
                    f"WordPress answered {route} with something that is not JSON",
                    status=response.status_code,
                    retryable=True,
                ) from None
        raise _error(route, response)

    def rest_base(self, post_type: str) -> str:
        """The REST collection of a post type (``post`` → ``posts``), asked once."""
        if post_type not in self._rest_bases:
            info = self._call("GET", f"/wp/v2/types/{post_type}")
            self._rest_bases[post_type] = str(info.get("rest_base") or post_type)
        return self._rest_bases[post_type]

    def get_post(self, post_type: str, post_id: int) -> PostState | None:
        """The post as it is now, or None if it was deleted."""
        try:
            data = self._call(
                "GET",
                f"/wp/v2/{self.rest_base(post_type)}/{post_id}",
                params={"context": "edit", "_fields": "id,status,featured_media"},
            )
        except WordPressError as exc:
            if exc.status == 404:
                return None
            raise
        return PostState(int(data["id"]), str(data["status"]), int(data.get("featured_media") or 0))

    def upload_media(
        self,
        data: bytes,
        *,
        filename: str,
        mime_type: str,
        alt_text: str,
        title: str,
        post_id: int,
        description: str = "",
    ) -> int:
        """Adds an image to the media library, attached to the post; returns its id."""
        media = self._call(
            "POST",
            "/wp/v2/media",
            params={
                "alt_text": alt_text,
                "title": title,
                "post": post_id,
                "description": description,
            },
            content=data,
            headers={
                "Content-Type": mime_type,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        return int(media["id"])

    def find_media(self, post_id: int, marker: str) -> list[int]:
        """Ids of the post's attachments whose description contains ``marker``, lowest first.

        ``marker`` must be one word (letters and digits) so WordPress's search finds it.
        """
        items = self._call(
            "GET",
            "/wp/v2/media",
            params={
                "parent": post_id,
                "search": marker,
                "context": "edit",
                "_fields": "id,description",
                "per_page": 100,
                "orderby": "id",
                "order": "asc",
            },
        )
        found = []
        for item in items if isinstance(items, list) else []:
            description = item.get("description")
            raw = description.get("raw", "") if isinstance(description, dict) else ""
            if marker in str(raw):
                found.append(int(item["id"]))
        return sorted(found)

    def delete_media(self, media_id: int) -> None:
        """Deletes an attachment and its files for good."""
        self._call("DELETE", f"/wp/v2/media/{media_id}", params={"force": "true"})

    def published_posts(self, post_type: str, page: int, per_page: int = 100) -> list[PostSummary]:
        """One page of the post type's published posts, newest first; [] past the last page."""
        try:
            items = self._call(
                "GET",
                f"/wp/v2/{self.rest_base(post_type)}",
                params={
                    "status": "publish",
                    "context": "edit",
                    "_fields": "id,featured_media,title,excerpt,slug,meta",
                    "per_page": per_page,
                    "page": page,
                },
            )
        except WordPressError as exc:
            if exc.status == 400 and page > 1:  # WordPress: rest_post_invalid_page_number
                return []
            raise
        return [_summary(item) for item in items if isinstance(item, dict)]

    def update_post(
        self,
        post_type: str,
        post_id: int,
        *,
        status: str,
        message: str = "",
        job_id: str = "",
        featured_media: int | None = None,
    ) -> None:
        """Writes the generation status meta, and the featured image when given."""
        body: dict[str, Any] = {
            "meta": {
                "_fib_status": status,
                "_fib_message": message,
                "_fib_job_id": job_id,
                "_fib_updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        }
        if featured_media is not None:
            body["featured_media"] = featured_media
        self._call("POST", f"/wp/v2/{self.rest_base(post_type)}/{post_id}", json=body)


@dataclass(frozen=True)
class PostSummary:
    """A published post as the reconciliation sees it."""

    post_id: int
    featured_media: int
    title: str
    excerpt: str
    slug: str
    meta: dict[str, Any]


def _summary(item: dict[str, Any]) -> PostSummary:
    def text(field: str) -> str:
        value = item.get(field)
        if isinstance(value, dict):
            value = value.get("raw", value.get("rendered", ""))
        return str(value or "")

    meta = item.get("meta")
    return PostSummary(
        post_id=int(item["id"]),
        featured_media=int(item.get("featured_media") or 0),
        title=text("title"),
        excerpt=text("excerpt"),
        slug=str(item.get("slug") or ""),
        meta=dict(meta) if isinstance(meta, dict) else {},
    )


def _error(route: str, response: httpx.Response) -> WordPressError:
    status = response.status_code
    detail = ""
    try:
        payload = response.json()
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            detail = ": " + payload["message"][:300]
    except ValueError:
        pass
    if status in (401, 403):
        return WordPressError(
            f"WordPress refused the bridge's credentials (HTTP {status}{detail}); check WP_USER "
            "and WP_APP_PASSWORD and that the user may upload files and edit others' posts",
            status=status,
            retryable=False,
        )
    if status == 429 or status >= 500:
        return WordPressError(
            f"WordPress answered HTTP {status} on {route}", status=status, retryable=True
        )
    return WordPressError(
        f"WordPress answered HTTP {status} on {route}{detail}", status=status, retryable=False
    )
