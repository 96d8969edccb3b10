<?php
/**
 * Hook registration, activation and small helpers shared by the other files.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Name of the option that holds all plugin settings.
 */
const FIB_OPTION = 'fib_settings';

/**
 * Slug of the settings page (Settings → Featured Image Bridge).
 */
const FIB_PAGE_SLUG = 'featured-image-bridge';

/**
 * Whether this request loads the files of the admin screens and their actions: in the admin
 * (admin-post.php and admin-ajax.php included) and on the command line (WP-CLI, scripts), not
 * for the saves, REST requests, cron runs and pages every other request is.
 *
 * @return bool
 */
function loads_admin_files() {
	return is_admin() || 'cli' === PHP_SAPI;
}

/**
 * Registers every hook of the plugin. This is the plugin's whole surface: first what every
 * request needs, then the admin screens' hooks, registered where their files are loaded.
 *
 * @return void
 */
function init_hooks() {
	// Saves, the status meta, the delivery of the webhooks, cron, the REST routes, networks.
	add_action( 'init',                             __NAMESPACE__ . '\register_status_meta' );
	add_action( 'save_post',                        __NAMESPACE__ . '\save_skip_checkbox' );
	add_action( 'wp_after_insert_post',             __NAMESPACE__ . '\maybe_send_webhook', 10, 4 );
	add_action( FIB_REDELIVER_HOOK,                 __NAMESPACE__ . '\redeliver' );
	add_filter( 'rest_pre_serve_request',           __NAMESPACE__ . '\buffer_rest_response' );
	add_action( 'shutdown',                         __NAMESPACE__ . '\send_deliveries_at_shutdown', 0 );
	add_action( FIB_SWEEP_HOOK,                     __NAMESPACE__ . '\send_due_deliveries' );
	add_action( 'rest_api_init',                    __NAMESPACE__ . '\load_rest_routes' );
	add_action( 'wp_initialize_site',               __NAMESPACE__ . '\initialize_new_site', 11 );

	// Provider faults the admin must fix (key, workflow): followed from the status the bridge writes.
	add_action( 'added_post_meta',                  __NAMESPACE__ . '\note_provider_outcome', 10, 3 );
	add_action( 'updated_post_meta',                __NAMESPACE__ . '\note_provider_outcome', 10, 3 );

	if ( defined( 'WP_CLI' ) && WP_CLI ) {
		\WP_CLI::add_command( 'fib', __NAMESPACE__ . '\Cli_Command' );
	}

	if ( ! loads_admin_files() ) {
		return;
	}

	// Settings, Test connection, Tools → Backfill, and the admin notices.
	add_action( 'admin_init',                       __NAMESPACE__ . '\register_settings' );
	add_action( 'admin_menu',                       __NAMESPACE__ . '\add_settings_page' );
	add_action( 'admin_post_fib_regenerate_secret', __NAMESPACE__ . '\handle_regenerate_secret' );
	add_action( 'admin_post_fib_test_connection',   __NAMESPACE__ . '\handle_test_connection' );
	add_action( 'admin_menu',                       __NAMESPACE__ . '\add_backfill_page' );
	add_action( 'admin_enqueue_scripts',            __NAMESPACE__ . '\enqueue_backfill_script' );
	add_action( 'admin_post_fib_backfill_start',    __NAMESPACE__ . '\handle_backfill_start' );
	add_action( 'wp_ajax_fib_backfill_status',      __NAMESPACE__ . '\ajax_backfill_status' );
	add_action( 'wp_ajax_fib_backfill_control',     __NAMESPACE__ . '\ajax_backfill_control' );
	add_filter( 'plugin_action_links_' . plugin_basename( FIB_PLUGIN_FILE ), __NAMESPACE__ . '\add_settings_link' );
	add_action( 'admin_notices',                    __NAMESPACE__ . '\show_provider_alert_notice' );

	// Editor actions: the status box, the opt-out, regenerate from the block editor, the
	// classic editor and the posts list.
	add_action( 'add_meta_boxes',                   __NAMESPACE__ . '\add_status_meta_box' );
	add_action( 'post_submitbox_misc_actions',      __NAMESPACE__ . '\render_skip_checkbox' );
	add_action( 'enqueue_block_editor_assets',      __NAMESPACE__ . '\enqueue_editor_panel' );
	add_action( 'admin_enqueue_scripts',            __NAMESPACE__ . '\enqueue_admin_assets' );
	add_action( 'admin_post_fib_regenerate',        __NAMESPACE__ . '\handle_regenerate_action' );
	add_action( 'admin_action_editpost',            __NAMESPACE__ . '\keep_generated_image_on_classic_save' );
	add_action( 'admin_notices',                    __NAMESPACE__ . '\show_regenerate_notices' );
	add_filter( 'removable_query_args',             __NAMESPACE__ . '\add_removable_query_args' );
	add_action( 'load-edit.php',                    __NAMESPACE__ . '\setup_posts_list' );
	add_filter( 'manage_posts_columns',             __NAMESPACE__ . '\add_image_column', 10, 2 );
	add_filter( 'manage_pages_columns',             __NAMESPACE__ . '\add_image_column' );
	add_action( 'manage_posts_custom_column',       __NAMESPACE__ . '\render_image_column', 10, 2 );
	add_action( 'manage_pages_custom_column',       __NAMESPACE__ . '\render_image_column', 10, 2 );
	add_filter( 'post_row_actions',                 __NAMESPACE__ . '\add_row_action', 10, 2 );
	add_filter( 'page_row_actions',                 __NAMESPACE__ . '\add_row_action', 10, 2 );
}

