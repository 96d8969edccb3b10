<?php
/**
 * Delivery of the automatic webhooks, outside the time the editor waits for a save.
 *
 * A save that triggers records the delivery in the post's meta (the outbox) and marks the
 * post "Queued"; the webhook is sent when the request ends, after the response has gone to
 * the client where the server allows it (release_client()). A delivery the bridge did not
 * accept (down, unreachable, 5xx), or one the request never got to send, stays recorded and
 * WP-Cron sends it again with exponential backoff, under the same webhook-id each time, so
 * the bridge recognises a redelivery it already has. Meanwhile the editor sees "Queued",
 * with a note once the plugin is waiting for the bridge.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Post meta that holds a pending delivery: webhook id, event type, attempts so far, next
 * try (Unix time).
 */
const FIB_DELIVERY_META = '_fib_delivery';

/**
 * WP-Cron hook that redelivers one post's webhook; its argument is the post ID.
 */
const FIB_REDELIVER_HOOK = 'fib_redeliver';

/**
 * Tries after which the plugin stops and reports the failure (about a day with the defaults).
 */
const FIB_DELIVERY_MAX_ATTEMPTS = 12;

/**
 * Records the webhook for a post in the outbox and sends it when the request ends.
 *
 * This is all a triggering save does: the delivery (one meta row), the "Queued" status, and a
 * WP-Cron try one backoff step later in case the request never gets to send it. A delivery
 * already pending for the post keeps its webhook-id, so the bridge counts it once.
 *
 * @param \WP_Post $post Post object as saved.
 * @param string   $type Event type, see build_payload().
 * @return void
 */
function queue_delivery( \WP_Post $post, $type ) {
	$delivery         = pending_delivery( $post->ID ) ?? new_delivery( $type );
	$delivery['type'] = $type;
	$delivery['next'] = time() + redelivery_delay( max( 1, $delivery['attempts'] ) );
	update_post_meta( $post->ID, FIB_DELIVERY_META, $delivery );
	record_status( $post->ID, 'queued', '' );
	if ( ! wp_next_scheduled( FIB_REDELIVER_HOOK, array( (int) $post->ID ) ) ) {
		wp_schedule_single_event( $delivery['next'], FIB_REDELIVER_HOOK, array( (int) $post->ID ) );
	}

	deliveries_at_shutdown( (int) $post->ID );
}

/**
 * A new delivery: a fresh webhook-id, no tries yet.
 *
 * @param string $type Event type, see build_payload().
 * @return array{id: string, type: string, attempts: int}
 */
