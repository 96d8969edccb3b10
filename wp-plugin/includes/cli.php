<?php
/**
 * WP-CLI: `wp fib backfill` starts a run on the bridge (loaded only under WP-CLI).
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) || ! defined( 'WP_CLI' ) ) {
	return;
}

/**
 * Featured Image Bridge commands.
 */
class Cli_Command {

	/**
	 * Fills the featured images of published posts that have none, through the bridge.
	 *
	 * ## OPTIONS
	 *
	 * [--dry-run]
	 * : Only say how many posts would get an image and what it would cost.
	 *
	 * [--post-type=<types>]
	 * : Comma-separated post types. Default: the "Post types" setting.
	 *
	 * [--limit=<number>]
	 * : At most this many posts.
	 *
	 * ## EXAMPLES
	 *
	 *     wp fib backfill --dry-run
	 *     wp fib backfill --post-type=post,page --limit=50
	 *
	 * @param string[]              $args       Positional arguments (none).
	 * @param array<string, string> $assoc_args Options.
	 * @return void
	 */
	public function backfill( $args, $assoc_args ) {
		$post_types = isset( $assoc_args['post-type'] )
			? array_filter( array_map( 'trim', explode( ',', $assoc_args['post-type'] ) ) )
			: get_plugin_settings()['post_types'];
		$unknown    = array_diff( $post_types, array_keys( allowed_post_types() ) );
		if ( array() !== $unknown || array() === $post_types ) {
			\WP_CLI::error( sprintf( 'Not a public post type with featured images: %s', implode( ', ', $unknown ) ) );
		}

		$limit   = isset( $assoc_args['limit'] ) ? absint( $assoc_args['limit'] ) : 0;
		$dry_run = \WP_CLI\Utils\get_flag_value( $assoc_args, 'dry-run', false );

		$result = start_backfill( array_values( $post_types ), $limit, (bool) $dry_run );
		if ( is_wp_error( $result ) ) {
			\WP_CLI::error( $result->get_error_message() );
		}

		if ( $dry_run ) {
			$posts = isset( $result['posts'] ) ? absint( $result['posts'] ) : 0;
			\WP_CLI::log( sprintf( '%d posts, %d generations, estimated cost %.2f.', $posts, isset( $result['generations'] ) ? absint( $result['generations'] ) : $posts, $posts * get_plugin_settings()['price_per_image'] ) );
			foreach ( isset( $result['sample'] ) && is_array( $result['sample'] ) ? $result['sample'] : array() as $item ) {
				\WP_CLI::log( sprintf( '  #%d %s', absint( $item['post_id'] ?? 0 ), (string) ( $item['title'] ?? '' ) ) );
			}
			return;
		}

		\WP_CLI::success( sprintf( 'Run %s started: %d posts. Follow it on Tools → Fill missing featured images.', (string) $result['id'], isset( $result['total'] ) ? absint( $result['total'] ) : 0 ) );
	}
}
