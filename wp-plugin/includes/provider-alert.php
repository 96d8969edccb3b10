<?php
/**
 * The provider alert: when the bridge reports that the image provider refused
 * its key or workflow (401, 403, 404: nothing to do with the post), the
 * plugin keeps one site-wide alert that the settings page shows with what to
 * fix, and an admin notice repeats on the plugin's other screens. A later
 * image from the bridge, or a Test connection whose provider check passes,
 * clears it.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Name of the option that holds the alert (absent when there is none).
 */
const FIB_ALERT_OPTION = 'fib_provider_alert';

/**
 * Most post ids the alert remembers (it counts the posts it has seen fail).
 */
const FIB_ALERT_MAX_POSTS = 500;

/**
 * The _fib_error_kind values that mean the key or the workflow needs the admin,
 * each with what to fix.
 *
 * @return array<string, string> Kind => what the admin should do.
 */
function provider_alert_fixes() {
	return array(
		'auth'      => __( 'The Segmind API key was refused (401): enter a valid key in the bridge\'s SEGMIND_API_KEY and restart the bridge.', 'featured-image-bridge' ),
		'forbidden' => __( 'Segmind refused access to the workflow (403): check that the account of the key in SEGMIND_API_KEY may run the workflow in SEGMIND_WORKFLOW_URL.', 'featured-image-bridge' ),
		'not_found' => __( 'Segmind does not know the workflow (404): check the bridge\'s SEGMIND_WORKFLOW_URL.', 'featured-image-bridge' ),
	);
}

/**
 * The current alert, or null when there is none.
 *
 * @return array{kind: string, message: string, time: int, posts: int[]}|null
 */
function get_provider_alert() {
	$alert = get_option( FIB_ALERT_OPTION );
	if ( ! is_array( $alert ) || ! isset( $alert['kind'], $alert['message'], $alert['time'], $alert['posts'] ) ) {
		return null;
	}
	if ( ! array_key_exists( (string) $alert['kind'], provider_alert_fixes() ) || ! is_array( $alert['posts'] ) ) {
		return null;
	}

	return array(
		'kind'    => (string) $alert['kind'],
		'message' => (string) $alert['message'],
		'time'    => (int) $alert['time'],
		'posts'   => array_map( 'intval', $alert['posts'] ),
	);
}

/**
 * Removes the alert.
 *
 * @return void
 */
function clear_provider_alert() {
	delete_option( FIB_ALERT_OPTION );
}

/**
 * Follows the status the bridge writes to a post: a failure of an alert kind
 * records (or extends) the alert; a "done" with a generated featured image
 * clears it.
 *
 * Runs on added_post_meta and updated_post_meta. The bridge writes
 * _fib_message and _fib_error_kind before _fib_updated and _fib_status (meta
 * registration order over REST, field order over XML-RPC), so both are read
 * here once the status or its time is written. WordPress skips a write whose
 * value did not change, hence both keys for a failure; a "done" counts only
 * when _fib_status itself is written (a job always reports another status
 * before it).
 *
 * @param int    $meta_id  Meta row id (unused).
 * @param int    $post_id  Post ID.
 * @param string $meta_key Meta key.
 * @return void
 */
function note_provider_outcome( $meta_id, $post_id, $meta_key ) {
	if ( '_fib_status' !== $meta_key && '_fib_updated' !== $meta_key ) {
		return;
	}

	$post_id = (int) $post_id;
	$status  = (string) get_post_meta( $post_id, '_fib_status', true );

	if ( 'done' === $status ) {
		// Only on the status itself: when _fib_updated is written, the status is still the old one.
		if ( '_fib_status' === $meta_key && has_generated_image( $post_id ) && null !== get_provider_alert() ) {
			clear_provider_alert();
		}
		return;
	}

	$kind = (string) get_post_meta( $post_id, '_fib_error_kind', true );
	if ( 'failed' !== $status || ! array_key_exists( $kind, provider_alert_fixes() ) ) {
		return;
	}

	$alert = get_provider_alert();
	$same  = null !== $alert && $alert['kind'] === $kind;
	$posts = $same ? $alert['posts'] : array();
	if ( ! in_array( $post_id, $posts, true ) && count( $posts ) < FIB_ALERT_MAX_POSTS ) {
		$posts[] = $post_id;
	}

	update_option(
		FIB_ALERT_OPTION,
		array(
			'kind'    => $kind,
			'message' => sanitize_message( get_post_meta( $post_id, '_fib_message', true ) ),
			'time'    => $same ? $alert['time'] : time(),
			'posts'   => $posts,
		),
		false
	);
}

/**
 * After a Test connection: a passing provider check means the key works again.
 *
 * @param array{ok: bool, summary: string, checks: array<int, array{name: string, ok: bool, message: string}>} $result Test result.
 * @return void
 */
function clear_provider_alert_after_test( $result ) {
	foreach ( $result['checks'] as $check ) {
		if ( 'provider' === $check['name'] && $check['ok'] ) {
			clear_provider_alert();
		}
	}
}

/**
 * Renders the alert (nothing when there is none): what is wrong, what to fix,
 * the bridge's own words, since when and for how many posts.
 *
 * @param bool $link_settings Whether to link to the settings page.
 * @return void
 */
function render_provider_alert( $link_settings = false ) {
	$alert = get_provider_alert();
	if ( null === $alert ) {
		return;
	}

	$count = count( $alert['posts'] );
	?>
	<div class="notice notice-error fib-provider-alert" id="fib-provider-alert" data-kind="<?php echo esc_attr( $alert['kind'] ); ?>">
		<p><strong><?php echo esc_html( provider_alert_fixes()[ $alert['kind'] ] ); ?></strong></p>
		<?php if ( '' !== $alert['message'] ) : ?>
			<p id="fib-provider-alert-message">
				<?php
				echo esc_html(
					sprintf(
						/* translators: %s: the bridge's explanation of the failure. */
						__( 'The bridge said: %s', 'featured-image-bridge' ),
						$alert['message']
					)
				);
				?>
			</p>
		<?php endif; ?>
		<p id="fib-provider-alert-posts">
			<?php
			echo esc_html(
				sprintf(
					/* translators: 1: number of posts, 2: date and time of the first failure. */
					_n(
						'%1$d post has no image because of this (first seen %2$s).',
						'%1$d posts have no image because of this (first seen %2$s).',
						$count,
						'featured-image-bridge'
					),
					$count,
					wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $alert['time'] )
				)
			);
			?>
		</p>
		<p><?php esc_html_e( 'Once it is fixed, press Test connection or regenerate one of those posts: this alert goes away when the provider works again.', 'featured-image-bridge' ); ?></p>
		<?php if ( $link_settings ) : ?>
			<p><a href="<?php echo esc_url( settings_page_url() ); ?>"><?php esc_html_e( 'Open the Featured Image Bridge settings', 'featured-image-bridge' ); ?></a></p>
		<?php endif; ?>
	</div>
	<?php
}

/**
 * Admin notice on the plugin's Tools screen, for users who can fix the
 * settings (the settings page shows the alert itself).
 *
 * @return void
 */
function show_provider_alert_notice() {
	$screen = get_current_screen();
	if ( null === $screen || 'tools_page_' . FIB_BACKFILL_SLUG !== $screen->id || ! current_user_can( 'manage_options' ) ) {
		return;
	}

	render_provider_alert( true );
}
