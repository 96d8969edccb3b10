<?php
/**
 * Settings → Featured Image Bridge: the page, its fields, and the
 * "Regenerate secret" admin action.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
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

	// Only selects one of the fixed messages; nothing is changed, so no nonce.
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended
	$notice = isset( $_GET['fib-notice'] ) ? sanitize_key( wp_unslash( $_GET['fib-notice'] ) ) : '';
	?>
	<div class="wrap">
		<h1><?php echo esc_html( get_admin_page_title() ); ?></h1>
		<?php render_network_note(); ?>
		<?php render_provider_alert(); ?>
		<?php if ( 'secret-regenerated' === $notice ) : ?>
			<div class="notice notice-warning is-dismissible" id="fib-notice">
				<p><?php esc_html_e( 'A new webhook secret was generated. Update BRIDGE_WEBHOOK_SECRET in the bridge\'s configuration and restart it: until then the bridge rejects every webhook.', 'featured-image-bridge' ); ?></p>
			</div>
		<?php elseif ( 'secret-error' === $notice ) : ?>
			<div class="notice notice-error is-dismissible" id="fib-notice">
				<p><?php esc_html_e( 'The webhook secret could not be regenerated. The old secret is still in use.', 'featured-image-bridge' ); ?></p>
			</div>
		<?php elseif ( 'connection-tested' === $notice ) : ?>
			<?php render_connection_result( take_connection_result() ); ?>
		<?php endif; ?>
		<form action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>" method="post" id="fib-settings-form">
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
		<form action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" method="post" id="fib-test-connection-form">
			<input type="hidden" name="action" value="fib_test_connection" />
			<?php wp_nonce_field( 'fib_test_connection' ); ?>
		</form>
	</div>
	<?php
}

/**
 * The name="" of a settings input.
 *
 * @param string $key Setting key.
 * @return string
 */
function field_name( $key ) {
	return FIB_OPTION . '[' . $key . ']';
}

/**
 * Renders one settings field; add_settings_field() passes the key in $args.
 *
 * @param array{key: string} $args Field arguments.
 * @return void
 */
