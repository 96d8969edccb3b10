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
 * The posts whose delivery this request sends when it ends; adds one of the current site
 * when given. On a network a request may save posts of several sites (switch_to_blog()), so
 * each post is kept with its site.
 *
 * @param int|null $post_id Post ID to add, null to only read.
 * @return array<int, array{0: int, 1: int}> Site ID and post ID of each.
 */
function deliveries_at_shutdown( $post_id = null ) {
	static $posts = array();

	if ( null !== $post_id ) {
		$site_id = get_current_blog_id();

		$posts[ $site_id . ':' . $post_id ] = array( $site_id, (int) $post_id );
	}

	return array_values( $posts );
}

/**
 * Filter rest_pre_serve_request: when this REST request recorded a delivery, buffers the
 * response WordPress is about to print, so that release_client() can tell the client where it
 * ends. The response itself is left alone.
 *
 * Started here, just before the REST response is printed, and not in the save: a buffer opened
 * inside the save would be taken by any code that buffers around its own call to
 * wp_insert_post().
 *
 * @param bool $served Whether the response was already served.
 * @return bool The same.
 */
function buffer_rest_response( $served ) {
	if ( ! $served && array() !== deliveries_at_shutdown() && ! can_finish_request() && ! headers_sent() ) {
		ob_start();
	}

	return $served;
}

/**
 * On shutdown: hands the response to the client, then sends the deliveries this request
 * recorded. Runs before WordPress flushes the output buffers (wp_ob_end_flush_all, priority 1).
 *
 * @return void
 */
function send_deliveries_at_shutdown() {
	$posts = deliveries_at_shutdown();
	if ( array() === $posts ) {
		return;
	}

	release_client();
	foreach ( $posts as list( $site_id, $post_id ) ) {
		$switched = get_current_blog_id() !== $site_id;
		if ( $switched ) {
			switch_to_blog( $site_id );
		}
		redeliver( $post_id );
		if ( $switched ) {
			restore_current_blog();
		}
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
 * php-fpm and LiteSpeed have a function for it. Elsewhere (mod_php, `php -S`) the response
 * is sent with its length and "Connection: close", which lets the client finish reading: a
 * REST response from its buffer (buffer_rest_response()), a redirect with its empty body.
 * That is only done while nothing has been sent and every output buffer is a plain one the
 * plugin can measure (no compression); otherwise the client waits for the script to end.
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

	$buffers  = ob_get_status( true );
	$rest     = defined( 'REST_REQUEST' ) && REST_REQUEST && array() !== $buffers;
	$redirect = array() === $buffers && http_response_code() >= 300 && http_response_code() < 400;
	if ( 'cli' === PHP_SAPI || headers_sent() || ini_get( 'zlib.output_compression' ) || ! ( $rest || $redirect ) ) {
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
