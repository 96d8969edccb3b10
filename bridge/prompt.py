"""Turns a post's title and excerpt into the provider's input text, and fills the site's
templates (prompt, alt text, title, caption) with the post's cleaned text."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

from bridge.options import DEFAULT_PROMPT_TEMPLATE, PostContext
from bridge.providers.base import Prompt

TITLE_LIMIT = 200
EXCERPT_LIMIT = 1000
PROMPT_LIMIT = 4000
_PLACEHOLDER = re.compile(r"\{(title|excerpt|categories|tags|site_name)\}")
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


def build_prompt(
    title: str,
    excerpt: str,
    *,
    context: PostContext | None = None,
    template: str = DEFAULT_PROMPT_TEMPLATE,
    style: str = "",
) -> Prompt:
    """The provider's input: ``template`` filled with the post's cleaned text, then the style.

    With the default template this is the Segmind workflow's ``Title: …\n\nDescription: …\n``.
    """
    values = template_values(title, excerpt, context or PostContext())
    text = fill_template(template, values, multiline=True)
    clean_style = clean_text(style, 500)
    if clean_style:
        text = f"{text.rstrip()}\nStyle: {clean_style}\n"
    if len(text) > PROMPT_LIMIT:
        text = _truncate(text, PROMPT_LIMIT)
    return Prompt(title=values["title"], excerpt=values["excerpt"], text=text)


def template_values(title: str, excerpt: str, context: PostContext) -> dict[str, str]:
    """The placeholders' values: plain, single-line, bounded text."""
    return {
        "title": clean_text(title, TITLE_LIMIT) or "Untitled post",
        "excerpt": clean_text(excerpt, EXCERPT_LIMIT),
        "categories": clean_text(", ".join(context.categories), 500),
        "tags": clean_text(", ".join(context.tags), 500),
        "site_name": clean_text(context.site_name, 200),
    }


def fill_template(template: str, values: dict[str, str], *, multiline: bool = False) -> str:
    """Replaces ``{title}``, ``{excerpt}``, ``{categories}``, ``{tags}`` and ``{site_name}``.

    Nothing else in the template is interpreted (no attribute access, no format specs);
    unknown placeholders stay as written. Control characters of the template go, and its
    line breaks stay only when ``multiline``.
    """
    safe = "".join(_template_char(ch, multiline) for ch in template)
    text = _PLACEHOLDER.sub(lambda match: values[match.group(1)], safe)
    return text if multiline else _SPACE.sub(" ", text).strip()


def _template_char(ch: str, multiline: bool) -> str:
    if ch == "\n" and multiline:
        return ch
    if unicodedata.category(ch) not in _DROPPED_CATEGORIES or ch in _JOINERS:
        return ch
    return " " if ch in "\t\r\n" else ""
