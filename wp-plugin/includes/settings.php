<?php
/**
 * The plugin's settings: defaults, validation, and their registration with the
 * Settings API. The page that shows them is in settings-page.php.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Default value of the fib_settings option: every key the plugin knows.
 *
 * @return array<string, mixed>
 */
function default_settings() {
	return array(
		'enabled'             => true,
		'bridge_url'          => '',
		'secret'              => '',
		'trigger'             => 'publish',
		'only_missing'        => true,
		'post_types'          => array( 'post' ),
		'prompt_template'     => "Title: {title}\n\nDescription: {excerpt}\n",
		'style'               => '',
		'width'               => 1200,
		'height'              => 630,
		'format'              => 'jpeg',
		'quality'             => 85,
		'alt_template'        => '{title}',
		'title_template'      => '{title}',
		'caption_template'    => '',
		'replaced_image'      => 'keep',
		'fallback_title_card' => false,
		'price_per_image'     => 0.44,
		'daily_cap'           => 0,
	);
}

/**
 * Allowed values of the settings that are a choice, each with its label.
 *
 * @param string $key Setting key: trigger, format or replaced_image.
 * @return array<string, string> Value => label.
 */
function setting_choices( $key ) {
	$choices = array(
		'trigger'        => array(
			'publish' => __( 'When a post is published', 'featured-image-bridge' ),
			'save'    => __( 'On every save of a published post', 'featured-image-bridge' ),
			'manual'  => __( 'Manually only (editor actions and the Tools screen)', 'featured-image-bridge' ),
		),
		'format'         => array(
			'jpeg' => 'JPEG',
			'webp' => 'WebP',
			'png'  => 'PNG',
		),
		'replaced_image' => array(
			'keep'   => __( 'Keep it in the media library', 'featured-image-bridge' ),
			'delete' => __( 'Delete it from the media library', 'featured-image-bridge' ),
		),
	);

	return $choices[ $key ] ?? array();
}

/**
 * Post types that may get a generated featured image: public ones that support thumbnails.
 *
 * @return array<string, string> Post type name => label.
 */
function allowed_post_types() {
	$allowed = array();
	foreach ( get_post_types( array( 'public' => true ), 'objects' ) as $name => $object ) {
		if ( 'attachment' !== $name && post_type_supports( $name, 'thumbnail' ) ) {
			$allowed[ $name ] = $object->labels->name;
		}
	}

	return $allowed;
}

/**
 * Bounds of the numeric settings.
 *
 * @return array<string, array{0: int|float, 1: int|float}> Key => array( min, max ).
 */
function numeric_bounds() {
	return array(
		'width'           => array( 64, 4096 ),
		'height'          => array( 64, 4096 ),
		'quality'         => array( 1, 100 ),
		'price_per_image' => array( 0, 1000 ),
		'daily_cap'       => array( 0, 1000000 ),
	);
}

/**
 * Longest accepted length of the text settings, in characters.
 */
const FIB_TEMPLATE_MAX = 2000;

/**
 * The label of a validated setting, for its error messages.
 *
 * @param string $key Setting key.
 * @return string
 */
function setting_label( $key ) {
	$labels = array(
		'trigger'          => __( 'Trigger', 'featured-image-bridge' ),
		'format'           => __( 'Format', 'featured-image-bridge' ),
		'replaced_image'   => __( 'Replaced generated image', 'featured-image-bridge' ),
		'style'            => __( 'Style', 'featured-image-bridge' ),
		'alt_template'     => __( 'Alt text', 'featured-image-bridge' ),
		'title_template'   => __( 'Image title', 'featured-image-bridge' ),
		'caption_template' => __( 'Caption', 'featured-image-bridge' ),
		'width'            => __( 'Width', 'featured-image-bridge' ),
		'height'           => __( 'Height', 'featured-image-bridge' ),
		'quality'          => __( 'Quality', 'featured-image-bridge' ),
		'price_per_image'  => __( 'Price per image', 'featured-image-bridge' ),
		'daily_cap'        => __( 'Daily cap', 'featured-image-bridge' ),
	);

	return $labels[ $key ] ?? $key;
}

/**
 * Validates one setting.
 *
 * @param string $key   Setting key (not enabled, only_missing, fallback_title_card or secret).
 * @param mixed  $value Raw value.
 * @return mixed|\WP_Error The clean value, or WP_Error with a message for the settings page.
 */
