"""A WordPress multisite network: each subsite is a site of its own for the plugin.

The network (tests/sites.py) has the subsites /news/ and /sport/, the plugin network-activated.
Each subsite is configured against its own bridge: news over REST, sport over XML-RPC, both
with the bridge user's one Application Password. A new subsite's first post gets the same ID
on both, so these tests also show that nothing crosses from one subsite to the other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession, PostView
from devenv.wordpress import PLUGIN_FILE, LocalWordPress, Subsite
from tests.integration.conftest import bridge_env

pytestmark = pytest.mark.wordpress

TRANSPORTS = {"news": "rest", "sport": "xmlrpc"}


@pytest.fixture(scope="module")
def bridges(
    network: LocalWordPress, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, BridgeProcesses]]:
    """One bridge per subsite (WP_URL = the subsite's URL), drawing title cards."""
    started: dict[str, BridgeProcesses] = {}
    try:
        for subsite in network.subsites:
            env = bridge_env(
                subsite, BRIDGE_PROVIDER="local", WP_TRANSPORT=TRANSPORTS[subsite.name]
            )
            bridge = BridgeProcesses(env, tmp_path_factory.mktemp(f"bridge-{subsite.name}"))
            bridge.start()
            started[subsite.name] = bridge
        yield started
    finally:
        for bridge in started.values():
            bridge.stop()


@pytest.fixture
def configured(network: LocalWordPress, bridges: dict[str, BridgeProcesses]) -> LocalWordPress:
    """The network as installed, each subsite pointed at its own bridge."""
    network.reset()
    for subsite in network.subsites:
        subsite.update_plugin_settings(bridge_url=bridges[subsite.name].url, enabled=True)
    return network


def _publish_on_each(network: LocalWordPress) -> dict[str, tuple[int, str]]:
    """Publishes one post per subsite: name -> (post id, title)."""
    posts: dict[str, tuple[int, str]] = {}
    for subsite in network.subsites:
        title = f"Harbour lights over {subsite.name}"
        editor = EditorSession(subsite)
        try:
            posts[subsite.name] = (editor.create_post(title, "Boats at dusk."), title)
        finally:
            editor.close()
    ids = {post_id for post_id, _ in posts.values()}
    assert len(ids) == 1, f"precondition: the same post ID on every subsite, got {posts}"
    return posts


def _wait_done(subsite: Subsite, post_id: int, job_id: str | None = None) -> PostView:
    editor = EditorSession(subsite)
    try:
        view = editor.wait_for(post_id, job_id=job_id)
        assert view.generation == "done", f"{subsite.name}: {view.message}"
        return view
    finally:
        editor.close()


def _media_title(subsite: Subsite, media_id: int) -> str:
    editor = EditorSession(subsite)
    try:
        return str(editor.media(media_id)["title"]["raw"])
    finally:
        editor.close()


def _attachments(site: LocalWordPress | Subsite) -> list[int]:
    out = site.php(
        "echo wp_json_encode( get_posts( array( 'post_type' => 'attachment',"
        " 'post_status' => 'any', 'numberposts' => -1, 'fields' => 'ids' ) ) );"
    )
    return [int(i) for i in json.loads(out.strip().splitlines()[-1])]


def test_a_post_on_each_subsite_gets_its_featured_image_there_and_only_there(
    configured: LocalWordPress,
) -> None:
    posts = _publish_on_each(configured)
    for subsite in configured.subsites:
        post_id, title = posts[subsite.name]
        view = _wait_done(subsite, post_id)
        # The image is this subsite's, made for this subsite's post, and in its uploads.
        assert _attachments(subsite) == [view.featured_media]
        assert _media_title(subsite, view.featured_media) == title
        assert any(subsite.uploads_dir.rglob("harbour-lights-over-*"))
    assert _attachments(configured) == []  # the main site got nothing


def test_regenerate_on_a_subsite_replaces_its_image_and_leaves_the_other_alone(
    configured: LocalWordPress,
) -> None:
    posts = _publish_on_each(configured)
    news, sport = configured.subsite("news"), configured.subsite("sport")
    before = {s.name: _wait_done(s, posts[s.name][0]) for s in (news, sport)}

    post_id = posts["news"][0]
    editor = EditorSession(news)
    try:
        answer = editor.call("POST", f"/fib/v1/posts/{post_id}/regenerate")
    finally:
        editor.close()
    after = _wait_done(news, post_id, job_id=str(answer["job_id"]))

    assert after.featured_media not in (0, before["news"].featured_media)
    assert _media_title(news, after.featured_media) == posts["news"][1]
    untouched = EditorSession(sport)
    try:
        assert untouched.post(post_id).meta == before["sport"].meta
    finally:
        untouched.close()


def test_posts_published_on_two_subsites_in_one_request_reach_their_own_bridges(
    configured: LocalWordPress,
) -> None:
    """As a network-wide plugin or script does it: switch_to_blog() and publish, in one
    request; each delivery leaves when the request ends, from its own subsite."""
    spec = json.dumps({s.name: s.blog_id for s in configured.subsites})
    out = configured.php(
        f"wp_set_current_user( {configured.editor.user_id} );\n"
        "$fib_ids = array();\n"
        f"foreach ( json_decode( '{spec}', true ) as $fib_name => $fib_blog ) {{\n"
        "\tswitch_to_blog( $fib_blog );\n"
        "\t$fib_ids[ $fib_name ] = wp_insert_post( array( 'post_title' => 'Tides at '"
        " . $fib_name, 'post_content' => 'High water.', 'post_status' => 'publish' ) );\n"
        "\trestore_current_blog();\n"
        "}\n"
        "echo wp_json_encode( $fib_ids );\n"
    )
    post_ids: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    for subsite in configured.subsites:
        view = _wait_done(subsite, post_ids[subsite.name])
        assert _media_title(subsite, view.featured_media) == f"Tides at {subsite.name}"


def test_a_subsite_created_after_network_activation_gets_its_own_settings(
    configured: LocalWordPress,
) -> None:
    out = configured.php(
        "$fib_id = wpmu_create_blog( DOMAIN_CURRENT_SITE, '/later/', 'Later', 1 );\n"
        "switch_to_blog( $fib_id );\n"
        "echo wp_json_encode( array( 'settings' => get_option( 'fib_settings' ),"
        f" 'active' => is_plugin_active( '{PLUGIN_FILE}' ) ) );\n"
    )
    later = json.loads(out.strip().splitlines()[-1])
    assert later["active"] is True
    assert isinstance(later["settings"], dict), "the new subsite has no fib_settings"
    secret = later["settings"]["secret"]
    assert secret.startswith("whsec_")
    assert secret not in {str(s.plugin_settings()["secret"]) for s in configured.subsites}
    assert later["settings"]["bridge_url"] == ""


_LEFT_BEHIND = """
global $wpdb;
$fib_left = array();
foreach ( get_sites( array( 'fields' => 'ids', 'number' => 0 ) ) as $fib_site ) {
	switch_to_blog( $fib_site );
	$fib_hooks = array();
	foreach ( (array) _get_cron_array() as $fib_events ) {
		foreach ( array_keys( (array) $fib_events ) as $fib_hook ) {
			if ( 0 === strpos( $fib_hook, 'fib_' ) ) {
				$fib_hooks[] = $fib_hook;
			}
		}
	}
	$fib_left[ $fib_site ] = array(
		'options' => $wpdb->get_col(
			"SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE 'fib\\\\_%'"
		),
		'meta'    => (int) $wpdb->get_var(
			"SELECT COUNT(*) FROM {$wpdb->postmeta} WHERE meta_key LIKE '\\\\_fib\\\\_%'"
		),
		'cron'    => $fib_hooks,
	);
	restore_current_blog();
}
echo wp_json_encode( $fib_left );
"""


def _left_behind(network: LocalWordPress) -> dict[str, dict[str, object]]:
    out = network.php(_LEFT_BEHIND)
    left: dict[str, dict[str, object]] = json.loads(out.strip().splitlines()[-1])
    return left


def _wait_deferred(subsite: Subsite, post_id: int) -> None:
    """Waits until the post's failed delivery has scheduled its next try."""
    editor = EditorSession(subsite)
    deadline = time.monotonic() + 30
    try:
        while "Waiting for the bridge" not in (view := editor.post(post_id)).message:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{subsite.name}: no deferred delivery: {view.meta}")
            time.sleep(0.2)
    finally:
        editor.close()


def test_uninstall_removes_options_meta_and_cron_of_every_subsite(
    configured: LocalWordPress,
) -> None:
    # An unreachable bridge: each subsite's post keeps a pending delivery and a redelivery.
    for subsite in configured.subsites:
        subsite.update_plugin_settings(bridge_url="http://127.0.0.1:9")
    posts = _publish_on_each(configured)
    for subsite in configured.subsites:
        _wait_deferred(subsite, posts[subsite.name][0])
    left = _left_behind(configured)
    for subsite in configured.subsites:
        site_left = left[str(subsite.blog_id)]
        assert "fib_settings" in str(site_left["options"])
        assert site_left["meta"] != 0 and "fib_redeliver" in str(site_left["cron"])

    try:
        configured.php(
            f"deactivate_plugins( '{PLUGIN_FILE}', false, true );\n"
            f"uninstall_plugin( '{PLUGIN_FILE}' );\n"
        )
        left = _left_behind(configured)
    finally:
        configured.reset()  # the plugin active again for the tests after this one
    assert set(left) == {"1", *(str(s.blog_id) for s in configured.subsites)}
    assert all(site_left == {"options": [], "meta": 0, "cron": []} for site_left in left.values())
