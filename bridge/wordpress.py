"""WordPress over its REST API, authenticated with an Application Password.

Routes go through ``?rest_route=`` so the client works whatever the site's permalinks are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from bridge import __version__

BRIDGE_HEADER = "X-Featured-Image-Bridge"
"""Sent on every request to WordPress, so the plugin sends no webhook for the bridge's saves."""


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
    generated_media: int = 0
    """The attachment the bridge set as featured image (``_fib_attachment_id``), 0 if none."""


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
            headers={
                "User-Agent": f"featured-image-bridge/{__version__}",
                BRIDGE_HEADER: __version__,
            },
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
                params={"context": "edit", "_fields": "id,status,featured_media,meta"},
            )
        except WordPressError as exc:
            if exc.status == 404:
                return None
            raise
        meta = data.get("meta") or {}
        return PostState(
            int(data["id"]),
            str(data["status"]),
            int(data.get("featured_media") or 0),
            int(meta.get("_fib_attachment_id") or 0),
        )

    def upload_media(
        self,
        data: bytes,
        *,
        filename: str,
        mime_type: str,
        alt_text: str,
        title: str,
        caption: str = "",
        post_id: int,
    ) -> int:
        """Adds an image to the media library, attached to the post; returns its id."""
        media = self._call(
            "POST",
            "/wp/v2/media",
            params={"alt_text": alt_text, "title": title, "caption": caption, "post": post_id},
            content=data,
            headers={
                "Content-Type": mime_type,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        return int(media["id"])

    def delete_media(self, media_id: int) -> None:
        """Deletes an attachment for good; one that is already gone is not an error."""
        try:
            self._call("DELETE", f"/wp/v2/media/{media_id}", params={"force": "true"})
        except WordPressError as exc:
            if exc.status not in (404, 410):
                raise

    def check(self) -> str:
        """Says who the bridge is on the site; raises WordPressError if it cannot do its work."""
        me = self._call("GET", "/wp/v2/users/me", params={"context": "edit"})
        capabilities = me.get("capabilities") or {}
        missing = [
            cap for cap in ("upload_files", "edit_others_posts") if not capabilities.get(cap)
        ]
        if missing:
            raise WordPressError(
                f"the user {me.get('username')!r} lacks the capabilities {', '.join(missing)}; "
                "give the bridge an Editor or Administrator account",
                status=403,
                retryable=False,
            )
        return f"signed in as {me.get('username')!r} at {self.base_url}"

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
        """Writes the generation status meta, and the featured image when given.

        A featured image set here is recorded as generated (``_fib_attachment_id``), which
        tells it apart from an image a person chose.
        """
        meta: dict[str, Any] = {
            "_fib_status": status,
            "_fib_message": message,
            "_fib_job_id": job_id,
            "_fib_updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        body: dict[str, Any] = {"meta": meta}
        if featured_media is not None:
            body["featured_media"] = featured_media
            meta["_fib_attachment_id"] = featured_media
        self._call("POST", f"/wp/v2/{self.rest_base(post_type)}/{post_id}", json=body)


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
