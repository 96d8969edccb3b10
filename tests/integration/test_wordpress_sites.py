"""The WordPress transports (REST, XML-RPC) against the real WordPress: one contract, the same
behaviour over both."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath

import httpx
import pytest
from PIL import Image

from bridge.wordpress import (
    MissingPost,
    PostState,
    WordPressClient,
    WordPressError,
    WordPressSite,
    XmlRpcSite,
)
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress, WordPressUser
from tests.integration.provider_alert import clear_provider_alert, provider_alert
from tests.integration.wp_users import add_user

pytestmark = pytest.mark.wordpress

TRANSPORTS = ["rest", "xmlrpc"]


def connect(
    site: LocalWordPress,
    transport: str,
    user: WordPressUser,
    *,
    password: str | None = None,
    page_size: int = 100,
) -> WordPressSite:
    secret = user.app_password if password is None else password
    if transport == "xmlrpc":
        return XmlRpcSite(f"{site.url}/xmlrpc.php", user.login, secret, page_size=page_size)
    return WordPressClient(site.url, user.login, secret, page_size=page_size)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def account(site: LocalWordPress, transport: str, request: pytest.FixtureRequest) -> WordPressUser:
    """The bridge's user; over XML-RPC one whom the REST API refuses, so nothing can fall
    back to REST unnoticed."""
    if transport == "xmlrpc":
        user: WordPressUser = request.getfixturevalue("xmlrpc_only_user")
        return user
    return site.bridge


@pytest.fixture
def wordpress(
    site: LocalWordPress, transport: str, account: WordPressUser
) -> Iterator[WordPressSite]:
    site.update_plugin_settings(enabled=False)  # posts made here must start no jobs
    client = connect(site, transport, account)
    yield client
    client.close()


def _png(color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_posts(site: LocalWordPress, **posts: dict[str, object]) -> dict[str, int]:
    """Inserts posts with ``wp_insert_post``; a spec's ``meta`` is added as post meta and
    ``thumbnail: True`` gives the post a featured image. Returns the ids by name."""
    specs = base64.b64encode(json.dumps(posts).encode()).decode()
    out = site.php(
        f"$fib_specs = json_decode( base64_decode( '{specs}' ), true );\n"
        "$fib_ids = array();\n"
        "foreach ( $fib_specs as $fib_name => $fib_spec ) {\n"
        "\t$fib_meta = $fib_spec['meta'] ?? array();\n"
        "\t$fib_thumb = $fib_spec['thumbnail'] ?? false;\n"
        "\tunset( $fib_spec['meta'], $fib_spec['thumbnail'] );\n"
        "\t$fib_id = wp_insert_post( wp_slash( $fib_spec ), true );\n"
        "\tif ( is_wp_error( $fib_id ) ) {\n"
        "\t\tfwrite( STDERR, $fib_id->get_error_message() );\n"
        "\t\texit( 1 );\n"
        "\t}\n"
        "\tforeach ( $fib_meta as $fib_key => $fib_value ) {\n"
        "\t\tupdate_post_meta( $fib_id, $fib_key, $fib_value );\n"
        "\t}\n"
        "\tif ( $fib_thumb ) {\n"
        "\t\t$fib_att = wp_insert_attachment( array( 'post_title' => 'chosen',"
        " 'post_mime_type' => 'image/png', 'post_status' => 'inherit' ), false, $fib_id );\n"
        "\t\tupdate_post_meta( $fib_id, '_thumbnail_id', $fib_att );\n"
        "\t}\n"
        "\t$fib_ids[ $fib_name ] = $fib_id;\n"
        "}\n"
        "echo wp_json_encode( $fib_ids );\n"
    )
    return {str(k): int(v) for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def meta_rows(site: LocalWordPress, post_id: int) -> dict[str, int]:
    """How many rows each meta key of the post has (a key written twice shows 2)."""
    out = site.php(f"echo wp_json_encode( array_map( 'count', get_post_meta( {post_id} ) ) );")
    return {str(k): int(v) for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def test_get_post_reads_status_featured_and_generated_image(
    site: LocalWordPress, wordpress: WordPressSite
) -> None:
    ids = make_posts(
        site,
        plain={"post_title": "Plain", "post_status": "publish"},
        draft={"post_title": "Draft", "post_status": "draft"},
        generated={
            "post_title": "Had a generated image",
            "post_status": "publish",
            "meta": {"_fib_attachment_id": 4242},
        },
    )
    assert wordpress.get_post("post", ids["plain"]) == PostState(ids["plain"], "publish", 0, 0)
    assert wordpress.get_post("post", ids["draft"]) == PostState(ids["draft"], "draft", 0, 0)
    generated = wordpress.get_post("post", ids["generated"])
    assert generated is not None and generated.generated_media == 4242


def test_get_post_of_a_deleted_post_is_none(site: LocalWordPress, wordpress: WordPressSite) -> None:
    ids = make_posts(site, gone={"post_title": "Gone soon", "post_status": "publish"})
    site.php(f"wp_delete_post( {ids['gone']}, true );")
    assert wordpress.get_post("post", ids["gone"]) is None


def test_upload_media_attaches_the_image_with_its_texts(
    site: LocalWordPress, wordpress: WordPressSite, editor: EditorSession, transport: str
) -> None:
    ids = make_posts(site, post={"post_title": "Gets an image", "post_status": "publish"})
    media_id = wordpress.upload_media(
        _png(),
        filename=f"moss-and-stones-{transport}.png",
        mime_type="image/png",
        alt_text="Moss & stones in a quiet garden",
        title="Moss and stones",
        caption="Drawn by the bridge",
        post_id=ids["post"],
    )
    media = editor.media(media_id)
    assert media["post"] == ids["post"]
    assert media["mime_type"] == "image/png"
    assert PurePosixPath(str(media["source_url"])).name == f"moss-and-stones-{transport}.png"
    assert media["alt_text"] == "Moss & stones in a quiet garden"
    assert media["title"]["raw"] == "Moss and stones"
    assert media["caption"]["raw"] == "Drawn by the bridge"
    image = httpx.get(str(media["source_url"]), timeout=10)
    assert Image.open(io.BytesIO(image.content)).size == (32, 16)


def test_update_post_writes_status_then_featured_image(
    site: LocalWordPress, wordpress: WordPressSite, editor: EditorSession
) -> None:
    ids = make_posts(site, post={"post_title": "Status changes", "post_status": "publish"})
    post_id = ids["post"]
    wordpress.update_post("post", post_id, status="generating", job_id="job-1")
    view = editor.post(post_id)
    assert (view.generation, view.meta["_fib_job_id"], view.featured_media) == (
        "generating",
        "job-1",
        0,
    )
    assert view.meta["_fib_updated"].endswith("Z")

    media_id = wordpress.upload_media(
        _png("olive"),
        filename="status-changes.png",
        mime_type="image/png",
        alt_text="Status changes",
        title="Status changes",
        post_id=post_id,
    )
    wordpress.update_post(
        "post",
        post_id,
        status="done",
        message="C:\\path kept",
        job_id="job-1",
        featured_media=media_id,
    )
    view = editor.post(post_id)
    assert view.generation == "done"
    assert view.message == "C:\\path kept"
    assert view.featured_media == media_id
    assert view.meta["_fib_attachment_id"] == media_id
    assert wordpress.get_post("post", post_id) == PostState(post_id, "publish", media_id, media_id)
    rows = meta_rows(site, post_id)
    for key in ("_fib_status", "_fib_message", "_fib_job_id", "_fib_attachment_id"):
        assert rows[key] == 1, key


def test_update_post_writes_the_error_kind_and_a_refused_key_raises_the_alert(
    site: LocalWordPress, wordpress: WordPressSite, editor: EditorSession
) -> None:
    clear_provider_alert(site)
    ids = make_posts(
        site,
        first={"post_title": "Key refused", "post_status": "publish"},
        illustrated={"post_title": "Illustrated, then refused", "post_status": "publish"},
    )
    first, illustrated = ids["first"], ids["illustrated"]
    media_id = wordpress.upload_media(
        _png("olive"),
        filename="illustrated.png",
        mime_type="image/png",
        alt_text="Illustrated",
        title="Illustrated",
        post_id=illustrated,
    )
    wordpress.update_post("post", illustrated, status="done", featured_media=media_id)

    wordpress.update_post("post", first, status="generating", job_id="job-k")
    refused = "Image provider: Segmind refused the API key (HTTP 401)."
    wordpress.update_post(
        "post", first, status="failed", message=refused, job_id="job-k", error_kind="auth"
    )
    view = editor.post(first)
    assert (view.generation, view.meta["_fib_error_kind"]) == ("failed", "auth")
    alert = provider_alert(site)
    assert alert is not None
    assert (alert["kind"], alert["message"], alert["posts"]) == ("auth", refused, [first])

    # Straight from "done" (its generated image still featured) to a refusal: the alert grows.
    wordpress.update_post("post", illustrated, status="failed", message=refused, error_kind="auth")
    alert = provider_alert(site)
    assert alert is not None and alert["posts"] == [first, illustrated]

    wordpress.update_post("post", first, status="generating", job_id="job-l")
    assert editor.post(first).meta["_fib_error_kind"] == ""
    assert provider_alert(site) is not None  # only an image clears it
    wordpress.update_post("post", first, status="done", featured_media=media_id)
    assert provider_alert(site) is None


def test_update_post_of_a_bad_status_is_refused(
    site: LocalWordPress, wordpress: WordPressSite, editor: EditorSession
) -> None:
    ids = make_posts(site, post={"post_title": "Unknown status", "post_status": "publish"})
    wordpress.update_post("post", ids["post"], status="exploded")
    assert editor.post(ids["post"]).generation != "exploded"


def test_delete_media_deletes_for_good_and_tolerates_missing(
    site: LocalWordPress, wordpress: WordPressSite, editor: EditorSession
) -> None:
    ids = make_posts(site, post={"post_title": "Image to delete", "post_status": "publish"})
    media_id = wordpress.upload_media(
        _png("maroon"),
        filename="to-delete.png",
        mime_type="image/png",
        alt_text="x",
        title="x",
        post_id=ids["post"],
    )
    path = site.uploads_dir / str(editor.media(media_id)["media_details"]["file"])
    assert path.exists()
    wordpress.delete_media(media_id)
    assert not path.exists()
    with pytest.raises(httpx.HTTPStatusError):
        editor.media(media_id)
    wordpress.delete_media(media_id)
    wordpress.delete_media(ids["post"])  # a post is not an attachment: left alone
    assert editor.post(ids["post"]).status == "publish"


def test_check_describes_the_user_and_site(
    site: LocalWordPress, wordpress: WordPressSite, account: WordPressUser
) -> None:
    assert wordpress.check() == f"{account.login} (editor) on {site.title}"


def test_check_with_a_wrong_password_fails_without_showing_it(
    site: LocalWordPress, transport: str, account: WordPressUser
) -> None:
    wrong = "abcd efgh ijkl mnop qrst uvwx"
    client = connect(site, transport, account, password=wrong)
    with pytest.raises(WordPressError) as caught:
        client.check()
    client.close()
    assert not caught.value.retryable
    assert "credentials" in caught.value.message
    assert wrong not in str(caught.value) and account.app_password not in str(caught.value)


@pytest.mark.parametrize(
    ("role", "missing"), [("author", "edit others' posts"), ("fib_no_uploads", "upload files")]
)
def test_check_says_what_the_user_may_not_do(
    site: LocalWordPress, transport: str, role: str, missing: str
) -> None:
    site.php(
        "if ( ! get_role( 'fib_no_uploads' ) ) {\n"
        "\tadd_role( 'fib_no_uploads', 'Editor without uploads', array( 'read' => true,"
        " 'edit_posts' => true, 'edit_others_posts' => true, 'edit_published_posts' => true ) );\n"
        "}\n"
    )
    user = add_user(site, f"{role}-{transport}", role)
    client = connect(site, transport, user)
    with pytest.raises(WordPressError) as caught:
        client.check()
    client.close()
    assert f"may not {missing}" in caught.value.message
    assert not caught.value.retryable


def test_list_missing_finds_published_posts_without_any_image_newest_first(
    site: LocalWordPress, transport: str, account: WordPressUser
) -> None:
    ids = make_posts(
        site,
        from_content={
            "post_title": "Ten &amp; one ideas",
            "post_name": f"ten-one-ideas-{transport}",
            "post_status": "publish",
            "post_date": "2001-02-03 10:00:07",
            "post_content": "<!-- wp:paragraph --><p>Stones, <em>moss</em> and water.</p>"
            "<!-- /wp:paragraph --><!-- wp:image --><figure><figcaption>Photo</figcaption>"
            "</figure><!-- /wp:image -->",
        },
        page={
            "post_type": "page",
            "post_title": "About",
            "post_status": "publish",
            "post_date": "2001-02-03 10:00:06",
        },
        with_excerpt={
            "post_title": "Has an excerpt",
            "post_status": "publish",
            "post_date": "2001-02-03 10:00:05",
            "post_name": f"has-an-excerpt-{transport}",
            "post_excerpt": "Written by hand.",
            "post_content": "Not this.",
        },
        skipped={
            "post_title": "Opted out",
            "post_status": "publish",
            "post_date": "2001-02-03 10:00:04",
            "meta": {"_fib_skip": "1"},
        },
        removed={
            "post_title": "Its generated image was removed",
            "post_status": "publish",
            "post_date": "2001-02-03 10:00:03",
            "meta": {"_fib_attachment_id": "777"},
        },
        featured={
            "post_title": "Has a featured image",
            "post_status": "publish",
            "post_date": "2001-02-03 10:00:02",
            "thumbnail": True,
        },
        draft={"post_title": "A draft", "post_status": "draft", "post_date": "2001-02-03 10:00:01"},
        oldest={
            "post_title": "Oldest",
            "post_status": "publish",
            "post_date": "2001-02-03 10:00:00",
        },
    )
    mine = set(ids.values())
    client = connect(site, transport, account, page_size=2)
    try:
        found = [
            post for post in client.list_missing(["post", "page"], None) if post.post_id in mine
        ]
        only_posts = [post.post_id for post in client.list_missing(["post"], None)]
        first_three = list(client.list_missing(["post", "page"], 3))
    finally:
        client.close()
    assert [post.post_id for post in found] == [
        ids["from_content"],
        ids["page"],
        ids["with_excerpt"],
        ids["oldest"],
    ]
    assert found[0] == MissingPost(
        ids["from_content"],
        "post",
        "Ten &amp; one ideas",
        "Stones, moss and water.",
        f"ten-one-ideas-{transport}",
        categories=("Uncategorized",),
        site_name=site.php("echo get_bloginfo( 'name' );").strip().splitlines()[-1],
    )
    assert found[1].post_type == "page"
    assert found[2].excerpt == "Written by hand." and found[2].slug == f"has-an-excerpt-{transport}"
    assert ids["page"] not in only_posts and ids["oldest"] in only_posts
    assert len(only_posts) > 2  # more than one page was read
    assert len(first_three) == 3


def test_list_missing_pages_through_with_the_same_result(
    site: LocalWordPress, wordpress: WordPressSite, transport: str, account: WordPressUser
) -> None:
    make_posts(
        site,
        **{f"n{i}": {"post_title": f"Numbered {i}", "post_status": "publish"} for i in range(5)},
    )
    paged = connect(site, transport, account, page_size=2)
    try:
        assert list(paged.list_missing(["post"], None)) == list(
            wordpress.list_missing(["post"], None)
        )
    finally:
        paged.close()


def test_one_client_serves_many_threads(
    site: LocalWordPress, wordpress: WordPressSite, editor: EditorSession
) -> None:
    ids = make_posts(
        site, **{f"t{i}": {"post_title": f"Thread {i}", "post_status": "publish"} for i in range(8)}
    )

    def work(post_id: int) -> PostState | None:
        wordpress.update_post("post", post_id, status="generating", job_id=f"job-{post_id}")
        wordpress.update_post("post", post_id, status="failed", message=f"m{post_id}")
        return wordpress.get_post("post", post_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        states = list(pool.map(work, ids.values()))
    assert states == [PostState(post_id, "publish", 0, 0) for post_id in ids.values()]
    for post_id in ids.values():
        view = editor.post(post_id)
        assert (view.generation, view.message) == ("failed", f"m{post_id}")


def test_list_missing_gives_the_excerpt_the_webhook_would_send(
    site: LocalWordPress, wordpress: WordPressSite
) -> None:
    content = (
        "<!-- wp:paragraph -->\n<p>Stones, <em>moss</em> &amp; water [1].</p>\n"
        "<!-- /wp:paragraph -->\n\n"
        '<!-- wp:image {"id":3} -->\n<figure class="wp-block-image"><img src="a.jpg" alt=""/>'
        "<figcaption>Photo credit</figcaption></figure>\n<!-- /wp:image -->\n\n"
        "<!-- wp:spacer /-->\n\n"
        '<!-- wp:shortcode -->\n[gallery ids="1,2"]\n<!-- /wp:shortcode -->\n\n'
        "<!-- wp:list -->\n<ul><li>One</li><li>Two</li></ul>\n<!-- /wp:list -->\n\n"
        '[caption id="c1"]<img src="b.jpg"/> Hidden caption[/caption] '
        + " ".join(f"word{i}" for i in range(60))
    )
    ids = make_posts(
        site,
        rich={"post_title": "Rich content", "post_status": "publish", "post_content": content},
    )
    sent = site.php(
        "echo wp_json_encode( FeaturedImageBridge\\build_payload("
        f" get_post( {ids['rich']} ) )['data']['excerpt'] );"
    )
    listed = next(
        post for post in wordpress.list_missing(["post"], None) if post.post_id in ids.values()
    )
    assert listed.excerpt == json.loads(sent.strip().splitlines()[-1])


def test_list_missing_names_the_posts_categories_and_tags(
    site: LocalWordPress, wordpress: WordPressSite
) -> None:
    made = site.php(
        "$fib_test_cat = term_exists( 'Garden &amp; Home', 'category' )"
        " ?: wp_insert_term( 'Garden &amp; Home', 'category' );\n"
        "$fib_test_post = wp_insert_post( array( 'post_title' => 'Terms', "
        "'post_status' => 'publish', 'post_category' => array( $fib_test_cat['term_id'] ), "
        "'tags_input' => array( 'moss', 'stones' ) ) );\n"
        "echo $fib_test_post;"
    )
    post_id = int(made.strip().splitlines()[-1])
    listed = next(
        post for post in wordpress.list_missing(["post"], None) if post.post_id == post_id
    )
    assert listed.categories == ("Garden & Home",)
    assert sorted(listed.tags) == ["moss", "stones"]
    assert listed.site_name == site.php("echo get_bloginfo( 'name' );").strip().splitlines()[-1]
    assert listed.site_name
