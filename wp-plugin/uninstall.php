<?php
/**
 * Uninstall: removes the plugin's options and its post meta, on every site of a network.
 *
 * Deactivation keeps both; only deleting the plugin runs this file.
 *
 * @package FeaturedImageBridge
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

/**
 * Removes the plugin's options (fib_settings, fib_backfill_run, fib_provider_alert), its post
 * meta, its scheduled redeliveries and its delivery sweep on the current site.
 *
 * @return void
 */
function fib_uninstall_site() {
	delete_option( 'fib_settings' );
	delete_option( 'fib_backfill_run' );
	delete_option( 'fib_provider_alert' );
	wp_unschedule_hook( 'fib_redeliver' );
	wp_unschedule_hook( 'fib_deliver_due' );

	$fib_meta_keys = array(
		'_fib_status',
		'_fib_message',
		'_fib_error_kind',
		'_fib_job_id',
		'_fib_updated',
		'_fib_attachment_id',
		'_fib_skip',
		'_fib_delivery',
	);
	foreach ( $fib_meta_keys as $fib_meta_key ) {
		delete_post_meta_by_key( $fib_meta_key );
	}
}

if ( is_multisite() ) {
	$fib_site_ids = get_sites(
		array(
			'fields' => 'ids',
			'number' => 0,
		)
	);
	foreach ( $fib_site_ids as $fib_site_id ) {
		switch_to_blog( (int) $fib_site_id );
		fib_uninstall_site();
		restore_current_blog();
	}
} else {
	fib_uninstall_site();
}
