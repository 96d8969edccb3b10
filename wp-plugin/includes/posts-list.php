<?php
/**
 * The posts list (edit.php): a "Featured image (AI)" column with the thumbnail
 * and the generation status, the "Regenerate featured image" row action and
 * the "Generate featured images" bulk action.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Name of the column and of the bulk action.
 */
const FIB_COLUMN    = 'fib_image';
const FIB_BULK_NAME = 'fib_generate';

/**
 * On the posts list of a post type we generate images for, registers the
 * bulk action hooks, which WordPress names after the screen.
 *
 * @return void
 */
function setup_posts_list() {
	$screen = get_current_screen();
	if ( ! $screen || ! in_array( $screen->post_type, post_types(), true ) ) {
		return;
	}

	add_filter( 'bulk_actions-' . $screen->id, __NAMESPACE__ . '\add_bulk_action' );
	add_filter( 'handle_bulk_actions-' . $screen->id, __NAMESPACE__ . '\handle_bulk_action', 10, 3 );
}

/**
 * Adds the column after the title.
 *
 * @param array<string, string> $columns   Columns.
 * @param string                $post_type Post type (pages pass none).
 * @return array<string, string>
 */
function add_image_column( $columns, $post_type = 'page' ) {
	if ( ! in_array( $post_type, post_types(), true ) ) {
		return $columns;
	}

	$result = array();
	foreach ( $columns as $name => $label ) {
		$result[ $name ] = $label;
		if ( 'title' === $name ) {
			$result[ FIB_COLUMN ] = __( 'Featured image (AI)', 'featured-image-bridge' );
		}
	}
	if ( ! isset( $result[ FIB_COLUMN ] ) ) {
		$result[ FIB_COLUMN ] = __( 'Featured image (AI)', 'featured-image-bridge' );
	}

	return $result;
}

/**
 * Renders the column: the thumbnail, who made it, and the generation status.
 *
 * @param string $column  Column name.
 * @param int    $post_id Post ID.
 * @return void
 */
function render_image_column( $column, $post_id ) {
	if ( FIB_COLUMN !== $column ) {
		return;
	}

	$status  = sanitize_status( get_post_meta( $post_id, '_fib_status', true ) );
	$message = (string) get_post_meta( $post_id, '_fib_message', true );
	$labels  = status_labels();

	echo '<div class="fib-column" data-status="' . esc_attr( $status ) . '">';
	if ( has_post_thumbnail( $post_id ) ) {
		echo get_the_post_thumbnail( $post_id, 'medium', array( 'class' => 'fib-column-thumb' ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- core builds and escapes the img tag.
		$origin = has_generated_image( $post_id )
			? __( 'Generated', 'featured-image-bridge' )
			: __( 'Chosen by a person', 'featured-image-bridge' );
		echo '<span class="fib-column-origin">' . esc_html( $origin ) . '</span>';
	}
	echo '<span class="fib-column-status">' . esc_html( $labels[ $status ] ) . '</span>';
	if ( '' !== $message ) {
		echo '<span class="fib-column-message">' . esc_html( $message ) . '</span>';
	}
	echo '</div>';
}

/**
 * Adds "Regenerate featured image" to a post's row actions.
 *
 * @param array<string, string> $actions Row actions.
 * @param \WP_Post              $post    Post of the row.
 * @return array<string, string>
 */
function add_row_action( $actions, $post ) {
	if ( ! in_array( $post->post_type, post_types(), true )
		|| ! current_user_can( 'edit_post', $post->ID )
		|| true !== can_regenerate( $post ) ) {
		return $actions;
	}

	$confirm = regenerate_confirmation( $post->ID );
	$actions['fib_regenerate'] = sprintf(
		'<a href="%1$s" class="fib-regenerate-link"%2$s aria-label="%3$s">%4$s</a>',
		esc_url( regenerate_url( $post->ID ) ),
		'' === $confirm ? '' : ' data-fib-confirm="' . esc_attr( $confirm ) . '"',
		/* translators: %s: post title. */
		esc_attr( sprintf( __( 'Regenerate the featured image of “%s”', 'featured-image-bridge' ), get_the_title( $post ) ) ),
		esc_html__( 'Regenerate featured image', 'featured-image-bridge' )
	);

	return $actions;
}

/**
 * Adds "Generate featured images" to the bulk actions.
 *
 * @param array<string, string> $actions Bulk actions.
 * @return array<string, string>
 */
function add_bulk_action( $actions ) {
	$actions[ FIB_BULK_NAME ] = __( 'Generate featured images', 'featured-image-bridge' );

	return $actions;
}

/**
 * Handles the bulk action. WordPress has checked the bulk-posts nonce; each
 * post is checked for edit_post. Posts whose featured image a person chose,
 * and opted-out posts, are skipped: a bulk action never asks for confirmation.
 *
 * @param string $redirect Where WordPress redirects afterwards.
 * @param string $action   Bulk action name.
 * @param int[]  $post_ids Selected post IDs.
 * @return string
 */
function handle_bulk_action( $redirect, $action, $post_ids ) {
	if ( FIB_BULK_NAME !== $action ) {
		return $redirect;
	}

	$counts = array(
		'fib-queued'  => 0,
		'fib-skipped' => 0,
		'fib-denied'  => 0,
		'fib-failed'  => 0,
	);

	foreach ( array_map( 'absint', (array) $post_ids ) as $post_id ) {
		$post = get_post( $post_id );
		if ( ! $post instanceof \WP_Post || ! current_user_can( 'edit_post', $post_id ) ) {
			++$counts['fib-denied'];
			continue;
		}

		if ( has_chosen_image( $post_id ) || true !== can_regenerate( $post ) ) {
			++$counts['fib-skipped'];
			continue;
		}

		$result = regenerate_post( $post );
		++$counts[ is_wp_error( $result ) ? 'fib-failed' : 'fib-queued' ];
	}

	return add_query_arg( $counts, remove_query_arg( notice_query_args(), $redirect ) );
}

/**
 * Loads the small script that asks for confirmation before a chosen image is
 * replaced, and the column's styles, on the posts list and the classic editor;
 * in the classic editor also the script that keeps the status box current.
 *
 * @param string $hook_suffix Admin page.
 * @return void
 */
function enqueue_admin_assets( $hook_suffix ) {
	if ( ! in_array( $hook_suffix, array( 'edit.php', 'post.php', 'post-new.php' ), true ) ) {
		return;
	}

	$url = plugins_url( 'assets/', FIB_PLUGIN_FILE );
	wp_enqueue_script( 'fib-admin-actions', $url . 'admin-actions.js', array(), FIB_VERSION, true );
	wp_enqueue_style( 'fib-admin', $url . 'admin.css', array(), FIB_VERSION );

	if ( 'edit.php' !== $hook_suffix ) {
		wp_enqueue_script( 'fib-classic-box', $url . 'classic-box.js', array( 'wp-api-fetch', 'wp-i18n' ), FIB_VERSION, true );
		wp_set_script_translations( 'fib-classic-box', 'featured-image-bridge' );
	}
}
