"""The excerpt the backfill sends matches what the plugin's webhook would send."""

from __future__ import annotations

import pytest

from bridge.wordpress.excerpts import excerpt_or_content


@pytest.mark.parametrize(
    ("excerpt", "content", "expected"),
    [
        ("Written by hand.", "Not this.", "Written by hand."),
        ("  \n", "<p>Stones, <em>moss</em> and water.</p>", "Stones, moss and water."),
        (
            "",
            "<!-- wp:paragraph -->\n<p>Kept.</p>\n<!-- /wp:paragraph -->\n\n"
            '<!-- wp:image {"id":3} -->\n<figure><img src="a.jpg"/>'
            "<figcaption>Photo credit</figcaption></figure>\n<!-- /wp:image -->\n\n"
            "<!-- wp:spacer /-->\n\n<!-- wp:heading -->\n<h2>Also kept</h2>\n<!-- /wp:heading -->",
            "Kept. Also kept",
        ),
        (
            "",
            '[caption id="1"]<img src="a.jpg"/> A caption[/caption] Text [gallery ids="1,2"] '
            "with [brackets] left.",
            "Text with [brackets] left.",
        ),
        (
            "",
            "<!-- wp:image --><figure>Credit</figure><!-- /wp:image --> <!-- wp:paragraph -->"
            "<p>Same line</p><!-- /wp:paragraph --> <!-- wp:spacer /-->",
            "Same line",
        ),
        ("", "<script>alert(1)</script><style>p{}</style>Plain &amp; simple", "Plain &amp; simple"),
    ],
    ids=["excerpt", "blank-excerpt", "blocks", "shortcodes", "one-line", "script-style"],
)
def test_excerpt_or_start_of_content(excerpt: str, content: str, expected: str) -> None:
    assert excerpt_or_content(excerpt, content) == expected


def test_content_is_cut_to_55_words() -> None:
    words = [f"w{i}" for i in range(80)]
    assert excerpt_or_content("", "\n".join(words)) == " ".join(words[:55])
