<?php
/**
 * Settings page (Settings → Featured Image Bridge) built on the Settings API,
 * and the "Regenerate secret" admin action.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Default value of the fib_settings option.
 *
 * @return array{enabled: bool, bridge_url: string, secret: string}
 */
function default_settings() {
	return array(
		'enabled'    => true,
		'bridge_url' => '',
		'secret'     => '',
	);
}

/**
 * The stored settings, completed with defaults and with the expected types.
 *
 * @return array{enabled: bool, bridge_url: string, secret: string}
 */
function get_plugin_settings() {
	$stored   = get_option( FIB_OPTION, array() );
	$settings = wp_parse_args( is_array( $stored ) ? $stored : array(), default_settings() );

	return array(
		'enabled'    => (bool) $settings['enabled'],
		'bridge_url' => is_string( $settings['bridge_url'] ) ? $settings['bridge_url'] : '',
		'secret'     => is_string( $settings['secret'] ) ? $settings['secret'] : '',
	);
}

/**
 * URL of the settings page.
 *
 * @return string
 */
function settings_page_url() {
	return admin_url( 'options-general.php?page=' . FIB_PAGE_SLUG );
}

/**
 * Registers the option, its section and its fields.
 *
 * @return void
 */
function register_settings() {
	register_setting(
		FIB_PAGE_SLUG,
		FIB_OPTION,
		array(
			'type'              => 'object',
			'description'       => __( 'Featured Image Bridge settings.', 'featured-image-bridge' ),
			'default'           => default_settings(),
			'sanitize_callback' => __NAMESPACE__ . '\sanitize_settings',
			'show_in_rest'      => false,
		)
	);

	add_settings_section( 'fib-main', '', '__return_false', FIB_PAGE_SLUG );

	$fields = array(
		'fib-enabled'    => array( __( 'Enabled', 'featured-image-bridge' ), 'render_enabled_field' ),
		'fib-bridge-url' => array( __( 'Bridge URL', 'featured-image-bridge' ), 'render_bridge_url_field' ),
		'fib-secret'     => array( __( 'Webhook secret', 'featured-image-bridge' ), 'render_secret_field' ),
	);
	foreach ( $fields as $id => list( $title, $callback ) ) {
		add_settings_field( $id, $title, __NAMESPACE__ . '\\' . $callback, FIB_PAGE_SLUG, 'fib-main', array( 'label_for' => $id ) );
	}
}

/**
 * Sanitizes the submitted settings. Only known keys are kept, and the secret
 * is always the stored one: the form can never change it (see save_secret()).
 *
 * @param mixed $input Submitted value.
 * @return array{enabled: bool, bridge_url: string, secret: string}
 */
function sanitize_settings( $input ) {
	$input = is_array( $input ) ? $input : array();

	$bridge_url = '';
	if ( isset( $input['bridge_url'] ) && is_string( $input['bridge_url'] ) ) {
		$bridge_url = untrailingslashit( esc_url_raw( trim( $input['bridge_url'] ), array( 'http', 'https' ) ) );
	}

	return array(
		'enabled'    => ! empty( $input['enabled'] ),
		'bridge_url' => $bridge_url,
		'secret'     => get_plugin_settings()['secret'],
	);
}

/**
 * Stores a new webhook secret, bypassing the settings sanitizer that keeps
 * the old one.
 *
 * @param string $secret New secret, "whsec_" followed by base64.
 * @return true|\WP_Error
 */
function save_secret( $secret ) {
	$hook     = 'sanitize_option_' . FIB_OPTION;
	$callback = __NAMESPACE__ . '\sanitize_settings';
	$priority = has_filter( $hook, $callback );

	if ( false !== $priority ) {
		remove_filter( $hook, $callback, $priority );
	}

	$settings           = get_plugin_settings();
	$settings['secret'] = $secret;
	update_option( FIB_OPTION, $settings );

	if ( false !== $priority ) {
		add_filter( $hook, $callback, $priority );
	}

	if ( get_plugin_settings()['secret'] !== $secret ) {
		return new \WP_Error( 'fib_secret_not_saved', __( 'The new webhook secret could not be saved.', 'featured-image-bridge' ) );
	}

	return true;
}

/**
 * Adds Settings → Featured Image Bridge.
 *
 * @return void
 */
function add_settings_page() {
	add_options_page(
		__( 'Featured Image Bridge', 'featured-image-bridge' ),
		__( 'Featured Image Bridge', 'featured-image-bridge' ),
		'manage_options',
		FIB_PAGE_SLUG,
		__NAMESPACE__ . '\render_settings_page'
	);
}

