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
 * WP-Cron hook that sends the deliveries nobody sent: recorded by a request that ended before
 * its shutdown (killed, out of memory) and never tried since. No argument.
 */
const FIB_SWEEP_HOOK = 'fib_deliver_due';

/**
 * Most deliveries one sweep sends; a sweep that finds more runs again soon.
 */
const FIB_SWEEP_BATCH = 50;

/**
 * Records the webhook for a post in the outbox and sends it when the request ends.
 *
 * This is all a triggering save does, in two meta rows: the delivery and the "Queued" status.
 * Scheduling is left out of the save: the sweep (FIB_SWEEP_HOOK) is already scheduled, except
 * for the first save after a quiet spell, and a try that fails schedules its own retry. A
 * delivery already pending for the post keeps its webhook-id, so the bridge counts it once.
 *
 * @param \WP_Post $post Post object as saved.
 * @param string   $type Event type, see build_payload().
 * @return void
 */
function queue_delivery( \WP_Post $post, $type ) {
	$post_id          = (int) $post->ID;
	$delivery         = pending_delivery( $post_id ) ?? new_delivery( $type );
	$delivery['type'] = $type;
	$delivery['next'] = time() + redelivery_delay( max( 1, $delivery['attempts'] ) );

	// The status last: whoever reads "Queued" finds the delivery recorded.
	$writes = array( FIB_DELIVERY_META => $delivery ) + queued_status_fields( $post_id );
	// Every key is looked up before the first write, from the meta cache the save has read:
	// each write empties that cache, and a look-up after it would cost a query.
	$exists = array();
	foreach ( array_keys( $writes ) as $key ) {
		$exists[ $key ] = metadata_exists( 'post', $post_id, $key );
	}
	foreach ( $writes as $key => $value ) {
		write_post_meta( $post_id, $key, $value, $exists[ $key ] );
	}

	if ( ! wp_next_scheduled( FIB_SWEEP_HOOK ) ) {
		wp_schedule_single_event( $delivery['next'], FIB_SWEEP_HOOK );
	}

	deliveries_at_shutdown( $post_id );
}

/**
 * The meta that marks a post "Queued" for the editor, only what changes: a new post gets one
 * row, _fib_status; a message, job id or error kind left from an earlier job is emptied. The
 * bridge's answer fills in the job id and the time.
 *
 * @param int $post_id Post ID.
 * @return array<string, string> Meta key => value to write, _fib_status last.
 */
function queued_status_fields( $post_id ) {
	$fields = array();
	foreach ( array( '_fib_message', '_fib_job_id', '_fib_error_kind' ) as $key ) {
		if ( '' !== get_post_meta( $post_id, $key, true ) ) {
			$fields[ $key ] = '';
		}
	}
	$fields['_fib_status'] = 'queued';

	return $fields;
}

/**
 * Writes one meta value: add_post_meta() when the post has no such key (one INSERT, without
 * update_post_meta()'s look-up query), update_post_meta() otherwise.
 *
 * @param int    $post_id Post ID.
 * @param string $key     Meta key.
 * @param mixed  $value   Value, unslashed.
 * @param bool   $exists  Whether the post has the key already.
 * @return void
 */
function write_post_meta( $post_id, $key, $value, $exists ) {
	if ( $exists ) {
		update_post_meta( $post_id, $key, wp_slash( $value ) );
		return;
	}

	add_post_meta( $post_id, $key, wp_slash( $value ) );
}

/**
 * WP-Cron: sends every delivery that is due and has no try of its own scheduled, that is one
 * its request recorded but never sent. Runs again while such deliveries remain.
 *
 * @return void
 */
function send_due_deliveries() {
	$post_ids = get_posts(
		array(
			'post_type'        => array_values( get_post_types() ),
			'post_status'      => 'any',
			'fields'           => 'ids',
			'meta_key'         => FIB_DELIVERY_META, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_key -- few posts ever have one.
			'posts_per_page'   => FIB_SWEEP_BATCH + 1,
			'orderby'          => 'ID',
			'order'            => 'ASC',
			'suppress_filters' => true,
			'no_found_rows'    => true,
		)
	);

	$later = null;
	foreach ( array_slice( $post_ids, 0, FIB_SWEEP_BATCH ) as $post_id ) {
		$delivery = get_post_meta( $post_id, FIB_DELIVERY_META, true );
		$next     = is_array( $delivery ) && isset( $delivery['next'] ) ? (int) $delivery['next'] : 0;
		if ( wp_next_scheduled( FIB_REDELIVER_HOOK, array( (int) $post_id ) ) ) {
			continue;
		}
		if ( $next > time() ) {
			$later = null === $later ? $next : min( $later, $next );
			continue;
		}
		redeliver( (int) $post_id );
	}

	if ( count( $post_ids ) > FIB_SWEEP_BATCH ) {
		$later = time() + MINUTE_IN_SECONDS;
	}
	if ( null !== $later && ! wp_next_scheduled( FIB_SWEEP_HOOK ) ) {
		wp_schedule_single_event( $later, FIB_SWEEP_HOOK );
	}
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
				FIB_SITE_HEADER     => get_site_url(),
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
