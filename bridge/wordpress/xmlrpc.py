"""WordPress over XML-RPC (``xmlrpc.php``), for hosts that block the REST API.

Built on python-wordpress-xmlrpc's ``Client`` and method classes, with answers kept as the
plain structs WordPress sends (``results_class=None``). That also keeps clear of the library's
conversion of lists, which uses ``collections.Iterable`` (gone since Python 3.10), so no
compatibility shim is needed. Authenticates with the same Application Password as REST.

Post meta goes through ``custom_fields``: WordPress lets XML-RPC read and write a protected
(``_``) key only when ``register_meta()`` gave it an ``auth_callback`` (the plugin does, in
``includes/status.php``), and updates an existing key only when given that row's ``id`` (without
it, a second row is added), so the post's fields are read before they are written.
"""

from __future__ import annotations

import contextlib
import heapq
import html
import itertools
import threading
import time
import xmlrpc.client
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
from wordpress_xmlrpc import AuthenticatedMethod, Client
from wordpress_xmlrpc.exceptions import (
    InvalidCredentialsError,
    ServerConnectionError,
    UnsupportedXmlrpcMethodError,
    XmlrpcDisabledError,
)
from wordpress_xmlrpc.methods.media import GetMediaLibrary, UploadFile
from wordpress_xmlrpc.methods.posts import DeletePost, EditPost, GetPost, GetPosts
from wordpress_xmlrpc.methods.users import GetProfile, GetUsersBlogs

from bridge import __version__
from bridge.wordpress.base import (
    BRIDGE_HEADER,
    MissingPost,
    PostState,
    WordPressError,
    with_site_name,
)
from bridge.wordpress.excerpts import excerpt_or_content
from bridge.wordpress.xmlrpc_http import HttpxTransport

PAGE_SIZE = 100
ALT_TEXT_KEY = "_wp_attachment_image_alt"
# XML-RPC tells a user's roles, not capabilities: these default roles lack edit_others_posts;
# any other role is trusted to have it. (upload_files is probed with wp.getMediaLibrary.)
INSUFFICIENT_ROLES = frozenset({"author", "contributor", "subscriber"})
_POST_FIELDS = ["post_id", "post_status", "post_type", "post_thumbnail", "custom_fields"]
_MISSING_FIELDS = [
    "post_id",
    "post_type",
    "post_title",
    "post_excerpt",
    "post_content",
    "post_name",
    "post_date_gmt",
    "post_thumbnail",
    "custom_fields",
    "terms",
]


