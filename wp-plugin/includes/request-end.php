<?php
/**
 * The end of a request that recorded deliveries: the response goes to the client first, the
 * webhooks after, so that the editor does not wait for the bridge.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The posts whose delivery this request sends when it ends; adds one when given.
 *
 * The first one added starts an output buffer (when the server can only release the client
 * that way) so that release_client() can tell the client where the response ends.
 *
 * @param int|null $post_id Post ID to add, null to only read.
 * @return int[] Post IDs.
 */
function deliveries_at_shutdown( $post_id = null ) {
	static $post_ids = array();

	if ( null !== $post_id ) {
		if ( array() === $post_ids && ! can_finish_request() && 'cli' !== PHP_SAPI && ! headers_sent() ) {
			ob_start();
		}
		$post_ids[ $post_id ] = $post_id;
	}

	return array_values( $post_ids );
}

/**
 * On shutdown: hands the response to the client, then sends the deliveries this request
 * recorded. Runs before WordPress flushes the output buffers (wp_ob_end_flush_all, priority 1).
 *
 * @return void
 */
function send_deliveries_at_shutdown() {
	$post_ids = deliveries_at_shutdown();
	if ( array() === $post_ids ) {
		return;
	}

	release_client();
	foreach ( $post_ids as $post_id ) {
		redeliver( $post_id );
	}
}

/**
 * Whether the server can end the response before the script ends (php-fpm, LiteSpeed).
 *
 * @return bool
 */
function can_finish_request() {
	return function_exists( 'fastcgi_finish_request' ) || function_exists( 'litespeed_finish_request' );
}

/**
 * Ends the response for the client, so that the work that follows does not keep it waiting.
 *
 * php-fpm and LiteSpeed have a function for it. Elsewhere (mod_php, `php -S`) the buffered
 * response is sent with its length and "Connection: close", which lets the client finish
 * reading; that is only done when every output buffer is a plain one that the plugin can
 * measure (no compression), otherwise the client simply waits for the script to end.
 *
 * @return void
 */
function release_client() {
	ignore_user_abort( true );
	if ( function_exists( 'fastcgi_finish_request' ) ) {
		fastcgi_finish_request();
		return;
	}
	if ( function_exists( 'litespeed_finish_request' ) ) {
		litespeed_finish_request();
		return;
	}

	$buffers = ob_get_status( true );
	if ( 'cli' === PHP_SAPI || headers_sent() || array() === $buffers || ini_get( 'zlib.output_compression' ) ) {
		return;
	}
	foreach ( $buffers as $buffer ) {
		$plain = 'default output handler' === $buffer['name'];
		if ( ! $plain || ! ( $buffer['flags'] & PHP_OUTPUT_HANDLER_REMOVABLE ) ) {
			return;
		}
	}

	$body = '';
	while ( ob_get_level() > 0 ) {
		$body = (string) ob_get_clean() . $body;
	}
	header( 'Content-Length: ' . strlen( $body ) );
	header( 'Connection: close' );
	echo $body; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- the response WordPress already built.
	flush();
}
