"""What an editor does over the REST API: publish posts, read their featured image and status."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from devenv.wordpress import LocalWordPress, Subsite, WordPressUser


@dataclass(frozen=True)
class PostView:
    id: int
    status: str
    link: str
    featured_media: int
    meta: dict[str, Any]

    @property
    def generation(self) -> str:
        return str(self.meta.get("_fib_status", ""))

    @property
    def message(self) -> str:
        return str(self.meta.get("_fib_message", ""))


class EditorSession:
    """An editor's REST session (Application Password), on a site or a network's subsite."""

    def __init__(self, site: LocalWordPress | Subsite, user: WordPressUser | None = None) -> None:
        self.site = site
        self.http = httpx.Client(
            base_url=site.url + "/", auth=(user or site.editor).auth, timeout=30
        )

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, route: str, **kwargs: Any) -> Any:
        params = {"rest_route": route, **kwargs.pop("params", {})}
        response = self.http.request(method, "", params=params, **kwargs)
        response.raise_for_status()
        return response.json()

    def create_post(
        self,
        title: str,
        content: str = "",
        *,
        status: str = "publish",
        excerpt: str = "",
        **fields: Any,
    ) -> int:
        body = {"title": title, "content": content, "status": status, "excerpt": excerpt, **fields}
        return int(self.call("POST", "/wp/v2/posts", json=body)["id"])

    def update_post(self, post_id: int, **fields: Any) -> None:
        self.call("POST", f"/wp/v2/posts/{post_id}", json=fields)

    def post(self, post_id: int) -> PostView:
        data = self.call("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
        return PostView(
            id=int(data["id"]),
            status=str(data["status"]),
            link=str(data["link"]),
            featured_media=int(data.get("featured_media") or 0),
            meta=dict(data.get("meta") or {}),
        )

    def media(self, media_id: int) -> dict[str, Any]:
        data: dict[str, Any] = self.call(
            "GET", f"/wp/v2/media/{media_id}", params={"context": "edit"}
        )
        return data

    def upload_image(self, data: bytes, filename: str, mime_type: str) -> int:
        media = self.call(
            "POST",
            "/wp/v2/media",
            content=data,
            headers={
                "Content-Type": mime_type,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
        return int(media["id"])

    def wait_for(
        self,
        post_id: int,
        *,
        states: tuple[str, ...] = ("done", "failed"),
        job_id: str | None = None,
        timeout: float = 60.0,
    ) -> PostView:
        """Polls the post until its generation status is one of ``states`` (for the given
        bridge job, when ``job_id`` is set)."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.post(post_id)
            if view.generation in states and job_id in (None, view.meta.get("_fib_job_id")):
                return view
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"post {post_id} still {view.generation!r} after {timeout} s: {view.message}"
                )
            time.sleep(0.2)


def login(site: LocalWordPress | Subsite, user: WordPressUser) -> httpx.Client:
    """A browser-like session logged in to wp-admin with the user's password."""
    http = httpx.Client(base_url=site.url, timeout=30, follow_redirects=True)
    http.cookies.set("wordpress_test_cookie", "WP Cookie check")
    response = http.post(
        "/wp-login.php",
        data={"log": user.login, "pwd": user.password, "wp-submit": "Log In", "testcookie": "1"},
    )
    if "wp-admin" not in str(response.url):
        http.close()
        raise RuntimeError(f"could not log in as {user.login}")
    return http