class XmlRpcSite:
    """One site's XML-RPC API. Thread-safe: calls share one ``httpx.Client`` (its connection
    pool) through a stateless transport, and the library's ``Client``, which only reads its
    attributes after it is built, is built once under a lock on first use."""

    def __init__(
        self,
        xmlrpc_url: str,
        user: str,
        app_password: str,
        *,
        timeout: float = 30.0,
        page_size: int = PAGE_SIZE,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = xmlrpc_url
        self.page_size = page_size
        self._user = user
        self._password = app_password
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={
                "User-Agent": f"featured-image-bridge/{__version__}",
                BRIDGE_HEADER: __version__,
            },
            transport=transport,
        )
        self._client: Client | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: AuthenticatedMethod, *, none_if_missing: bool = False) -> Any:
        """Runs one XML-RPC method; every failure becomes a WordPressError without secrets.

        With ``none_if_missing``, WordPress's "no such post" fault (404) gives None. (An HTTP
        404 means there is no XML-RPC endpoint, which stays an error.)
        """
        name = method.method_name
        try:
            return self._connected().call(method)
        except InvalidCredentialsError as exc:
            raise WordPressError(
                f"WordPress refused the bridge's credentials over XML-RPC ({exc}); check "
                "WP_USER and WP_APP_PASSWORD",
                status=403,
                retryable=False,
            ) from None
        except XmlrpcDisabledError as exc:
            raise WordPressError(
                f"XML-RPC is turned off on this site ({exc})", status=405, retryable=False
            ) from None
        except UnsupportedXmlrpcMethodError:
            raise WordPressError(
                f"the site's XML-RPC does not offer {name}", retryable=False
            ) from None
        except xmlrpc.client.Fault as fault:
            if none_if_missing and fault.faultCode == 404:
                return None
            raise _fault_error(name, fault) from None

    def _connected(self) -> Client:
        with self._lock:
            if self._client is None:
                transport = HttpxTransport(self._http, self.url)
                try:
                    self._client = Client(self.url, self._user, self._password, transport=transport)
                except (ServerConnectionError, xmlrpc.client.Fault):
                    raise WordPressError(
                        f"{self.url} does not answer as WordPress XML-RPC; check WP_XMLRPC_URL",
                        retryable=False,
                    ) from None
            return self._client

    def _get(self, post_id: int, fields: list[str]) -> dict[str, Any] | None:
        """The post's struct, or None when there is no such post."""
        post: dict[str, Any] | None = self._call(
            GetPost(post_id, fields, results_class=None), none_if_missing=True
        )
        return post

    def get_post(self, post_type: str, post_id: int) -> PostState | None:
        """The post as it is now, or None if it was deleted."""
        post = self._get(post_id, _POST_FIELDS)
        if post is None or post.get("post_type") != post_type:
            return None
        fields = _custom_fields(post)
        return PostState(
            post_id=int(post["post_id"]),
            status=str(post["post_status"]),
            featured_media=_thumbnail_id(post),
            generated_media=_integer(fields.get("_fib_attachment_id", (0, ""))[1]),
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
        """Adds an image to the media library, attached to the post; returns its id.

        ``wp.uploadFile`` stores the file; a ``wp.editPost`` on the attachment then sets its
        title, caption (the excerpt), description (the content) and alt text. If that fails,
        the attachment is deleted again, so a retry leaves no second copy in the media library.
        """
        upload = {
            "name": filename,
            "type": mime_type,
            "bits": xmlrpc.client.Binary(data),
            "post_id": post_id,
        }
        media_id = int(self._call(UploadFile(upload, results_class=None))["id"])
        texts = {
            "post_title": title,
            "post_excerpt": caption,
            "post_content": description,
            "custom_fields": [{"key": ALT_TEXT_KEY, "value": alt_text}],
        }
        try:
            self._call(EditPost(media_id, texts, results_class=None))
        except WordPressError:
            with contextlib.suppress(WordPressError):
                self.delete_media(media_id)
            raise
        return media_id

    def find_media(self, post_id: int, marker: str) -> list[int]:
        """Ids of the post's attachments whose description contains ``marker``, lowest first."""
        items = self._call(
            GetMediaLibrary({"parent_id": post_id, "number": 100}, results_class=None)
        )
        return sorted(
            int(item["attachment_id"])
            for item in items or []
            if isinstance(item, dict) and marker in str(item.get("description", ""))
        )

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
        post = self._get(post_id, ["post_type", "custom_fields"])
        if post is None or post.get("post_type") != post_type:
            raise WordPressError(
                f"WordPress has no {post_type} {post_id} (XML-RPC)", status=404, retryable=False
            )
        # WordPress writes the fields in this order; the status goes last, so whoever reads
        # "done" also reads the featured image and _fib_attachment_id of this same update.
        values: dict[str, object] = {}
        changes: dict[str, object] = {}
        if featured_media is not None:
            values["_fib_attachment_id"] = featured_media
            changes["post_thumbnail"] = featured_media
        values["_fib_message"] = message
        values["_fib_error_kind"] = error_kind or ""
        values["_fib_job_id"] = job_id
        values["_fib_updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        values["_fib_status"] = status
        existing = _custom_fields(post)
        changes["custom_fields"] = [
            {"id": existing[key][0], "key": key, "value": value}
            if key in existing
            else {"key": key, "value": value}
            for key, value in values.items()
        ]
        self._call(EditPost(post_id, changes, results_class=None))

    def delete_media(self, media_id: int) -> None:
        """Deletes an attachment permanently; one that is already gone is not an error.

        An id that is not an attachment is left alone. Where the site keeps deleted media in
        the trash (``MEDIA_TRASH``), the second delete empties it.
        """
        for _ in range(2):
            media = self._get(media_id, ["post_type"])
            if media is None or media.get("post_type") != "attachment":
                return
            self._call(DeletePost(media_id), none_if_missing=True)

    def check(self) -> str:
        """Verifies the credentials can upload files (``wp.getMediaLibrary`` needs that
        capability) and edit others' posts (by role: XML-RPC does not tell capabilities).
        Returns ``"<login> (<roles>) on <site name>"``."""
        profile = self._call(GetProfile(results_class=None))
        login = str(profile.get("username", ""))
        roles = [str(role) for role in profile.get("roles") or []]
        if not roles or set(roles) <= INSUFFICIENT_ROLES:
            raise WordPressError(
                f"the WordPress user {login} may not edit others' posts (role: "
                f"{', '.join(roles) or 'none'}); give it the Editor role or a role with "
                "upload_files and edit_others_posts",
                retryable=False,
            )
        try:
            self._call(GetMediaLibrary({"number": 1}, results_class=None))
        except WordPressError as exc:
            if exc.status != 401:
                raise
            raise WordPressError(
                f"the WordPress user {login} may not upload files; give it the Editor role or "
                "a role with upload_files and edit_others_posts",
                retryable=False,
            ) from None
        blogs = self._call(GetUsersBlogs(results_class=None)) or [{}]
        name = str(blogs[0].get("blogName") or self.url)
        return f"{login} ({', '.join(roles)}) on {name}"

    def list_missing(self, post_types: Sequence[str], limit: int | None) -> Iterator[MissingPost]:
        """Published posts of ``post_types`` without a featured image, newest first.

        Skips posts that opted out (``_fib_skip``) and posts whose generated image an editor
        removed (``_fib_attachment_id`` set). Pages through ``wp.getPosts`` as it goes.
        """
        per_type = [self._missing_of_type(post_type) for post_type in post_types]
        merged = heapq.merge(*per_type, key=lambda dated: dated[0], reverse=True)
        posts = with_site_name((post for _, post in merged), self._site_title)
        return itertools.islice(posts, limit)

    def _site_title(self) -> str:
        """The site's title (``wp.getUsersBlogs``)."""
        blogs = self._call(GetUsersBlogs(results_class=None)) or [{}]
        return html.unescape(str(blogs[0].get("blogName") or ""))

    def _missing_of_type(self, post_type: str) -> Iterator[tuple[str, MissingPost]]:
        seen: set[int] = set()  # a post published while paging shifts the pages by one
        for page in itertools.count():
            query = {
                "post_type": post_type,
                "post_status": "publish",
                "number": self.page_size,
                "offset": page * self.page_size,
                "orderby": "date",
                "order": "DESC",
            }
            posts = self._call(GetPosts(query, _MISSING_FIELDS, results_class=None))
            if not posts:
                return  # wp.getPosts leaves out posts the user may not edit: only [] ends it
            for post in posts:
                post_id = int(post["post_id"])
                fields = _custom_fields(post)
                if post_id in seen or _thumbnail_id(post) or _flag(fields.get("_fib_skip")):
                    continue
                if _integer(fields.get("_fib_attachment_id", (0, ""))[1]):
                    continue
                seen.add(post_id)
                yield (
                    _date(post.get("post_date_gmt")),
                    MissingPost(
                        post_id=post_id,
                        post_type=str(post.get("post_type") or post_type),
                        title=str(post.get("post_title") or ""),
                        excerpt=excerpt_or_content(
                            str(post.get("post_excerpt") or ""), str(post.get("post_content") or "")
                        ),
                        slug=str(post.get("post_name") or ""),
                        categories=_term_names(post, "category"),
                        tags=_term_names(post, "post_tag"),
                    ),
                )


def _term_names(post: dict[str, Any], taxonomy: str) -> tuple[str, ...]:
    """The names of the post's terms in ``taxonomy`` (``wp.getPosts`` with ``terms``)."""
    terms = post.get("terms") or []
    return tuple(
        html.unescape(str(term.get("name", "")))
        for term in terms
        if isinstance(term, dict) and term.get("taxonomy") == taxonomy
    )


def _custom_fields(post: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """The post's custom fields by key: (row id, value); the first row of a repeated key."""
    fields: dict[str, tuple[int, str]] = {}
    for field in post.get("custom_fields") or []:
        fields.setdefault(str(field.get("key")), (int(field["id"]), str(field.get("value", ""))))
    return fields


def _thumbnail_id(post: dict[str, Any]) -> int:
    thumbnail = post.get("post_thumbnail")
    if isinstance(thumbnail, dict):
        return _integer(thumbnail.get("attachment_id"))
    return 0


def _integer(value: object) -> int:
    try:
        return int(str(value or 0))
    except ValueError:
        return 0


def _flag(field: tuple[int, str] | None) -> bool:
    return field is not None and field[1].strip().lower() not in ("", "0", "false")


def _date(value: object) -> str:
    """A sortable date: XML-RPC sends ``DateTime`` values like ``20261125T10:00:00``."""
    if isinstance(value, xmlrpc.client.DateTime):
        return str(value.value)
    return str(value or "")


def _fault_error(method: str, fault: xmlrpc.client.Fault) -> WordPressError:
    """WordPress's faults use HTTP-like codes: 401 not allowed, 404 not found, 500 failed."""
    code = fault.faultCode if isinstance(fault.faultCode, int) else 0
    text = str(fault.faultString)[:300]
    if code in (401, 403):
        return WordPressError(
            f"WordPress refused {method} ({text}); the user of WP_USER must be able to upload "
            "files and edit others' posts",
            status=code,
            retryable=False,
        )
    return WordPressError(
        f"WordPress answered {method} with fault {code}: {text}",
        status=code or None,
        retryable=code == 429 or code >= 500,
    )
