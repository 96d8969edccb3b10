<?php
/**
 * WordPress multisite: every site of a network is a site of its own for the plugin.
 *
 * Each site keeps its own settings (bridge URL, webhook secret, triggers, …) in its own
 * fib_settings option, its posts' status meta in its own tables, and its own WP-Cron
 * redeliveries; its webhooks carry its own URL (get_site_url()). There are no network-wide
 * settings: a bridge entry is made per site (URL, Application Password, secret), so a default
 * bridge URL for all sites would still need every site's secret on the bridge.
 *
 * Network activation gives every existing site its settings and a fresh secret (activate()),
 * and this file does the same for a site created afterwards.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Whether the plugin is network-activated on this multisite network.
 *
 * @return bool
 */
function is_network_active() {
	if ( ! is_multisite() ) {
		return false;
	}
	if ( ! function_exists( 'is_plugin_active_for_network' ) ) {
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
	}

	return is_plugin_active_for_network( plugin_basename( FIB_PLUGIN_FILE ) );
}

/**
 * Action wp_initialize_site (after WordPress has made the new site's tables): a site created
 * while the plugin is network-active gets its settings and webhook secret at once, as the
 * sites that existed at activation did.
 *
 * @param \WP_Site $site The new site.
 * @return void
 */
function initialize_new_site( $site ) {
	if ( ! $site instanceof \WP_Site || ! is_network_active() ) {
		return;
	}

	switch_to_blog( (int) $site->blog_id );
	ensure_settings();
	restore_current_blog();
}

/**
 * On a network, a line for the settings page: these settings are this site's only, and the
 * address the bridge must use for it.
 *
 * @return void
 */
function render_network_note() {
	if ( ! is_multisite() ) {
		return;
	}
	?>
	<p id="fib-network-note">
		<?php
		printf(
			/* translators: %s: this site's URL, e.g. https://example.com/news. */
			esc_html__( 'These settings are for this site of the network only; every site has its own bridge URL and webhook secret. The bridge knows this site by %s: its WP_URL, or this site\'s url in the bridge\'s sites file (one bridge can serve every site of the network).', 'featured-image-bridge' ),
			'<code>' . esc_html( get_site_url() ) . '</code>'
		);
		?>
	</p>
	<?php
}
