"""Turns a post's title and excerpt into the provider's input text."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

from bridge.providers.base import Prompt

TITLE_LIMIT = 200
EXCERPT_LIMIT = 1000
_SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "object"})
# Control and format characters (NUL, bidi overrides, ...) go; the zero-width joiners that
# Persian text and emoji sequences need stay.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})
_JOINERS = frozenset({"\u200c", "\u200d"})
_SPACE = re.compile(r"\s+")
_SHORTCODE = re.compile(r"\[/?[a-zA-Z][\w-]*(?:\s[^\]]*)?/?\]")


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment, dropping scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        else:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        else:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def clean_text(raw: str, limit: int) -> str:
    """Plain, single-line text from HTML: tags and shortcodes gone, entities decoded,
    control characters removed, whitespace folded, cut at a word boundary to ``limit``."""
    parser = _TextExtractor()
    parser.feed(raw)
    parser.close()
    text = html.unescape("".join(parser.parts))
    text = _SHORTCODE.sub(" ", text)
    text = "".join(
        " " if unicodedata.category(ch) in _DROPPED_CATEGORIES and ch not in _JOINERS else ch
        for ch in text
    )
    text = _SPACE.sub(" ", text).strip()
    return _truncate(text, limit)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def build_prompt(title: str, excerpt: str) -> Prompt:
    """The Segmind workflow's input (``Title: …\\n\\nDescription: …\\n``) and its parts."""
    clean_title = clean_text(title, TITLE_LIMIT) or "Untitled post"
    clean_excerpt = clean_text(excerpt, EXCERPT_LIMIT)
    text = f"Title: {clean_title}\n\nDescription: {clean_excerpt}\n"
    return Prompt(title=clean_title, excerpt=clean_excerpt, text=text)
