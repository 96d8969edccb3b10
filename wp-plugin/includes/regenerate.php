<?php
/**
 * Regenerating a post's featured image on an editor's request: the shared
 * checks and request, the admin-post action behind the classic meta box
 * button and the posts list row action, and the notices that report back.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Name of the admin-post action; the nonce action is this plus "_<post id>".
 */
const FIB_REGENERATE_ACTION = 'fib_regenerate';

/**
 * Whether a post's featured image is the one the bridge generated (and not one a person chose).
 *
 * @param int $post_id Post ID.
 * @return bool
 */
function has_generated_image( $post_id ) {
	$thumbnail_id = (int) get_post_thumbnail_id( $post_id );

	return $thumbnail_id > 0 && (int) get_post_meta( $post_id, '_fib_attachment_id', true ) === $thumbnail_id;
}

/**
 * Whether a post has a featured image that a person chose: regenerating it asks for confirmation.
 *
 * @param int $post_id Post ID.
 * @return bool
 */
function has_chosen_image( $post_id ) {
	return (int) get_post_thumbnail_id( $post_id ) > 0 && ! has_generated_image( $post_id );
}

/**
 * Why a post may be refused a new featured image, by error code.
 *
 * @return array<string, string>
 */
function regenerate_refusals() {
	return array(
		'fib_not_configured' => __( 'The bridge is switched off or has no URL. Check Settings → Featured Image Bridge.', 'featured-image-bridge' ),
		'fib_post_type'      => __( 'Featured images are not generated for this post type.', 'featured-image-bridge' ),
		'fib_post_status'    => __( 'Save the post first: it has no content to draw from yet, or it is in the trash.', 'featured-image-bridge' ),
		'fib_skipped'        => __( 'This post is excluded from generated featured images.', 'featured-image-bridge' ),
	);
}

/**
 * Why a post cannot get a new featured image right now, if it cannot. The
 * caller checks the user's capability.
 *
 * @param \WP_Post $post Post object.
 * @return true|\WP_Error WP_Error with status 409 and one of the codes of regenerate_refusals().
 */
function can_regenerate( \WP_Post $post ) {
	$settings = get_plugin_settings();
	$code     = '';
	if ( ! $settings['enabled'] || '' === $settings['bridge_url'] || '' === $settings['secret'] ) {
		$code = 'fib_not_configured';
	} elseif ( ! in_array( $post->post_type, post_types(), true ) ) {
		$code = 'fib_post_type';
	} elseif ( in_array( $post->post_status, array( 'trash', 'auto-draft' ), true ) ) {
		$code = 'fib_post_status';
	} elseif ( get_post_meta( $post->ID, '_fib_skip', true ) ) {
		$code = 'fib_skipped';
	}

	if ( '' === $code ) {
		return true;
	}

	return new \WP_Error( $code, regenerate_refusals()[ $code ], array( 'status' => 409 ) );
}

/**
 * Asks the bridge for a new featured image for a post (a post.regenerate
 * webhook) and records the outcome in the post's status meta.
 *
 * @param \WP_Post $post Post object; the caller has checked edit_post.
 * @return true|\WP_Error True when the bridge queued the job.
 */
function regenerate_post( \WP_Post $post ) {
	$allowed = can_regenerate( $post );
	if ( is_wp_error( $allowed ) ) {
		return $allowed;
	}

	return send_webhook( $post, 'post.regenerate' );
}

/**
 * URL of the admin-post action that regenerates a post's featured image, with
 * a nonce naming the post.
 *
 * @param int $post_id Post ID.
 * @return string Unescaped URL.
 */
function regenerate_url( $post_id ) {
	$url = add_query_arg(
		array(
			'action' => FIB_REGENERATE_ACTION,
			'post'   => (int) $post_id,
		),
		admin_url( 'admin-post.php' )
	);

	return wp_nonce_url( $url, FIB_REGENERATE_ACTION . '_' . (int) $post_id );
}

/**
 * The question asked before replacing a featured image a person chose, '' when none is needed.
 *
 * @param int $post_id Post ID.
 * @return string
 */
function regenerate_confirmation( $post_id ) {
	return has_chosen_image( $post_id ) ? chosen_image_question() : '';
}

/**
 * The question asked before a regenerate replaces a featured image that a person chose.
 *
 * @return string
 */
function chosen_image_question() {
	return __( 'This post has a featured image that a person chose. Replace it with a generated one?', 'featured-image-bridge' );
}

/**
 * Handles admin-post.php?action=fib_regenerate&post=ID (meta box button, row action).
 *
 * @return void
 */
function handle_regenerate_action() {
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- checked below, once the post id is known.
	$post_id = isset( $_GET['post'] ) ? absint( wp_unslash( $_GET['post'] ) ) : 0;
	$post    = $post_id > 0 ? get_post( $post_id ) : null;

	if ( ! $post instanceof \WP_Post || ! current_user_can( 'edit_post', $post_id ) ) {
		wp_die( esc_html__( 'Sorry, you are not allowed to regenerate the featured image of this post.', 'featured-image-bridge' ), 403 );
	}

	check_admin_referer( FIB_REGENERATE_ACTION . '_' . $post_id );

	$result = regenerate_post( $post );
	$args   = array(
		'fib-regenerated' => is_wp_error( $result ) ? 'failed' : 'queued',
		'fib-post'        => $post_id,
	);
	if ( is_wp_error( $result ) ) {
		$args['fib-error'] = $result->get_error_code();
	}

	$back = wp_get_referer();
	if ( ! $back ) {
		$back = admin_url( 'edit.php?post_type=' . $post->post_type );
	}

	wp_safe_redirect( add_query_arg( $args, remove_query_arg( notice_query_args(), $back ) ) );
	exit;
}

