"""Posts without a featured image, as a site's listing returns them, for tests."""

from __future__ import annotations

from typing import Any

from bridge.wordpress import MissingPost


def missing_post(post_id: int, **changes: Any) -> MissingPost:
    """A listed post with plain defaults; ``changes`` sets any other field."""
    values: dict[str, Any] = {
        "post_type": "post",
        "title": f"Post {post_id}",
        "excerpt": "",
        "slug": f"post-{post_id}",
    }
    values.update(changes)
    return MissingPost(post_id=post_id, **values)
