<?php
/**
 * Filling missing featured images: which posts lack one (local queries), and
 * the bridge's backfill runs (docs/protocol.md, "Backfill runs") started,
 * polled and controlled through signed requests.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Option that keeps the current run's id, so the Tools screen finds it again.
 */
const FIB_BACKFILL_RUN_OPTION = 'fib_backfill_run';

/**
 * Whether the current user may see and run backfills.
 *
 * @return bool
 */
function can_backfill() {
	return current_user_can( 'manage_options' ) || current_user_can( 'edit_others_posts' );
}

/**
 * WP_Query arguments for posts without a featured image that did not opt out and whose
 * generated image no editor removed: the posts the bridge's backfill would fill.
 *
 * @param string[] $post_types Post type names.
 * @param string[] $statuses   Post statuses.
 * @param int      $per_page   Posts per page (-1 for all).
 * @return array<string, mixed>
 */
function missing_query_args( $post_types, $statuses, $per_page ) {
	return array(
		'post_type'              => $post_types,
		'post_status'            => $statuses,
		'posts_per_page'         => $per_page,
		'orderby'                => array(
			'date' => 'DESC',
			'ID'   => 'DESC',
		),
		'ignore_sticky_posts'    => true,
		'no_found_rows'          => false,
		'update_post_term_cache' => false,
		// phpcs:ignore WordPress.DB.SlowDBQuery.slow_query_meta_query -- an admin screen, not a front-end query.
		'meta_query'             => array(
			'relation' => 'AND',
			array(
				'relation' => 'OR',
				array(
					'key'     => '_thumbnail_id',
					'compare' => 'NOT EXISTS',
				),
				array(
					'key'   => '_thumbnail_id',
					'value' => array( '', '0' ),
					'compare' => 'IN',
				),
			),
			array(
				'relation' => 'OR',
				array(
					'key'     => '_fib_skip',
					'compare' => 'NOT EXISTS',
				),
				array(
					'key'     => '_fib_skip',
					'value'   => array( '', '0' ),
					'compare' => 'IN',
				),
			),
			// A generated image an editor removed stays removed (as in should_send()).
			array(
				'relation' => 'OR',
				array(
					'key'     => '_fib_attachment_id',
					'compare' => 'NOT EXISTS',
				),
				array(
					'key'     => '_fib_attachment_id',
					'value'   => array( '', '0' ),
					'compare' => 'IN',
				),
			),
		),
	);
}

/**
 * Statuses shown in the counts table, with their labels.
 *
 * @return array<string, string>
 */
function counted_statuses() {
	return array(
		'publish' => __( 'Published', 'featured-image-bridge' ),
		'future'  => __( 'Scheduled', 'featured-image-bridge' ),
		'draft'   => __( 'Draft', 'featured-image-bridge' ),
		'pending' => __( 'Pending', 'featured-image-bridge' ),
		'private' => __( 'Private', 'featured-image-bridge' ),
	);
}

/**
 * How many posts lack a featured image, by post type and status.
 *
 * @return array<string, array<string, int>> Post type => status => count.
 */
function missing_counts() {
	$counts = array();
	foreach ( array_keys( allowed_post_types() ) as $post_type ) {
		foreach ( array_keys( counted_statuses() ) as $status ) {
			$query = new \WP_Query( array_merge( missing_query_args( array( $post_type ), array( $status ), 1 ), array( 'fields' => 'ids' ) ) );

			$counts[ $post_type ][ $status ] = (int) $query->found_posts;
		}
	}

	return $counts;
}

/**
 * A dry run computed locally: the published posts a run would fill.
 *
 * @param string[] $post_types Post type names.
 * @param int      $limit      At most this many posts (0: no limit).
 * @param int      $sample     How many titles to list.
 * @return array{posts: int, generations: int, cost: float, sample: array<int, array{post_id: int, title: string}>}
 */
