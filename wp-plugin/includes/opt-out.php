<?php
/**
 * Per-post opt-out in the classic editor's Publish box: "Do not generate a
 * featured image for this post" (post meta _fib_skip, also writable over REST).
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Renders the opt-out checkbox in the Publish box.
 *
 * @param \WP_Post $post Edited post.
 * @return void
 */
function render_skip_checkbox( $post ) {
	if ( ! $post instanceof \WP_Post || ! in_array( $post->post_type, post_types(), true ) || ! current_user_can( 'edit_post', $post->ID ) ) {
		return;
	}
	?>
	<div class="misc-pub-section" id="fib-skip-section">
		<?php wp_nonce_field( 'fib_skip_' . $post->ID, 'fib_skip_nonce' ); ?>
		<input type="hidden" name="fib_skip_submitted" value="1" />
		<label><input type="checkbox" id="fib-skip" name="fib_skip" value="1" <?php checked( (bool) get_post_meta( $post->ID, '_fib_skip', true ) ); ?> /> <?php esc_html_e( 'Do not generate a featured image for this post', 'featured-image-bridge' ); ?></label>
	</div>
	<?php
}

/**
 * Saves the opt-out checkbox. Runs on save_post, before wp_after_insert_post
 * decides about the webhook; acts only on a classic editor form that showed it.
 *
 * @param int $post_id Post ID.
 * @return void
 */
function save_skip_checkbox( $post_id ) {
	if ( ! isset( $_POST['fib_skip_submitted'], $_POST['fib_skip_nonce'] ) || wp_is_post_revision( $post_id ) || wp_is_post_autosave( $post_id ) ) {
		return;
	}

	if ( ! current_user_can( 'edit_post', $post_id ) ) {
		return;
	}

	$nonce = sanitize_text_field( wp_unslash( $_POST['fib_skip_nonce'] ) );
	if ( ! wp_verify_nonce( $nonce, 'fib_skip_' . $post_id ) ) {
		return;
	}

	if ( isset( $_POST['fib_skip'] ) && '1' === sanitize_key( wp_unslash( $_POST['fib_skip'] ) ) ) {
		update_post_meta( $post_id, '_fib_skip', true );
	} else {
		delete_post_meta( $post_id, '_fib_skip' );
	}
}