/**
 * Query arguments that carry a notice across the redirect; WordPress removes
 * them from the address bar afterwards.
 *
 * @return string[]
 */
function notice_query_args() {
	return array( 'fib-regenerated', 'fib-post', 'fib-error', 'fib-queued', 'fib-skipped', 'fib-denied', 'fib-failed' );
}

/**
 * Adds our notice arguments to the ones WordPress strips from the admin URL.
 *
 * @param string[] $args Removable query arguments.
 * @return string[]
 */
function add_removable_query_args( $args ) {
	return array_merge( $args, notice_query_args() );
}

/**
 * Shows the outcome of a regenerate action or a bulk action.
 *
 * Reads only which fixed message to show and the post it is about; the post's
 * title and message are read from the database and escaped.
 *
 * @return void
 */
function show_regenerate_notices() {
	// phpcs:disable WordPress.Security.NonceVerification.Recommended -- display only.
	if ( isset( $_GET['fib-regenerated'], $_GET['fib-post'] ) ) {
		$outcome = sanitize_key( wp_unslash( $_GET['fib-regenerated'] ) );
		$post_id = absint( wp_unslash( $_GET['fib-post'] ) );
		$error   = isset( $_GET['fib-error'] ) ? sanitize_key( wp_unslash( $_GET['fib-error'] ) ) : '';
		if ( current_user_can( 'edit_post', $post_id ) ) {
			show_single_notice( $outcome, $post_id, $error );
		}
	}

	if ( isset( $_GET['fib-queued'] ) ) {
		$counts = array();
		foreach ( array( 'fib-queued', 'fib-skipped', 'fib-denied', 'fib-failed' ) as $key ) {
			$counts[ $key ] = isset( $_GET[ $key ] ) ? absint( wp_unslash( $_GET[ $key ] ) ) : 0;
		}
		show_bulk_notice( $counts );
	}
	// phpcs:enable WordPress.Security.NonceVerification.Recommended
}

/**
 * Prints the notice for one regenerated post.
 *
 * @param string $outcome 'queued' or 'failed'.
 * @param int    $post_id Post ID.
 * @param string $error   Error code when failed.
 * @return void
 */
function show_single_notice( $outcome, $post_id, $error ) {
	$title = get_the_title( $post_id );

	if ( 'queued' === $outcome ) {
		$class   = 'notice-success';
		$message = sprintf(
			/* translators: %s: post title. */
			__( 'A new featured image for “%s” is on its way. Its status shows in the Featured image (AI) column and box.', 'featured-image-bridge' ),
			$title
		);
	} else {
		$class  = 'notice-error';
		$reason = (string) get_post_meta( $post_id, '_fib_message', true );
		$errors = regenerate_refusals();
		if ( isset( $errors[ $error ] ) ) {
			$reason = $errors[ $error ];
		}
		$message = sprintf(
			/* translators: 1: post title, 2: reason. */
			__( 'No new featured image for “%1$s”: %2$s', 'featured-image-bridge' ),
			$title,
			$reason
		);
	}

	printf(
		'<div class="notice %1$s is-dismissible" id="fib-notice"><p>%2$s</p></div>',
		esc_attr( $class ),
		esc_html( $message )
	);
}

/**
 * Prints the notice with the counts of a bulk action.
 *
 * @param array<string, int> $counts Counts by query argument name.
 * @return void
 */
function show_bulk_notice( $counts ) {
	$parts = array(
		sprintf(
			/* translators: %d: number of posts. */
			_n( '%d post is getting a new featured image.', '%d posts are getting a new featured image.', $counts['fib-queued'], 'featured-image-bridge' ),
			$counts['fib-queued']
		),
	);
	if ( $counts['fib-skipped'] > 0 ) {
		$parts[] = sprintf(
			/* translators: %d: number of posts. */
			_n( '%d skipped: it has a featured image a person chose, or is excluded.', '%d skipped: they have a featured image a person chose, or are excluded.', $counts['fib-skipped'], 'featured-image-bridge' ),
			$counts['fib-skipped']
		);
	}
	if ( $counts['fib-denied'] > 0 ) {
		$parts[] = sprintf(
			/* translators: %d: number of posts. */
			_n( '%d not allowed: you cannot edit it.', '%d not allowed: you cannot edit them.', $counts['fib-denied'], 'featured-image-bridge' ),
			$counts['fib-denied']
		);
	}
	if ( $counts['fib-failed'] > 0 ) {
		$parts[] = sprintf(
			/* translators: %d: number of posts. */
			_n( '%d failed: see its status in the Featured image (AI) column.', '%d failed: see their status in the Featured image (AI) column.', $counts['fib-failed'], 'featured-image-bridge' ),
			$counts['fib-failed']
		);
	}

	$class = $counts['fib-failed'] > 0 || $counts['fib-denied'] > 0 ? 'notice-warning' : 'notice-success';
	printf(
		'<div class="notice %1$s is-dismissible" id="fib-bulk-notice"><p>%2$s</p></div>',
		esc_attr( $class ),
		esc_html( implode( ' ', $parts ) )
	);
}