/**
 * Renders the settings page.
 *
 * @return void
 */
function render_settings_page() {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}

	// Only selects one of two fixed messages; nothing is changed, so no nonce.
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended
	$notice = isset( $_GET['fib-notice'] ) ? sanitize_key( wp_unslash( $_GET['fib-notice'] ) ) : '';
	?>
	<div class="wrap">
		<h1><?php echo esc_html( get_admin_page_title() ); ?></h1>
		<?php if ( 'secret-regenerated' === $notice ) : ?>
			<div class="notice notice-warning is-dismissible" id="fib-notice">
				<p><?php esc_html_e( 'A new webhook secret was generated. Update BRIDGE_WEBHOOK_SECRET in the bridge\'s configuration and restart it: until then the bridge rejects every webhook.', 'featured-image-bridge' ); ?></p>
			</div>
		<?php elseif ( 'secret-error' === $notice ) : ?>
			<div class="notice notice-error is-dismissible" id="fib-notice">
				<p><?php esc_html_e( 'The webhook secret could not be regenerated. The old secret is still in use.', 'featured-image-bridge' ); ?></p>
			</div>
		<?php endif; ?>
		<form action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>" method="post">
			<?php
			settings_fields( FIB_PAGE_SLUG );
			do_settings_sections( FIB_PAGE_SLUG );
			submit_button();
			?>
		</form>
		<form action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" method="post" id="fib-regenerate-secret-form">
			<input type="hidden" name="action" value="fib_regenerate_secret" />
			<?php wp_nonce_field( 'fib_regenerate_secret' ); ?>
		</form>
	</div>
	<?php
}

/**
 * Renders the "Enabled" checkbox.
 *
 * @return void
 */
function render_enabled_field() {
	$settings = get_plugin_settings();
	?>
	<input type="checkbox" id="fib-enabled" name="<?php echo esc_attr( FIB_OPTION ); ?>[enabled]" value="1" <?php checked( $settings['enabled'] ); ?> />
	<span class="description"><?php esc_html_e( 'Ask the bridge for a featured image when a post without one is published.', 'featured-image-bridge' ); ?></span>
	<?php
}

/**
 * Renders the "Bridge URL" input.
 *
 * @return void
 */
function render_bridge_url_field() {
	$settings = get_plugin_settings();
	?>
	<input type="url" class="regular-text code" id="fib-bridge-url" name="<?php echo esc_attr( FIB_OPTION ); ?>[bridge_url]" value="<?php echo esc_attr( $settings['bridge_url'] ); ?>" placeholder="http://127.0.0.1:8080" />
	<p class="description"><?php esc_html_e( 'Base URL of the bridge service, for example http://127.0.0.1:8080. Webhooks go to its /webhook path.', 'featured-image-bridge' ); ?></p>
	<?php
}

/**
 * Renders the read-only webhook secret and the "Regenerate secret" button.
 *
 * The button belongs to the separate regenerate form (HTML "form" attribute),
 * so it never submits the settings form.
 *
 * @return void
 */
function render_secret_field() {
	$settings = get_plugin_settings();
	?>
	<input type="text" class="regular-text code" id="fib-secret" value="<?php echo esc_attr( $settings['secret'] ); ?>" readonly="readonly" autocomplete="off" spellcheck="false" />
	<button type="submit" class="button" id="fib-regenerate-secret" form="fib-regenerate-secret-form"><?php esc_html_e( 'Regenerate secret', 'featured-image-bridge' ); ?></button>
	<p class="description"><?php esc_html_e( 'Paste this value into the bridge\'s BRIDGE_WEBHOOK_SECRET. Regenerating it breaks the bridge until you update it there too.', 'featured-image-bridge' ); ?></p>
	<?php
}

/**
 * Handles admin-post.php?action=fib_regenerate_secret.
 *
 * @return void
 */
function handle_regenerate_secret() {
	if ( ! current_user_can( 'manage_options' ) ) {
		wp_die( esc_html__( 'Sorry, you are not allowed to manage these settings.', 'featured-image-bridge' ), 403 );
	}

	check_admin_referer( 'fib_regenerate_secret' );

	// The request carries no input besides the nonce, so there is nothing to unslash or sanitize.
	$secret = generate_secret();
	$result = is_wp_error( $secret ) ? $secret : save_secret( $secret );
	$notice = is_wp_error( $result ) ? 'secret-error' : 'secret-regenerated';

	wp_safe_redirect( add_query_arg( 'fib-notice', $notice, settings_page_url() ) );
	exit;
}
