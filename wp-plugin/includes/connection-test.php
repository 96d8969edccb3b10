<?php
/**
 * "Test connection" on the settings page: a signed POST /connection-test to
 * the bridge, and a report of exactly what is wrong.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Runs the connection test against the saved settings.
 *
 * @return array{ok: bool, summary: string, checks: array<int, array{name: string, ok: bool, message: string}>}
 */
function test_connection() {
	$answer = bridge_request(
		'POST',
		'/connection-test',
		array(
			'type'      => 'connection.test',
			'timestamp' => gmdate( 'Y-m-d\TH:i:s\Z' ),
			'data'      => array( 'site_url' => get_site_url() ),
		),
		5
	);

	if ( is_wp_error( $answer ) ) {
		return array(
			'ok'      => false,
			'summary' => $answer->get_error_message(),
			'checks'  => array(),
		);
	}

	if ( 200 !== $answer['code'] || ! isset( $answer['json']['checks'] ) || ! is_array( $answer['json']['checks'] ) ) {
		return array(
			'ok'      => false,
			'summary' => 200 === $answer['code']
				? __( 'The bridge answered, but not with a connection test result. Check the bridge URL.', 'featured-image-bridge' )
				: bridge_refusal_message( $answer ),
			'checks'  => array(),
		);
	}

	$checks = array();
	foreach ( $answer['json']['checks'] as $check ) {
		if ( is_array( $check ) ) {
			$checks[] = array(
				'name'    => isset( $check['name'] ) && is_scalar( $check['name'] ) ? (string) $check['name'] : '',
				'ok'      => ! empty( $check['ok'] ),
				'message' => isset( $check['message'] ) && is_scalar( $check['message'] ) ? (string) $check['message'] : '',
			);
		}
	}

	$ok = ! empty( $answer['json']['ok'] ) && ! in_array( false, array_column( $checks, 'ok' ), true );

	return array(
		'ok'      => $ok,
		'summary' => $ok
			? __( 'The bridge is reachable, the secret matches, and all of its checks passed.', 'featured-image-bridge' )
			: __( 'The bridge is reachable and the secret matches, but some of its checks failed:', 'featured-image-bridge' ),
		'checks'  => $checks,
	);
}

/**
 * Handles admin-post.php?action=fib_test_connection: runs the test, keeps the
 * result for the current user for a minute, and goes back to the settings page.
 *
 * @return void
 */
function handle_test_connection() {
	if ( ! current_user_can( 'manage_options' ) ) {
		wp_die( esc_html__( 'Sorry, you are not allowed to manage these settings.', 'featured-image-bridge' ), 403 );
	}

	check_admin_referer( 'fib_test_connection' );

	// The request carries no input besides the nonce: the test uses the saved settings.
	$result = test_connection();
	clear_provider_alert_after_test( $result );
	set_transient( connection_result_key(), $result, MINUTE_IN_SECONDS );

	wp_safe_redirect( add_query_arg( 'fib-notice', 'connection-tested', settings_page_url() ) );
	exit;
}

/**
 * Transient key of the current user's last connection test result.
 *
 * @return string
 */
function connection_result_key() {
	return 'fib_connection_test_' . get_current_user_id();
}

/**
 * Takes (reads and forgets) the current user's last connection test result.
 *
 * @return array{ok: bool, summary: string, checks: array<int, array{name: string, ok: bool, message: string}>}|null
 */
function take_connection_result() {
	$result = get_transient( connection_result_key() );
	delete_transient( connection_result_key() );

	return is_array( $result ) && isset( $result['ok'], $result['summary'], $result['checks'] ) ? $result : null;
}

/**
 * Renders a connection test result as an admin notice.
 *
 * @param array{ok: bool, summary: string, checks: array<int, array{name: string, ok: bool, message: string}>}|null $result Result, or null when it expired.
 * @return void
 */
function render_connection_result( $result ) {
	if ( null === $result ) {
		?>
		<div class="notice notice-warning" id="fib-connection-result">
			<p><?php esc_html_e( 'The connection test result has expired. Run the test again.', 'featured-image-bridge' ); ?></p>
		</div>
		<?php
		return;
	}
	?>
	<div class="notice <?php echo esc_attr( $result['ok'] ? 'notice-success' : 'notice-error' ); ?>" id="fib-connection-result" data-ok="<?php echo esc_attr( $result['ok'] ? '1' : '0' ); ?>">
		<p><strong><?php echo esc_html( $result['summary'] ); ?></strong></p>
		<?php if ( array() !== $result['checks'] ) : ?>
			<ul>
				<?php foreach ( $result['checks'] as $check ) : ?>
					<li data-check="<?php echo esc_attr( $check['name'] ); ?>" data-ok="<?php echo esc_attr( $check['ok'] ? '1' : '0' ); ?>">
						<span class="dashicons <?php echo esc_attr( $check['ok'] ? 'dashicons-yes-alt' : 'dashicons-dismiss' ); ?>" style="color: <?php echo esc_attr( $check['ok'] ? '#008a20' : '#d63638' ); ?>" aria-hidden="true"></span>
						<span class="screen-reader-text"><?php echo esc_html( $check['ok'] ? __( 'Passed:', 'featured-image-bridge' ) : __( 'Failed:', 'featured-image-bridge' ) ); ?></span>
						<?php echo esc_html( $check['message'] ); ?>
					</li>
				<?php endforeach; ?>
			</ul>
		<?php endif; ?>
	</div>
	<?php
}