function backfill_dry_run( $post_types, $limit, $sample = 20 ) {
	$query = new \WP_Query( missing_query_args( $post_types, array( 'publish' ), $sample ) );
	$total = (int) $query->found_posts;
	$count = $limit > 0 ? min( $limit, $total ) : $total;

	$titles = array();
	foreach ( array_slice( $query->posts, 0, $count ) as $post ) {
		$titles[] = array(
			'post_id' => (int) $post->ID,
			'title'   => get_the_title( $post ),
		);
	}

	return array(
		'posts'       => $count,
		'generations' => $count,
		'cost'        => round( $count * get_plugin_settings()['price_per_image'], 2 ),
		'sample'      => $titles,
	);
}

/**
 * Asks the bridge to start a run.
 *
 * @param string[] $post_types Post type names.
 * @param int      $limit      At most this many posts (0: no limit).
 * @param bool     $dry_run    Only count (the bridge answers what it would do).
 * @return array<string, mixed>|\WP_Error The run (or the dry run's answer), or what went wrong.
 */
function start_backfill( $post_types, $limit, $dry_run = false ) {
	$answer = bridge_request(
		'POST',
		'/backfills',
		array(
			'type'      => 'backfill.start',
			'timestamp' => gmdate( 'Y-m-d\TH:i:s\Z' ),
			'data'      => array(
				'site_url'   => get_site_url(),
				'post_types' => array_values( $post_types ),
				'limit'      => $limit > 0 ? $limit : null,
				'dry_run'    => $dry_run,
				'options'    => payload_options(),
			),
		)
	);

	if ( is_wp_error( $answer ) ) {
		return $answer;
	}
	$expected = $dry_run ? 200 : 201;
	if ( $expected !== $answer['code'] || ( ! $dry_run && ! isset( $answer['json']['id'] ) ) ) {
		return new \WP_Error( 'fib_backfill_refused', bridge_refusal_message( $answer ) );
	}

	if ( ! $dry_run ) {
		update_option( FIB_BACKFILL_RUN_OPTION, sanitize_run_id( $answer['json']['id'] ), false );
	}

	return $answer['json'];
}

/**
 * A run id as the bridge gives it, or '' when it is not one.
 *
 * @param mixed $value Raw value.
 * @return string
 */
function sanitize_run_id( $value ) {
	$value = is_scalar( $value ) ? (string) $value : '';

	return 1 === preg_match( '/^[A-Za-z0-9_-]{1,64}$/', $value ) ? $value : '';
}

/**
 * The current run's id ('' when none was started).
 *
 * @return string
 */
function current_run_id() {
	return sanitize_run_id( get_option( FIB_BACKFILL_RUN_OPTION, '' ) );
}

/**
 * Reads a run from the bridge, or sends it a command.
 *
 * @param string      $run_id  Run id.
 * @param string|null $command null to read; pause, resume or cancel.
 * @return array<string, mixed>|\WP_Error The run, or what went wrong.
 */
function backfill_run( $run_id, $command = null ) {
	$path   = '/backfills/' . rawurlencode( $run_id );
	$answer = null === $command
		? bridge_request( 'GET', $path )
		: bridge_request(
			'POST',
			$path . '/' . $command,
			array(
				'type'      => 'backfill.' . $command,
				'timestamp' => gmdate( 'Y-m-d\TH:i:s\Z' ),
				'data'      => array( 'site_url' => get_site_url() ),
			)
		);

	if ( is_wp_error( $answer ) ) {
		return $answer;
	}
	if ( 200 !== $answer['code'] || ! isset( $answer['json']['state'] ) ) {
		return new \WP_Error( 'fib_backfill_refused', bridge_refusal_message( $answer ), array( 'status' => 502 ) );
	}

	$run = array( 'id' => $run_id );
	foreach ( array( 'total', 'done', 'failed', 'remaining' ) as $key ) {
		$run[ $key ] = isset( $answer['json'][ $key ] ) ? absint( $answer['json'][ $key ] ) : 0;
	}
	$run['state'] = sanitize_key( (string) $answer['json']['state'] );

	return $run;
}

/**
 * Post types from a request, kept only when they are allowed.
 *
 * @param mixed $raw Unslashed request value.
 * @return string[]
 */
function requested_post_types( $raw ) {
	$names = is_array( $raw ) ? array_map( 'sanitize_key', $raw ) : array();

	return array_values( array_intersect( $names, array_keys( allowed_post_types() ) ) );
}

