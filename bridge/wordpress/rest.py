"""WordPress over its REST API, authenticated with an Application Password.

Routes go through ``?rest_route=`` so the client works whatever the site's permalinks are.
"""

from __future__ import annotations

import heapq
import html
import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import httpx

from bridge import __version__
from bridge.wordpress.base import (
    BRIDGE_HEADER,
    MissingPost,
    PostState,
    WordPressError,
    with_site_name,
)
from bridge.wordpress.excerpts import excerpt_or_content

PAGE_SIZE = 100
_MISSING_FIELDS = "id,date_gmt,featured_media,title,excerpt,content,slug,type,meta,categories,tags"
NEEDED_CAPABILITIES = ("upload_files", "edit_others_posts")


class WordPressClient:
    """One site's REST API. Thread-safe: one ``httpx.Client`` shared by all jobs."""

    def __init__(
        self,
        base_url: str,
        user: str,
        app_password: str,
        *,
        timeout: float = 30.0,
        page_size: int = PAGE_SIZE,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
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
        self._term_cache: dict[tuple[str, int], str] = {}

    def close(self) -> None:
        self._http.close()

    def _request(
        self,
        method: str,
        route: str,
        *,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
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
        if not response.is_success:
            raise _error(route, response)
        return response

    def _call(
        self,
        method: str,
        route: str,
        *,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        return _json(route, self._request(method, route, params=params, **kwargs))

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
            post_id=int(data["id"]),
            status=str(data["status"]),
            featured_media=int(data.get("featured_media") or 0),
            generated_media=int(meta.get("_fib_attachment_id") or 0),
        )

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
        fields: dict[str, Any] = {"alt_text": alt_text, "title": title, "post": post_id}
        if caption:
            fields["caption"] = caption
        if description:
            fields["description"] = description
        media = self._call(
            "POST",
            "/wp/v2/media",
            params=fields,
            content=data,
            headers={
                "Content-Type": mime_type,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        return int(media["id"])

    def find_media(self, post_id: int, marker: str) -> list[int]:
        """Ids of the post's attachments whose description contains ``marker``, lowest first."""
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
        """Writes the generation status meta, and the featured image when given.

        A featured image set here is recorded as generated (``_fib_attachment_id``), which
        tells it apart from an image a person chose.
        """
        meta: dict[str, Any] = {
            "_fib_status": status,
            "_fib_message": message,
            "_fib_error_kind": error_kind or "",
            "_fib_job_id": job_id,
            "_fib_updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        body: dict[str, Any] = {"meta": meta}
        if featured_media is not None:
            body["featured_media"] = featured_media
            meta["_fib_attachment_id"] = featured_media
        self._call("POST", f"/wp/v2/{self.rest_base(post_type)}/{post_id}", json=body)

    def delete_media(self, media_id: int) -> None:
        """Deletes an attachment permanently; one that is already gone is not an error."""
        try:
            self._call("DELETE", f"/wp/v2/media/{media_id}", params={"force": "true"})
        except WordPressError as exc:
            if exc.status not in (404, 410):
                raise

    def check(self) -> str:
        """Verifies the credentials can upload files and edit others' posts.

        Returns ``"<login> (<roles>) on <site name>"``.
        """
        me = self._call(
            "GET",
            "/wp/v2/users/me",
            params={"context": "edit", "_fields": "username,roles,capabilities"},
        )
        capabilities = me.get("capabilities") or {}
        lacking = [cap for cap in NEEDED_CAPABILITIES if not capabilities.get(cap)]
        login = str(me.get("username", ""))
        if lacking:
            raise WordPressError(
                f"the WordPress user {login} may not {_describe(lacking)}; give it the Editor "
                "role or a role with upload_files and edit_others_posts",
                retryable=False,
            )
        site = self._call("GET", "/", params={"_fields": "name"})
        roles = ", ".join(str(role) for role in me.get("roles") or []) or "no role"
        return f"{login} ({roles}) on {site.get('name') or self.base_url}"

    def list_missing(self, post_types: Sequence[str], limit: int | None) -> Iterator[MissingPost]:
        """Published posts of ``post_types`` without a featured image, newest first.

        Skips posts that opted out (``_fib_skip``) and posts whose generated image an editor
        removed (``_fib_attachment_id`` set). Pages through the collections as it goes.
        """
        per_type = [self._missing_of_type(post_type) for post_type in post_types]
        merged = heapq.merge(*per_type, key=lambda dated: dated[0], reverse=True)
        posts = with_site_name((post for _, post in merged), self._site_title)
        return itertools.islice(posts, limit)

    def _site_title(self) -> str:
        """The site's title, from the REST index."""
        index = self._call("GET", "/", params={"_fields": "name"})
        return html.unescape(str(index.get("name") or ""))

    def _missing_of_type(self, post_type: str) -> Iterator[tuple[str, MissingPost]]:
        route = f"/wp/v2/{self.rest_base(post_type)}"
        seen: set[int] = set()  # a post published while paging shifts the pages by one
        for page in itertools.count(1):
            response = self._request(
                "GET",
                route,
                params={
                    "status": "publish",
                    "per_page": self.page_size,
                    "page": page,
                    "orderby": "date",
                    "order": "desc",
                    "context": "edit",
                    "_fields": _MISSING_FIELDS,
                },
            )
            for item in _json(route, response):
                meta = item.get("meta") or {}
                if int(item["id"]) in seen or item.get("featured_media") or meta.get("_fib_skip"):
                    continue
                if meta.get("_fib_attachment_id"):
                    continue
                seen.add(int(item["id"]))
                post = replace(
                    _missing_post(item, post_type),
                    categories=self._term_names("categories", item.get("categories")),
                    tags=self._term_names("tags", item.get("tags")),
                )
                yield str(item.get("date_gmt") or ""), post
            if page >= int(response.headers.get("X-WP-TotalPages") or 0):
                return

    def _term_names(self, taxonomy: str, ids: object) -> tuple[str, ...]:
        """The names of the terms ``ids`` of ``categories`` or ``tags``, asked once each."""
        wanted = [int(i) for i in ids if isinstance(i, int)] if isinstance(ids, list) else []
        unknown = [i for i in wanted if (taxonomy, i) not in self._term_cache]
        route = f"/wp/v2/{taxonomy}"
        for start in range(0, len(unknown), 100):
            chunk = unknown[start : start + 100]
            terms = self._request(
                "GET",
                route,
                params={
                    "include": ",".join(map(str, chunk)),
                    "per_page": 100,
                    "_fields": "id,name",
                },
            )
            for term in _json(route, terms):
                self._term_cache[(taxonomy, int(term["id"]))] = html.unescape(str(term["name"]))
        cache = self._term_cache
        return tuple(cache[(taxonomy, i)] for i in wanted if (taxonomy, i) in cache)


def _missing_post(item: dict[str, Any], post_type: str) -> MissingPost:
    return MissingPost(
        post_id=int(item["id"]),
        post_type=str(item.get("type") or post_type),
        title=_raw(item.get("title")),
        excerpt=excerpt_or_content(_raw(item.get("excerpt")), _raw(item.get("content"))),
        slug=str(item.get("slug") or ""),
    )


def _raw(field: Any) -> str:
    """The raw text of a rendered field (``{"raw": ..., "rendered": ...}`` in edit context)."""
    if isinstance(field, dict):
        return str(field.get("raw") or "")
    return str(field or "")


def _describe(capabilities: list[str]) -> str:
    what = {"upload_files": "upload files", "edit_others_posts": "edit others' posts"}
    return " or ".join(what[cap] for cap in capabilities)


def _json(route: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise WordPressError(
            f"WordPress answered {route} with something that is not JSON",
            status=response.status_code,
            retryable=True,
        ) from None


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
