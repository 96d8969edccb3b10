"""Property tests of what post text becomes: the provider's prompt and the image's file name.

Any title or excerpt (NUL and other controls, bidi overrides, RTL scripts, emoji sequences,
lone surrogates, HTML, 10,000 characters) gives a bounded single-line prompt part without
control characters, and a short ASCII file name.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bridge.filenames import MAX_STEM, image_filename
from bridge.prompt import EXCERPT_LIMIT, TITLE_LIMIT, build_prompt
from tests.fuzzing import fuzz_settings

pytestmark = pytest.mark.fuzz

# The only control characters a prompt may hold are the template's own newlines; the zero-width
# joiners stay because Persian text and emoji sequences need them.
_FORBIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})
_JOINERS = frozenset({"\u200c", "\u200d"})
_FILENAME = re.compile(rf"[a-z0-9](?:[a-z0-9-]{{0,{MAX_STEM - 2}}}[a-z0-9])?\.(?:jpg|png|webp)")

hostile_text = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(
            list("\0\t\n\r\x1b\x7f\u0085\u2028\u2029\u202e\u202d\u2066\u200b\ufeff\ud800")
            + list("abc <>&;/[]\"' שלום مرحبا 日本語 👩‍👩‍👧 🇫🇷 é")
            + ["<script>alert(1)</script>", "&amp;", "&#0;", "&#x202e;", "[gallery id=1]"]
        ),
        max_size=200,
    ).map("".join),
    st.integers(1, 10_000).map(lambda n: "Long title " * (n // 11) + "x" * (n % 11)),
)


def _assert_clean_line(value: str, limit: int) -> None:
    assert len(value) <= limit
    assert value == value.strip()
    assert "\n" not in value and "  " not in value
    for ch in value:
        assert ch in _JOINERS or unicodedata.category(ch) not in _FORBIDDEN, repr(ch)
    value.encode("utf-8")  # no lone surrogate survives


@fuzz_settings(300)
@given(title=hostile_text, excerpt=hostile_text)
@example(title="\0" * 50, excerpt="\u202eevil\u202c")
@example(title="x" * 10_000, excerpt="y " * 5_000)
@example(title="<b></b>", excerpt="")
@example(title="\ud800\udfff\U0001f469\u200d\U0001f469\u200d\U0001f467", excerpt="\ufeff")
def test_any_text_gives_a_bounded_clean_prompt(title: str, excerpt: str) -> None:
    prompt = build_prompt(title, excerpt)
    _assert_clean_line(prompt.title, TITLE_LIMIT)
    _assert_clean_line(prompt.excerpt, EXCERPT_LIMIT)
    assert prompt.title  # never empty: "Untitled post" when nothing is left
    assert prompt.text == f"Title: {prompt.title}\n\nDescription: {prompt.excerpt}\n"


@fuzz_settings(300)
@given(
    slug=hostile_text | st.text(st.sampled_from("%0123456789abcdefABCDEF-"), max_size=60),
    title=hostile_text,
    post_id=st.integers(1, 2**63 - 1),
    extension=st.sampled_from(["jpg", "png", "webp"]),
)
@example(slug="%E6%97%A5%E6%9C%AC%E8%AA%9E", title="", post_id=1, extension="jpg")
@example(slug="../../etc/passwd", title="", post_id=1, extension="png")
@example(slug="%2e%2e%2f%00", title="\0", post_id=7, extension="webp")
@example(slug="", title="👩‍👩‍👧", post_id=9, extension="jpg")
def test_any_slug_or_title_gives_a_safe_ascii_filename(
    slug: str, title: str, post_id: int, extension: str
) -> None:
    name = image_filename(slug, title, post_id, extension)
    assert name.isascii()
    assert _FILENAME.fullmatch(name) or name == f"post-{post_id}.{extension}", name
    assert "/" not in name and ".." not in name and "\\" not in name
