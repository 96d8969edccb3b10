<?php
/**
 * Loads the block editor's "Featured image (AI)" panel (assets/editor-panel.js).
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Enqueues the panel in the post editor of the post types we generate images for.
 *
 * @return void
 */
function enqueue_editor_panel() {
	$screen = get_current_screen();
	if ( ! $screen || 'post' !== $screen->base || ! in_array( $screen->post_type, post_types(), true ) ) {
		return;
	}

	$dependencies = array( 'wp-api-fetch', 'wp-components', 'wp-data', 'wp-edit-post', 'wp-editor', 'wp-element', 'wp-i18n', 'wp-plugins' );
	wp_enqueue_script(
		'fib-editor-panel',
		plugins_url( 'assets/editor-panel.js', FIB_PLUGIN_FILE ),
		$dependencies,
		FIB_VERSION,
		true
	);
	wp_set_script_translations( 'fib-editor-panel', 'featured-image-bridge' );

	$config = array(
		'postTypes' => post_types(),
		'confirm'   => chosen_image_question(),
	);
	wp_add_inline_script( 'fib-editor-panel', 'window.fibEditorPanel = ' . wp_json_encode( $config ) . ';', 'before' );
}
