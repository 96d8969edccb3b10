"""The text the plugin's webhook sends as a post's excerpt, computed from the raw post.

Mirrors ``build_payload()`` in ``wp-plugin/includes/webhook.php``: the excerpt when it is not
blank, otherwise the first 55 words of the content as plain text, after dropping what
``excerpt_remove_blocks()`` drops (blocks other than text blocks) and what
``strip_shortcodes()`` drops (WordPress core's shortcodes, with what they enclose).
"""

from __future__ import annotations

import re

EXCERPT_WORDS = 55

# excerpt_remove_blocks() keeps these blocks (and what they contain); it drops all others.
_TEXT_BLOCKS = (
    "freeform|heading|html|list|list-item|media-text|paragraph|preformatted|pullquote|quote|"
    "table|verse|columns|column|group"
)
_SELF_CLOSING_BLOCK = re.compile(
    r"<!--\s+wp:(?!(?:core/)?(?:" + _TEXT_BLOCKS + r")\s)\S+[^>]*/-->"  # attributes hold no ">"
)
_OTHER_BLOCK = re.compile(
    r"<!--\s+wp:(?!(?:core/)?(?:" + _TEXT_BLOCKS + r")\s)(\S+)[^>]*?-->.*?<!--\s+/wp:\1\s+-->",
    re.DOTALL,
)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CORE_SHORTCODES = "audio|caption|embed|gallery|playlist|video|wp_caption"
_ENCLOSING_SHORTCODE = re.compile(
    r"\[(" + _CORE_SHORTCODES + r")\b[^\]]*\].*?\[/\1\]", re.DOTALL | re.IGNORECASE
)
_SHORTCODE = re.compile(r"\[/?(?:" + _CORE_SHORTCODES + r")\b[^\]]*\]", re.IGNORECASE)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)[^>]*?>.*?</\1>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def excerpt_or_content(excerpt: str, content: str) -> str:
    """The excerpt, or the first 55 words of the content as plain text when it is blank."""
    if excerpt.strip():
        return excerpt
    text = _SELF_CLOSING_BLOCK.sub("", content)
    text = _OTHER_BLOCK.sub("", text)
    text = _COMMENT.sub("", text)
    text = _ENCLOSING_SHORTCODE.sub("", text)
    text = _SHORTCODE.sub("", text)
    text = _SCRIPT_OR_STYLE.sub("", text)
    text = _TAG.sub("", text)
    return " ".join(text.split()[:EXCERPT_WORDS])
