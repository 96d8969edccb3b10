<?php
/**
 * Generation status: the post meta the bridge writes back over REST, and the
 * "Featured image (AI)" meta box that shows it in the editor.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Registers the status meta keys for all post types, exposed in the REST API:
 * the generation status, the attachment the bridge generated (to tell it from
 * an image a person chose) and the per-post opt-out. Also gives the alt text
 * of attachments an auth_callback, without which XML-RPC may not write that
 * protected key (the bridge sets it on the images it uploads over XML-RPC).
 *
 * A REST update writes meta in registration order, after the featured image.
 * _fib_status comes last, so whoever reads "done" also reads the featured
 * image and _fib_attachment_id of that same update (and record_provider_alert()
 * reads the _fib_message and _fib_error_kind of the same update as the status).
 *
 * @return void
 */
function register_status_meta() {
	$keys = array(
		'_fib_attachment_id' => array( 'integer', 0, 'absint' ),
		'_fib_skip'          => array( 'boolean', false, 'rest_sanitize_boolean' ),
		'_fib_message'       => array( 'string', '', __NAMESPACE__ . '\sanitize_message' ),
		'_fib_error_kind'    => array( 'string', '', __NAMESPACE__ . '\sanitize_error_kind' ),
		'_fib_job_id'        => array( 'string', '', __NAMESPACE__ . '\sanitize_job_id' ),
		'_fib_updated'       => array( 'string', '', 'sanitize_text_field' ),
		'_fib_status'        => array( 'string', '', __NAMESPACE__ . '\sanitize_status' ),
	);

	foreach ( $keys as $key => list( $type, $default, $sanitize_callback ) ) {
		register_meta(
			'post',
			$key,
			array(
				'type'              => $type,
				'single'            => true,
				'default'           => $default,
				'show_in_rest'      => true,
				'sanitize_callback' => $sanitize_callback,
				'auth_callback'     => __NAMESPACE__ . '\can_edit_status_meta',
			)
		);
	}

	register_post_meta(
		'attachment',
		'_wp_attachment_image_alt',
		array(
			'type'              => 'string',
			'single'            => true,
			'show_in_rest'      => false,
			'sanitize_callback' => 'sanitize_text_field',
			'auth_callback'     => __NAMESPACE__ . '\can_edit_status_meta',
		)
	);
}

/**
 * Auth callback of the status meta: whoever may edit the post may write its status.
 *
 * @param bool   $allowed   Whether the user can edit the meta (ignored).
 * @param string $meta_key  Meta key.
 * @param int    $object_id Post ID.
 * @return bool
 */
function can_edit_status_meta( $allowed, $meta_key, $object_id ) {
	return current_user_can( 'edit_post', $object_id );
}

/**
 * Generation statuses and their human labels.
 *
 * @return array<string, string>
 */
function status_labels() {
	return array(
		''           => __( 'Not generated yet', 'featured-image-bridge' ),
		'queued'     => __( 'Queued', 'featured-image-bridge' ),
		'waiting'    => __( 'Waiting', 'featured-image-bridge' ),
		'generating' => __( 'Generating…', 'featured-image-bridge' ),
		'uploading'  => __( 'Uploading…', 'featured-image-bridge' ),
		'done'       => __( 'Done', 'featured-image-bridge' ),
		'failed'     => __( 'Failed', 'featured-image-bridge' ),
	);
}

/**
 * Sanitizes _fib_status: a known status, or '' for anything else.
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function sanitize_status( $value ) {
	$value = is_string( $value ) ? $value : '';

	return array_key_exists( $value, status_labels() ) ? $value : '';
}

/**
 * Sanitizes _fib_message: plain text with line breaks, at most 1000 characters.
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function sanitize_message( $value ) {
	return mb_substr( sanitize_textarea_field( is_scalar( $value ) ? (string) $value : '' ), 0, 1000 );
}

/**
 * Sanitizes _fib_error_kind: one lowercase word (a provider error kind such as
 * "auth", "wordpress", or a waiting reason such as "credits"), at most 40 characters.
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function sanitize_error_kind( $value ) {
	return substr( sanitize_key( is_scalar( $value ) ? (string) $value : '' ), 0, 40 );
}

/**
 * Sanitizes _fib_job_id: one line of plain text, at most 100 characters.
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function sanitize_job_id( $value ) {
	return mb_substr( sanitize_text_field( is_scalar( $value ) ? (string) $value : '' ), 0, 100 );
}

/**
 * Adds the "Featured image (AI)" meta box to the classic editor of the
 * configured post types. The block editor has its own panel (editor-panel.js).
 *
 * @param string $post_type Post type of the edited post.
 * @return void
 */
