<?php
/**
 * Redelivery: a webhook the bridge did not receive (it was down or unreachable) is kept in
 * the post's meta and sent again by WP-Cron with exponential backoff, under the same
 * webhook-id each time, so the bridge recognises a redelivery it already has. Meanwhile
 * the editor sees "Queued" with a note that the plugin is waiting for the bridge.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Post meta that holds a pending delivery: webhook id, attempts so far, next try (Unix time).
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
	$delivery = pending_delivery( $post_id );
	if ( null === $delivery ) {
		$delivery = array(
			'id'       => 'msg_' . str_replace( '-', '', wp_generate_uuid4() ),
			'attempts' => 0,
		);
	}
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
 * @return array{id: string, attempts: int}|null
 */
function pending_delivery( $post_id ) {
	$delivery = get_post_meta( $post_id, FIB_DELIVERY_META, true );
	if ( ! is_array( $delivery ) || empty( $delivery['id'] ) || ! is_string( $delivery['id'] ) ) {
		return null;
	}

	return array(
		'id'       => $delivery['id'],
		'attempts' => isset( $delivery['attempts'] ) ? (int) $delivery['attempts'] : 0,
	);
}

/**
 * WP-Cron: sends a kept webhook again, signed afresh under its original webhook-id.
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

	if ( ! $post instanceof \WP_Post || 'publish' !== $post->post_status || has_post_thumbnail( $post ) || ! $settings['enabled'] ) {
		delete_post_meta( $post_id, FIB_DELIVERY_META );
		return;
	}

	$body      = (string) wp_json_encode( build_payload( $post ) );
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
	}
	handle_response( $post_id, $response, $settings['bridge_url'] );
}