/**
 * Action rest_api_init: loads the plugin's REST routes (rest.php) and registers them. Only
 * requests that build the REST server compile that file.
 *
 * @return void
 */
function load_rest_routes() {
	require_once FIB_PLUGIN_DIR . '/includes/rest.php';
	register_post_routes();
}

/**
 * Activation: creates the option with its defaults and a fresh webhook
 * secret when none exists. An existing secret survives reactivation.
 *
 * On a network-wide activation every site of the network gets its option (and a site
 * created later gets it from initialize_new_site()).
 *
 * @param bool $network_wide Whether the plugin is being network-activated.
 * @return void
 */
function activate( $network_wide = false ) {
	if ( is_multisite() && $network_wide ) {
		$site_ids = get_sites(
			array(
				'fields' => 'ids',
				'number' => 0,
			)
		);
		foreach ( $site_ids as $site_id ) {
			switch_to_blog( (int) $site_id );
			ensure_settings();
			restore_current_blog();
		}
		return;
	}

	ensure_settings();
}

/**
 * Makes sure the option exists with every key and a webhook secret.
 *
 * @return true|\WP_Error True when the option is complete, WP_Error when no secret could be stored.
 */
function ensure_settings() {
	if ( false === get_option( FIB_OPTION ) ) {
		add_option( FIB_OPTION, default_settings() );
	}

	if ( '' !== get_plugin_settings()['secret'] ) {
		return true;
	}

	$secret = generate_secret();
	if ( is_wp_error( $secret ) ) {
		return $secret;
	}

	return save_secret( $secret );
}

/**
 * Post types whose posts get an AI-generated featured image and show the status box:
 * the "Post types" setting, then the fib_post_types filter.
 *
 * Post types added through the filter must support 'custom-fields', otherwise
 * the REST API does not expose the status meta the bridge writes back.
 *
 * @return string[] Post type names.
 */
function post_types() {
	/**
	 * Filters the post types that get an AI-generated featured image.
	 *
	 * @param string[] $post_types Post type names. Default: the "Post types" setting.
	 */
	$post_types = apply_filters( 'fib_post_types', get_plugin_settings()['post_types'] );

	return array_values( array_filter( array_map( 'strval', (array) $post_types ) ) );
}

/**
 * Adds a "Settings" link to the plugin's row on the Plugins screen.
 *
 * @param string[] $links Action links.
 * @return string[] Action links.
 */
function add_settings_link( $links ) {
	$links[] = sprintf(
		'<a href="%s">%s</a>',
		esc_url( settings_page_url() ),
		esc_html__( 'Settings', 'featured-image-bridge' )
	);

	return $links;
}
