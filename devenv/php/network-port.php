<?php
/**
 * Must-use plugin of the devenv network (copied to wp-content/mu-plugins/ by
 * devenv/wordpress.py): lets subsites share the network's domain with its port.
 *
 * WordPress stores a subdirectory network's sites under the network's domain,
 * "127.0.0.1:PORT" here, but runs every new site's domain through
 * sanitize_user(), which drops the ":". A network on port 80 or 443 never
 * meets this; the filter gives the network's own domain back unchanged.
 */

add_filter(
	'sanitize_user',
	static function ( $username, $raw_username ) {
		if ( defined( 'DOMAIN_CURRENT_SITE' ) && DOMAIN_CURRENT_SITE === $raw_username ) {
			return $raw_username;
		}
		return $username;
	},
	10,
	2
);