function new_delivery( $type ) {
	return array(
		'id'       => 'msg_' . str_replace( '-', '', wp_generate_uuid4() ),
		'type'     => $type,
		'attempts' => 0,
	);
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

/**
 * Keeps a webhook the bridge did not receive and schedules its next try.
 *
 * Called when the bridge could not be reached or answered with a server error (5xx).
 * After FIB_DELIVERY_MAX_ATTEMPTS tries the post is marked failed with the last reason.
 *
 * @param int    $post_id Post ID.
 * @param string $reason  Why the last try failed, for the editor.
 * @return void
 */
function defer_delivery( $post_id, $reason ) {
	$delivery = pending_delivery( $post_id ) ?? new_delivery( 'post.published' );
	++$delivery['attempts'];

	if ( $delivery['attempts'] > FIB_DELIVERY_MAX_ATTEMPTS ) {
		delete_post_meta( $post_id, FIB_DELIVERY_META );
		wp_clear_scheduled_hook( FIB_REDELIVER_HOOK, array( (int) $post_id ) );
		record_status( $post_id, 'failed', $reason );
		return;
	}

	$delivery['next'] = time() + redelivery_delay( $delivery['attempts'] );
	update_post_meta( $post_id, FIB_DELIVERY_META, $delivery );
	wp_clear_scheduled_hook( FIB_REDELIVER_HOOK, array( (int) $post_id ) );
	wp_schedule_single_event( $delivery['next'], FIB_REDELIVER_HOOK, array( (int) $post_id ) );

	$message = sprintf(
		/* translators: 1: why the bridge could not be reached, 2: date and time of the next try. */
		__( 'Waiting for the bridge. %1$s. Next try: %2$s.', 'featured-image-bridge' ),
		rtrim( $reason, '.' ),
		format_status_time( gmdate( 'Y-m-d\TH:i:s\Z', $delivery['next'] ) )
	);
	record_status( $post_id, 'queued', $message );
}

/**
 * Seconds before the given try: 1 min, doubling each time, at most 1 hour.
 *
 * @param int $attempt Number of tries that failed so far (1 or more).
 * @return int Seconds.
 */
function redelivery_delay( $attempt ) {
	$delay = (int) min( MINUTE_IN_SECONDS * ( 2 ** ( max( 1, $attempt ) - 1 ) ), HOUR_IN_SECONDS );

	/**
	 * Filters the delay before the next redelivery of a webhook.
	 *
	 * @param int $delay   Seconds until the next try.
	 * @param int $attempt Number of tries that failed so far.
	 */
	return max( 0, (int) apply_filters( 'fib_redelivery_delay', $delay, $attempt ) );
}

/**
 * The pending delivery of a post, or null.
 *
 * @param int $post_id Post ID.
 * @return array{id: string, type: string, attempts: int}|null
 */
function pending_delivery( $post_id ) {
	$delivery = get_post_meta( $post_id, FIB_DELIVERY_META, true );
	if ( ! is_array( $delivery ) || empty( $delivery['id'] ) || ! is_string( $delivery['id'] ) ) {
		return null;
	}

	$type = isset( $delivery['type'] ) && in_array( $delivery['type'], FIB_EVENT_TYPES, true ) ? $delivery['type'] : 'post.published';

	return array(
		'id'       => $delivery['id'],
		'type'     => $type,
		'attempts' => isset( $delivery['attempts'] ) ? (int) $delivery['attempts'] : 0,
	);
}

/**
 * Sends a post's recorded webhook, signed afresh under its original webhook-id: at the end
 * of the request that recorded it, then from WP-Cron until the bridge accepts it.
 *
 * A post that no longer needs an image (unpublished, deleted, or given one meanwhile) is
 * dropped from the queue.
 *
 * @param int $post_id Post ID.
 * @return void
 */
function redeliver( $post_id ) {
	$post_id  = (int) $post_id;
	$delivery = pending_delivery( $post_id );
	$post     = get_post( $post_id );
	$settings = get_plugin_settings();
	if ( null === $delivery ) {
		return;
	}

	// With "Only missing images" off, the save asked to replace the image the post has.
	if ( ! $post instanceof \WP_Post || 'publish' !== $post->post_status || ! $settings['enabled'] || ( $settings['only_missing'] && has_post_thumbnail( $post ) ) ) {
		delete_post_meta( $post_id, FIB_DELIVERY_META );
		wp_clear_scheduled_hook( FIB_REDELIVER_HOOK, array( $post_id ) );
		return;
	}

	$body      = (string) wp_json_encode( build_payload( $post, $delivery['type'] ) );
	$timestamp = (string) time();
	$signature = sign( $settings['secret'], $delivery['id'], $timestamp, $body );
	if ( is_wp_error( $signature ) ) {
		delete_post_meta( $post_id, FIB_DELIVERY_META );
		record_status( $post_id, 'failed', $signature->get_error_message() );
		return;
	}

	$response = wp_remote_post(
		$settings['bridge_url'] . '/webhook',
		array(
			'timeout'     => 3,
			'redirection' => 0,
			'user-agent'  => 'FeaturedImageBridge/' . FIB_VERSION . ' WordPress/' . get_bloginfo( 'version' ),
			'headers'     => array(
				'Content-Type'      => 'application/json',
				'webhook-id'        => $delivery['id'],
				'webhook-timestamp' => $timestamp,
				'webhook-signature' => $signature,
			),
			'body'        => $body,
		)
	);

	// The bridge answered, other than with a server error: this delivery is over either way.
	$code = is_wp_error( $response ) ? 0 : (int) wp_remote_retrieve_response_code( $response );
	if ( $code > 0 && $code < 500 ) {
		delete_post_meta( $post_id, FIB_DELIVERY_META );
		wp_clear_scheduled_hook( FIB_REDELIVER_HOOK, array( $post_id ) );
	}
	handle_response( $post_id, $response, $settings['bridge_url'] );
}
