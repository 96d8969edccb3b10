<?php
/**
 * Plugin Name:       Featured Image Bridge
 * Description:       Asks the Featured Image Bridge service for an AI-generated featured image when a post without one is published.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.2
 * Author:            Featured Image Bridge contributors
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       featured-image-bridge
 *
 * @package FeaturedImageBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

if ( defined( 'FIB_VERSION' ) ) {
	return;
}

define( 'FIB_VERSION', '0.1.0' );
define( 'FIB_PLUGIN_FILE', __FILE__ );
define( 'FIB_PLUGIN_DIR', __DIR__ );

// What every request may need: saves (the webhook and its delivery), the status meta, cron.
require_once FIB_PLUGIN_DIR . '/includes/plugin.php';
require_once FIB_PLUGIN_DIR . '/includes/settings.php';
require_once FIB_PLUGIN_DIR . '/includes/network.php';
require_once FIB_PLUGIN_DIR . '/includes/signature.php';
require_once FIB_PLUGIN_DIR . '/includes/webhook.php';
require_once FIB_PLUGIN_DIR . '/includes/delivery.php';
require_once FIB_PLUGIN_DIR . '/includes/request-end.php';
require_once FIB_PLUGIN_DIR . '/includes/status.php';
require_once FIB_PLUGIN_DIR . '/includes/provider-alert.php';
require_once FIB_PLUGIN_DIR . '/includes/regenerate.php';
require_once FIB_PLUGIN_DIR . '/includes/opt-out.php';

// The screens and their actions: only in the admin (admin-post.php and admin-ajax.php
// included) and on the command line; the REST routes load on rest_api_init.
if ( \FeaturedImageBridge\loads_admin_files() ) {
	require_once FIB_PLUGIN_DIR . '/includes/settings-page.php';
	require_once FIB_PLUGIN_DIR . '/includes/bridge-client.php';
	require_once FIB_PLUGIN_DIR . '/includes/connection-test.php';
	require_once FIB_PLUGIN_DIR . '/includes/editor-panel.php';
	require_once FIB_PLUGIN_DIR . '/includes/posts-list.php';
	require_once FIB_PLUGIN_DIR . '/includes/backfill.php';
	require_once FIB_PLUGIN_DIR . '/includes/backfill-page.php';
}

if ( defined( 'WP_CLI' ) && WP_CLI ) {
	require_once FIB_PLUGIN_DIR . '/includes/cli.php';
}

register_activation_hook( __FILE__, '\FeaturedImageBridge\activate' );

\FeaturedImageBridge\init_hooks();
