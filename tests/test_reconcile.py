"""Which published posts the reconciliation gives a job."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.reconcile import needs_image
from bridge.wordpress import PostSummary


def _post(featured_media: int = 0, **meta: Any) -> PostSummary:
    return PostSummary(7, featured_media, "Title", "Excerpt", "title", meta)


@pytest.mark.parametrize(
    ("post", "expected"),
    [
        (_post(), True),
        (_post(_fib_skip=False, _fib_attachment_id=0), True),
        (_post(featured_media=12), False),
        (_post(_fib_skip=True), False),
        (_post(_fib_attachment_id=12), False),
    ],
)
def test_needs_image(post: PostSummary, expected: bool) -> None:
    assert needs_image(post) is expected