function add_status_meta_box( $post_type ) {
	if ( ! in_array( $post_type, post_types(), true ) ) {
		return;
	}

	// The box is "fib-status-box" so that id="fib-status" stays unique for the status element inside it.
	// Priority "low" puts it right after the core Featured image box.
	add_meta_box(
		'fib-status-box',
		__( 'Featured image (AI)', 'featured-image-bridge' ),
		__NAMESPACE__ . '\render_status_meta_box',
		$post_type,
		'side',
		'low',
		array( '__back_compat_meta_box' => true )
	);
}

/**
 * Renders the status meta box.
 *
 * @param \WP_Post $post Edited post.
 * @return void
 */
function render_status_meta_box( $post ) {
	$status  = sanitize_status( get_post_meta( $post->ID, '_fib_status', true ) );
	$message = (string) get_post_meta( $post->ID, '_fib_message', true );
	$updated = (string) get_post_meta( $post->ID, '_fib_updated', true );
	$labels  = status_labels();
	?>
	<p id="fib-status" data-status="<?php echo esc_attr( $status ); ?>" data-post-id="<?php echo esc_attr( (string) $post->ID ); ?>" aria-live="polite">
		<strong><?php echo esc_html( $labels[ $status ] ); ?></strong>
	</p>
	<p id="fib-message"><?php echo esc_html( $message ); ?></p>
	<?php if ( '' !== $updated ) : ?>
		<p id="fib-updated" class="description">
			<?php
			echo esc_html(
				sprintf(
					/* translators: %s: date and time of the last status change. */
					__( 'Last update: %s', 'featured-image-bridge' ),
					format_status_time( $updated )
				)
			);
			?>
		</p>
	<?php endif; ?>
	<?php
	render_regenerate_button( $post );
	$loaded = (int) get_post_thumbnail_id( $post );
	printf( '<input type="hidden" name="fib_loaded_thumbnail" value="%s" />', esc_attr( (string) ( $loaded > 0 ? $loaded : -1 ) ) );
}

/**
 * Keeps a featured image the bridge set while the classic editor was open.
 *
 * The classic form posts the featured image it loaded (_thumbnail_id, -1 for
 * none), and saving it would put that back. When the person left it unchanged
 * (it still equals fib_loaded_thumbnail from our box) and the bridge has set a
 * generated image since, the stale value is dropped before post.php saves.
 * Runs on admin_action_editpost; post.php checks the same nonce afterwards.
 *
 * @return void
 */
function keep_generated_image_on_classic_save() {
	// phpcs:disable WordPress.Security.NonceVerification.Missing -- verified below, once the post id is known.
	if ( ! isset( $_POST['post_ID'], $_POST['_thumbnail_id'], $_POST['fib_loaded_thumbnail'], $_POST['_wpnonce'] ) ) {
		return;
	}

	$post_id = absint( wp_unslash( $_POST['post_ID'] ) );
	$nonce   = sanitize_text_field( wp_unslash( $_POST['_wpnonce'] ) );
	if ( ! current_user_can( 'edit_post', $post_id ) || ! wp_verify_nonce( $nonce, 'update-post_' . $post_id ) ) {
		return;
	}

	$submitted = (int) sanitize_text_field( wp_unslash( $_POST['_thumbnail_id'] ) );
	$loaded    = (int) sanitize_text_field( wp_unslash( $_POST['fib_loaded_thumbnail'] ) );
	// phpcs:enable WordPress.Security.NonceVerification.Missing
	$current = (int) get_post_thumbnail_id( $post_id );

	if ( $submitted === $loaded && $current !== $loaded && has_generated_image( $post_id ) ) {
		unset( $_POST['_thumbnail_id'] );
	}
}

/**
 * Renders the meta box's "Regenerate" link button (the box sits inside the
 * post form, so it is a link to the admin-post action, with a nonce naming the post).
 *
 * @param \WP_Post $post Edited post.
 * @return void
 */
function render_regenerate_button( $post ) {
	if ( ! current_user_can( 'edit_post', $post->ID ) ) {
		return;
	}

	$allowed = can_regenerate( $post );
	if ( is_wp_error( $allowed ) ) {
		printf( '<p class="description" id="fib-regenerate-unavailable">%s</p>', esc_html( $allowed->get_error_message() ) );
		return;
	}

	$confirm = regenerate_confirmation( $post->ID );
	printf(
		'<p><a href="%1$s" class="button" id="fib-regenerate"%2$s>%3$s</a></p>',
		esc_url( regenerate_url( $post->ID ) ),
		'' === $confirm ? '' : ' data-fib-confirm="' . esc_attr( $confirm ) . '"',
		esc_html__( 'Regenerate', 'featured-image-bridge' )
	);
}

/**
 * Formats a stored "Y-m-d\TH:i:s\Z" time in the site's timezone and formats.
 *
 * @param string $updated Stored UTC time.
 * @return string Formatted time, or the stored value when it cannot be parsed.
 */
function format_status_time( $updated ) {
	$timestamp = strtotime( $updated );
	if ( false === $timestamp ) {
		return $updated;
	}

	$formatted = wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $timestamp );

	return false === $formatted ? $updated : $formatted;
}