/**
 * Handles admin-post.php?action=fib_backfill_start: starts a run on the bridge.
 *
 * @return void
 */
function handle_backfill_start() {
	if ( ! can_backfill() ) {
		wp_die( esc_html__( 'Sorry, you are not allowed to fill missing featured images.', 'featured-image-bridge' ), 403 );
	}

	check_admin_referer( 'fib_backfill_start', 'fib_start_nonce' );

	$post_types = requested_post_types( isset( $_POST['post_types'] ) ? wp_unslash( $_POST['post_types'] ) : array() ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- sanitized in requested_post_types().
	$limit      = isset( $_POST['limit'] ) ? absint( wp_unslash( $_POST['limit'] ) ) : 0;

	$result = array() === $post_types
		? new \WP_Error( 'fib_no_post_types', __( 'Choose at least one post type.', 'featured-image-bridge' ) )
		: run_under_way();
	if ( true === $result ) {
		$result = start_backfill( $post_types, $limit );
	}

	if ( is_wp_error( $result ) ) {
		set_transient( 'fib_backfill_error_' . get_current_user_id(), $result->get_error_message(), MINUTE_IN_SECONDS );
	}

	wp_safe_redirect( backfill_page_url( is_wp_error( $result ) ? array( 'fib-notice' => 'start-error' ) : array( 'fib-notice' => 'started' ) ) );
	exit;
}

/**
 * Refuses a second run while the current one is running or paused: the screen follows one
 * run, and two runs would pay twice for the same posts.
 *
 * @return true|\WP_Error True when no run is under way.
 */
function run_under_way() {
	$run_id = current_run_id();
	$run    = '' === $run_id ? null : backfill_run( $run_id );
	if ( is_array( $run ) && in_array( $run['state'], array( 'running', 'paused' ), true ) ) {
		return new \WP_Error( 'fib_run_under_way', __( 'A run is under way. Let it finish, or cancel it, before starting another.', 'featured-image-bridge' ) );
	}

	return true;
}

/**
 * The run id of an AJAX request, after the capability and nonce checks; ends the request on failure.
 *
 * @return string
 */
function checked_ajax_run_id() {
	if ( ! can_backfill() ) {
		wp_send_json_error( array( 'message' => __( 'Sorry, you are not allowed to fill missing featured images.', 'featured-image-bridge' ) ), 403 );
	}

	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- the nonce names the run, so it is checked right below.
	$run_id = isset( $_REQUEST['run'] ) ? sanitize_run_id( sanitize_text_field( wp_unslash( $_REQUEST['run'] ) ) ) : '';
	if ( '' === $run_id || false === check_ajax_referer( 'fib_backfill_run_' . $run_id, 'nonce', false ) ) {
		wp_send_json_error( array( 'message' => __( 'The page has expired. Reload it.', 'featured-image-bridge' ) ), 403 );
	}

	return $run_id;
}

/**
 * AJAX fib_backfill_status: the run's progress, read from the bridge.
 *
 * @return void
 */
function ajax_backfill_status() {
	$run = backfill_run( checked_ajax_run_id() );
	if ( is_wp_error( $run ) ) {
		wp_send_json_error( array( 'message' => $run->get_error_message() ), 502 );
	}
	wp_send_json_success( $run );
}

/**
 * AJAX fib_backfill_control: pause, resume or cancel the run.
 *
 * @return void
 */
function ajax_backfill_control() {
	$run_id  = checked_ajax_run_id();
	$command = isset( $_POST['command'] ) ? sanitize_key( wp_unslash( $_POST['command'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Missing -- checked in checked_ajax_run_id().
	if ( ! in_array( $command, array( 'pause', 'resume', 'cancel' ), true ) ) {
		wp_send_json_error( array( 'message' => __( 'Unknown command.', 'featured-image-bridge' ) ), 400 );
	}

	$run = backfill_run( $run_id, $command );
	if ( is_wp_error( $run ) ) {
		wp_send_json_error( array( 'message' => $run->get_error_message() ), 502 );
	}
	wp_send_json_success( $run );
}