function render_field( $args ) {
	$key      = $args['key'];
	$settings = get_plugin_settings();
	$id       = 'fib-' . str_replace( '_', '-', $key );

	switch ( $key ) {
		case 'enabled':
		case 'only_missing':
		case 'fallback_title_card':
			$labels = array(
				'enabled'             => __( 'Ask the bridge for featured images', 'featured-image-bridge' ),
				'only_missing'        => __( 'Only for posts that have no featured image', 'featured-image-bridge' ),
				'fallback_title_card' => __( 'Use a title card when the provider cannot generate the image', 'featured-image-bridge' ),
			);
			?>
			<input type="hidden" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="0" />
			<label><input type="checkbox" id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="1" <?php checked( $settings[ $key ] ); ?> /> <?php echo esc_html( $labels[ $key ] ); ?></label>
			<?php if ( 'only_missing' === $key ) : ?>
				<p class="description"><?php esc_html_e( 'Unticked, a trigger also replaces an existing featured image. A generated image an editor removed is never put back automatically.', 'featured-image-bridge' ); ?></p>
			<?php elseif ( 'fallback_title_card' === $key ) : ?>
				<p class="description"><?php esc_html_e( 'When a generation fails, runs past its deadline or gives an unusable image, the post gets a title card with its title instead, and its status says why; regenerate it later for an AI image. Never used when the provider refuses the key or the workflow: that needs fixing first.', 'featured-image-bridge' ); ?></p>
			<?php endif; ?>
			<?php
			break;

		case 'bridge_url':
			?>
			<input type="url" class="regular-text code" id="fib-bridge-url" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="<?php echo esc_attr( $settings['bridge_url'] ); ?>" placeholder="http://127.0.0.1:8080" />
			<button type="submit" class="button" id="fib-test-connection" form="fib-test-connection-form"><?php esc_html_e( 'Test connection', 'featured-image-bridge' ); ?></button>
			<p class="description"><?php esc_html_e( 'Base URL of the bridge service, for example http://127.0.0.1:8080. "Test connection" uses the saved settings: save your changes first.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'secret':
			?>
			<input type="text" class="regular-text code" id="fib-secret" value="<?php echo esc_attr( $settings['secret'] ); ?>" readonly="readonly" autocomplete="off" spellcheck="false" />
			<button type="submit" class="button" id="fib-regenerate-secret" form="fib-regenerate-secret-form"><?php esc_html_e( 'Regenerate secret', 'featured-image-bridge' ); ?></button>
			<p class="description"><?php esc_html_e( 'Paste this value into the bridge\'s BRIDGE_WEBHOOK_SECRET (or this site\'s webhook_secret in its sites file). Regenerating it breaks the bridge until you update it there too.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'trigger':
		case 'replaced_image':
			?>
			<fieldset id="<?php echo esc_attr( $id ); ?>">
				<?php foreach ( setting_choices( $key ) as $value => $label ) : ?>
					<label><input type="radio" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="<?php echo esc_attr( $value ); ?>" <?php checked( $settings[ $key ], $value ); ?> /> <?php echo esc_html( $label ); ?></label><br />
				<?php endforeach; ?>
			</fieldset>
			<p class="description">
				<?php
				if ( 'trigger' === $key ) {
					esc_html_e( 'The bridge\'s own saves never trigger a request. Editors can opt a single post out in its Publish box.', 'featured-image-bridge' );
				} else {
					esc_html_e( 'What happens to a generated image that a regenerated one replaces. An image a person chose is never deleted.', 'featured-image-bridge' );
				}
				?>
			</p>
			<?php
			break;

		case 'post_types':
			?>
			<fieldset id="fib-post-types">
				<input type="hidden" name="<?php echo esc_attr( field_name( $key ) ); ?>[]" value="" />
				<?php foreach ( allowed_post_types() as $name => $label ) : ?>
					<label><input type="checkbox" name="<?php echo esc_attr( field_name( $key ) ); ?>[]" value="<?php echo esc_attr( $name ); ?>" <?php checked( in_array( $name, $settings['post_types'], true ) ); ?> /> <?php echo esc_html( $label ); ?></label><br />
				<?php endforeach; ?>
			</fieldset>
			<p class="description"><?php esc_html_e( 'Public post types that support featured images.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'prompt_template':
			?>
			<textarea class="large-text code" rows="4" id="fib-prompt-template" name="<?php echo esc_attr( field_name( $key ) ); ?>"><?php echo esc_textarea( $settings['prompt_template'] ); ?></textarea>
			<p class="description"><?php esc_html_e( 'The text the image workflow receives. Placeholders: {title}, {excerpt}, {categories}, {tags}, {site_name}.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'style':
			?>
			<input type="text" class="regular-text" id="fib-style" list="fib-style-presets" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="<?php echo esc_attr( $settings['style'] ); ?>" />
			<datalist id="fib-style-presets">
				<?php foreach ( style_presets() as $preset ) : ?>
					<option value="<?php echo esc_attr( $preset ); ?>"></option>
				<?php endforeach; ?>
			</datalist>
			<p class="description"><?php esc_html_e( 'Appended to the prompt as "Style: …". Pick a suggestion or write your own; leave empty for none.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'size':
			?>
			<label for="fib-width"><?php esc_html_e( 'Width', 'featured-image-bridge' ); ?></label>
			<input type="number" class="small-text" id="fib-width" name="<?php echo esc_attr( field_name( 'width' ) ); ?>" value="<?php echo esc_attr( (string) $settings['width'] ); ?>" min="64" max="4096" />
			<label for="fib-height"><?php esc_html_e( 'Height', 'featured-image-bridge' ); ?></label>
			<input type="number" class="small-text" id="fib-height" name="<?php echo esc_attr( field_name( 'height' ) ); ?>" value="<?php echo esc_attr( (string) $settings['height'] ); ?>" min="64" max="4096" />
			<p class="description"><?php esc_html_e( 'Pixels, 64 to 4096. 1200 × 630 suits social media cards. The image is cropped to fill this size.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'format':
			?>
			<select id="fib-format" name="<?php echo esc_attr( field_name( $key ) ); ?>">
				<?php foreach ( setting_choices( 'format' ) as $value => $label ) : ?>
					<option value="<?php echo esc_attr( $value ); ?>" <?php selected( $settings['format'], $value ); ?>><?php echo esc_html( $label ); ?></option>
				<?php endforeach; ?>
			</select>
			<?php
			break;

		case 'quality':
			?>
			<input type="number" class="small-text" id="fib-quality" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="<?php echo esc_attr( (string) $settings['quality'] ); ?>" min="1" max="100" />
			<p class="description"><?php esc_html_e( '1 to 100, for JPEG and WebP.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'alt_template':
		case 'title_template':
		case 'caption_template':
			?>
			<input type="text" class="regular-text" id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="<?php echo esc_attr( $settings[ $key ] ); ?>" />
			<p class="description"><?php esc_html_e( 'Same placeholders as the prompt. The file name always comes from the post\'s slug.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'price_per_image':
			?>
			<input type="text" inputmode="decimal" class="small-text" id="fib-price-per-image" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="<?php echo esc_attr( (string) $settings['price_per_image'] ); ?>" />
			<p class="description"><?php esc_html_e( 'What one generated image costs you, for the estimate on Tools → Fill missing featured images.', 'featured-image-bridge' ); ?></p>
			<?php
			break;

		case 'daily_cap':
			?>
			<input type="number" class="small-text" id="fib-daily-cap" name="<?php echo esc_attr( field_name( $key ) ); ?>" value="<?php echo esc_attr( (string) $settings['daily_cap'] ); ?>" min="0" max="1000000" step="1" />
			<p class="description"><?php esc_html_e( 'Most images generated for this site per day (UTC); 0 for no cap. Past it, posts wait, show why, and get their image after 00:00 UTC.', 'featured-image-bridge' ); ?></p>
			<?php
			break;
	}
}

/**
 * Style suggestions offered next to the free-text style field.
 *
 * @return string[]
 */
function style_presets() {
	return array(
		__( 'Flat vector illustration, bold colours', 'featured-image-bridge' ),
		__( 'Photorealistic, natural light', 'featured-image-bridge' ),
		__( 'Watercolour painting', 'featured-image-bridge' ),
		__( 'Minimal line art on a light background', 'featured-image-bridge' ),
		__( 'Isometric 3D render', 'featured-image-bridge' ),
	);
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
