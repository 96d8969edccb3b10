import pytest

from bridge.filenames import image_filename


@pytest.mark.parametrize(
    ("slug", "title", "expected"),
    [
        ("my-first-post", "ignored", "my-first-post.jpg"),
        ("%e6%97%a5%e6%9c%ac%e8%aa%9e", "ignored", "ri-ben-yu.jpg"),
        ("", "Café & Crème: a story", "cafe-creme-a-story.jpg"),
        ("", "", "post-42.jpg"),
        ("../../etc/passwd", "", "etc-passwd.jpg"),
    ],
)
def test_filename_is_a_clean_slug(slug: str, title: str, expected: str) -> None:
    assert image_filename(slug, title, 42, "jpg") == expected


def test_filename_is_capped() -> None:
    name = image_filename("", "word " * 500, 1, "png")
    assert len(name) <= 84 and name.endswith(".png")