function validate_setting( $key, $value ) {
	switch ( $key ) {
		case 'bridge_url':
			$url = is_string( $value ) ? trim( $value ) : '';
			if ( '' === $url ) {
				return '';
			}
			$clean = esc_url_raw( $url, array( 'http', 'https' ) );
			if ( '' === $clean || '' === (string) wp_parse_url( $clean, PHP_URL_HOST ) ) {
				return new \WP_Error( 'fib_bridge_url', __( 'The bridge URL must start with http:// or https://, for example http://127.0.0.1:8080.', 'featured-image-bridge' ) );
			}
			return untrailingslashit( $clean );

		case 'trigger':
		case 'format':
		case 'replaced_image':
			if ( is_string( $value ) && array_key_exists( $value, setting_choices( $key ) ) ) {
				return $value;
			}
			return new \WP_Error(
				'fib_' . $key,
				sprintf(
					/* translators: 1: setting label, 2: comma-separated list of accepted values. */
					__( '"%1$s" must be one of: %2$s.', 'featured-image-bridge' ),
					setting_label( $key ),
					implode( ', ', array_keys( setting_choices( $key ) ) )
				)
			);

		case 'post_types':
			// The form sends an empty entry before the checkboxes, so that none ticked is seen.
			$names   = is_array( $value ) ? array_values( array_filter( array_unique( array_map( 'strval', $value ) ) ) ) : array();
			$unknown = array_diff( $names, array_keys( allowed_post_types() ) );
			if ( array() !== $unknown ) {
				return new \WP_Error(
					'fib_post_types',
					sprintf(
						/* translators: %s: comma-separated post type names. */
						__( 'These post types are not public or have no featured image: %s.', 'featured-image-bridge' ),
						implode( ', ', $unknown )
					)
				);
			}
			if ( array() === $names ) {
				return new \WP_Error( 'fib_post_types', __( 'Choose at least one post type. To stop automatic images, choose "Manually only" as the trigger.', 'featured-image-bridge' ) );
			}
			return $names;

		case 'prompt_template':
			// Plain text for the image model, kept as written (line breaks and the trailing one
			// included) apart from invalid UTF-8 and control characters; escaped on output.
			$text = is_string( $value ) ? wp_check_invalid_utf8( str_replace( "\r\n", "\n", $value ) ) : '';
			$text = (string) preg_replace( '/[\x00-\x08\x0B-\x1F\x7F]/u', '', $text );
			if ( '' === trim( $text ) || mb_strlen( $text ) > FIB_TEMPLATE_MAX ) {
				return new \WP_Error(
					'fib_prompt_template',
					sprintf(
						/* translators: %d: maximum number of characters. */
						__( 'The prompt template must not be empty and may have at most %d characters.', 'featured-image-bridge' ),
						FIB_TEMPLATE_MAX
					)
				);
			}
			return $text;

		case 'style':
		case 'alt_template':
		case 'title_template':
		case 'caption_template':
			$text = is_string( $value ) ? sanitize_text_field( $value ) : '';
			if ( mb_strlen( $text ) > 500 ) {
				return new \WP_Error(
					'fib_' . $key,
					sprintf(
						/* translators: %s: setting label. */
						__( '"%s" may have at most 500 characters.', 'featured-image-bridge' ),
						setting_label( $key )
					)
				);
			}
			return $text;

		case 'width':
		case 'height':
		case 'quality':
		case 'price_per_image':
		case 'daily_cap':
			list( $min, $max ) = numeric_bounds()[ $key ];
			$text              = is_scalar( $value ) ? str_replace( ',', '.', trim( (string) $value ) ) : '';
			$is_integer        = 'price_per_image' !== $key;
			$valid             = $is_integer ? 1 === preg_match( '/^\d+$/', $text ) : is_numeric( $text );
			$number            = $is_integer ? (int) $text : round( (float) $text, 4 );
			if ( ! $valid || $number < $min || $number > $max ) {
				return new \WP_Error(
					'fib_' . $key,
					sprintf(
						/* translators: 1: setting label, 2: minimum, 3: maximum. */
						$is_integer ? __( '%1$s must be a whole number from %2$s to %3$s.', 'featured-image-bridge' ) : __( '%1$s must be a number from %2$s to %3$s.', 'featured-image-bridge' ),
						setting_label( $key ),
						$min,
						$max
					)
				);
			}
			return $number;
	}

	return new \WP_Error( 'fib_unknown_setting', __( 'Unknown setting.', 'featured-image-bridge' ) );
}

/**
 * The stored settings, completed with defaults: a missing or invalid value is the default.
 *
 * @return array{enabled: bool, bridge_url: string, secret: string, trigger: string, only_missing: bool, post_types: string[], prompt_template: string, style: string, width: int, height: int, format: string, quality: int, alt_template: string, title_template: string, caption_template: string, replaced_image: string, fallback_title_card: bool, price_per_image: float, daily_cap: int}
 */
