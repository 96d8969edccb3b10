"""`wp fib backfill`, run by a small stand-in for WP-CLI's runner (WP-CLI is not installed
here): the command's own code, the real WordPress and the real bridge."""

from __future__ import annotations

import pytest

from devenv.bridge_process import BridgeProcesses, free_port
from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress

RUNNER = r"""
namespace {
	define( 'WP_CLI', true );
	class WP_CLI {
		public static function log( $message ) { echo 'LOG ', $message, "\n"; }
		public static function success( $message ) { echo 'SUCCESS ', $message, "\n"; }
		public static function error( $message ) { throw new RuntimeException( $message ); }
	}
}
namespace WP_CLI\Utils {
	function get_flag_value( $assoc_args, $flag, $default = null ) {
		return isset( $assoc_args[ $flag ] ) ? $assoc_args[ $flag ] : $default;
	}
}
namespace {
	require FIB_PLUGIN_DIR . '/includes/cli.php';
	try {
		( new \FeaturedImageBridge\Cli_Command() )->backfill( array(), json_decode( '%s', true ) );
	} catch ( RuntimeException $e ) {
		echo 'ERROR ', $e->getMessage(), "\n";
	}
}
"""


def _wp_fib_backfill(site: LocalWordPress, options: str) -> str:
    return site.php(RUNNER.replace("%s", options)).strip()


def test_an_unknown_post_type_is_refused(site: LocalWordPress, use_local: BridgeProcesses) -> None:
    out = _wp_fib_backfill(site, '{"post-type": "post,attachment"}')
    assert out == "ERROR Not a public post type with featured images: attachment"


def test_an_unreachable_bridge_is_named(site: LocalWordPress, use_local: BridgeProcesses) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    site.update_plugin_settings(bridge_url=closed)
    try:
        out = _wp_fib_backfill(site, '{"dry-run": true}')
    finally:
        site.update_plugin_settings(bridge_url=use_local.url)
    assert out.startswith(f"ERROR Could not reach the bridge at {closed}: cURL error 7")


def test_a_dry_run_asks_the_bridge(
    site: LocalWordPress, use_local: BridgeProcesses, editor: EditorSession
) -> None:
    site.update_plugin_settings(trigger="manual")
    try:
        editor.create_post("Waiting for a picture")
        editor.create_post("Waiting for a picture too")
    finally:
        site.update_plugin_settings(trigger="publish")
    out = _wp_fib_backfill(site, '{"dry-run": true, "limit": "2"}')
    first, *sample = out.splitlines()
    assert first.startswith("LOG 2 posts, 2 generations, estimated cost 0.88.")
    assert len(sample) == 2 and all(line.startswith("LOG   #") for line in sample)
    run = _wp_fib_backfill(site, '{"limit": "1"}')
    assert run.startswith("SUCCESS Run ") and "started: 1 posts." in run
    run_id = run.split()[2]
    assert site.php("echo get_option( 'fib_backfill_run' );").strip() == run_id
    site.php("delete_option( 'fib_backfill_run' );")