function get_plugin_settings() {
	static $last_stored = null, $last_settings = null;

	$stored = get_option( FIB_OPTION, array() );
	$stored = is_array( $stored ) ? $stored : array();
	// A save reads the settings several times: the same stored option gives the same settings
	// (checked by value, so a change or another site of the network is read afresh).
	if ( $stored === $last_stored ) {
		return $last_settings;
	}

	$settings = default_settings();

	foreach ( $settings as $key => $default ) {
		if ( ! array_key_exists( $key, $stored ) ) {
			continue;
		}
		if ( is_bool( $default ) ) {
			$settings[ $key ] = (bool) $stored[ $key ];
		} elseif ( 'secret' === $key ) {
			$settings[ $key ] = is_string( $stored[ $key ] ) ? $stored[ $key ] : '';
		} elseif ( 'post_types' === $key ) {
			// Not validated here: post types registered late must not be lost before init.
			$settings[ $key ] = is_array( $stored[ $key ] ) ? array_values( array_map( 'strval', $stored[ $key ] ) ) : $default;
		} elseif ( $stored[ $key ] !== $default ) { // The default needs no validation.
			$clean            = validate_setting( $key, $stored[ $key ] );
			$settings[ $key ] = is_wp_error( $clean ) ? $default : $clean;
		}
	}

	$last_stored   = $stored;
	$last_settings = $settings;

	return $settings;
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
 * Registers the option, its sections and its fields.
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

	$sections = array(
		'fib-connection' => array(
			__( 'Connection', 'featured-image-bridge' ),
			array(
				'enabled'    => __( 'Enabled', 'featured-image-bridge' ),
				'bridge_url' => __( 'Bridge URL', 'featured-image-bridge' ),
				'secret'     => __( 'Webhook secret', 'featured-image-bridge' ),
			),
		),
		'fib-triggers'   => array(
			__( 'When to generate', 'featured-image-bridge' ),
			array(
				'trigger'      => __( 'Trigger', 'featured-image-bridge' ),
				'only_missing' => __( 'Only missing images', 'featured-image-bridge' ),
				'post_types'   => __( 'Post types', 'featured-image-bridge' ),
			),
		),
		'fib-prompt'     => array(
			__( 'Prompt', 'featured-image-bridge' ),
			array(
				'prompt_template' => __( 'Prompt template', 'featured-image-bridge' ),
				'style'           => __( 'Style', 'featured-image-bridge' ),
			),
		),
		'fib-image'      => array(
			__( 'Image', 'featured-image-bridge' ),
			array(
				'size'                => __( 'Size', 'featured-image-bridge' ),
				'format'              => __( 'Format', 'featured-image-bridge' ),
				'quality'             => __( 'Quality', 'featured-image-bridge' ),
				'alt_template'        => __( 'Alt text', 'featured-image-bridge' ),
				'title_template'      => __( 'Image title', 'featured-image-bridge' ),
				'caption_template'    => __( 'Caption', 'featured-image-bridge' ),
				'replaced_image'      => __( 'Replaced generated image', 'featured-image-bridge' ),
				'fallback_title_card' => __( 'If generation fails', 'featured-image-bridge' ),
			),
		),
		'fib-costs'      => array(
			__( 'Costs', 'featured-image-bridge' ),
			array(
				'price_per_image' => __( 'Price per image', 'featured-image-bridge' ),
				'daily_cap'       => __( 'Daily cap', 'featured-image-bridge' ),
			),
		),
	);

	foreach ( $sections as $section => list( $title, $fields ) ) {
		add_settings_section( $section, $title, '__return_false', FIB_PAGE_SLUG );
		foreach ( $fields as $key => $label ) {
			$id = 'fib-' . str_replace( '_', '-', $key );
			add_settings_field(
				$id,
				$label,
				__NAMESPACE__ . '\render_field',
				FIB_PAGE_SLUG,
				$section,
				array(
					'key'       => $key,
					'label_for' => in_array( $key, array( 'trigger', 'post_types', 'size', 'replaced_image' ), true ) ? '' : $id,
				)
			);
		}
	}
}

/**
 * Sanitizes the submitted settings. Only known keys and values are kept: an
 * invalid value keeps the stored one and adds a settings error that says why.
 * The secret is always the stored one: the form can never change it (see save_secret()).
 *
 * @param mixed $input Submitted value.
 * @return array<string, mixed>
 */
function sanitize_settings( $input ) {
	$input   = is_array( $input ) ? $input : array();
	$current = get_plugin_settings();
	$clean   = $current;

	// The form sends a hidden "0" before each checkbox: a key that is absent was not on the form.
	foreach ( array( 'enabled', 'only_missing', 'fallback_title_card' ) as $key ) {
		if ( array_key_exists( $key, $input ) ) {
			$clean[ $key ] = ! empty( $input[ $key ] );
		}
	}

	foreach ( array_keys( default_settings() ) as $key ) {
		if ( in_array( $key, array( 'enabled', 'only_missing', 'fallback_title_card', 'secret' ), true ) || ! array_key_exists( $key, $input ) ) {
			continue;
		}
		$value = validate_setting( $key, $input[ $key ] );
		if ( is_wp_error( $value ) ) {
			add_settings_error( FIB_OPTION, 'fib-' . str_replace( '_', '-', $key ), $value->get_error_message(), 'error' );
			continue;
		}
		$clean[ $key ] = $value;
	}

	return $clean;
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
