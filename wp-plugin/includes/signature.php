<?php
/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/).
 *
 * The secret is "whsec_" followed by the base64 of the key. The signature is
 * "v1," followed by the base64 of HMAC-SHA256( key, "<id>.<timestamp>.<body>" ).
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Prefix of every webhook secret.
 */
const FIB_SECRET_PREFIX = 'whsec_';

/**
 * The header that names the site on every signed request (docs/protocol.md): a bridge serving
 * several sites finds this site's secret by it. Its value is the same as data.site_url.
 */
const FIB_SITE_HEADER = 'X-FIB-Site';

/**
 * Generates a new webhook secret: "whsec_" and 32 random bytes in base64.
 *
 * @return string|\WP_Error The secret, or WP_Error when no secure random source is available.
 */
function generate_secret() {
	try {
		return FIB_SECRET_PREFIX . base64_encode( random_bytes( 32 ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	} catch ( \Exception $e ) {
		return new \WP_Error( 'fib_no_random', __( 'No secure source of random bytes is available.', 'featured-image-bridge' ) );
	}
}

/**
 * Decodes the key out of a "whsec_" secret.
 *
 * @param string $secret Webhook secret.
 * @return string|\WP_Error Raw key bytes, or WP_Error when the secret is malformed.
 */
function secret_key( $secret ) {
	$key = false;
	if ( is_string( $secret ) && str_starts_with( $secret, FIB_SECRET_PREFIX ) ) {
		$key = base64_decode( substr( $secret, strlen( FIB_SECRET_PREFIX ) ), true ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode
	}

	if ( false === $key || '' === $key ) {
		return new \WP_Error( 'fib_bad_secret', __( 'The webhook secret is malformed. Regenerate it on the settings page.', 'featured-image-bridge' ) );
	}

	return $key;
}

/**
 * Computes the webhook-signature header value.
 *
 * @param string $secret    Webhook secret ("whsec_…").
 * @param string $id        Value of the webhook-id header.
 * @param string $timestamp Value of the webhook-timestamp header (Unix seconds).
 * @param string $body      The exact request body that is sent.
 * @return string|\WP_Error "v1,<base64 signature>", or WP_Error when the secret is malformed.
 */
function sign( $secret, $id, $timestamp, $body ) {
	$key = secret_key( $secret );
	if ( is_wp_error( $key ) ) {
		return $key;
	}

	$mac = hash_hmac( 'sha256', $id . '.' . $timestamp . '.' . $body, $key, true );

	return 'v1,' . base64_encode( $mac ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
}

/**
 * Builds the three Standard Webhooks headers for a body, with a fresh id and the current time,
 * and FIB_SITE_HEADER, the site's URL.
 *
 * @param string $secret Webhook secret ("whsec_…").
 * @param string $body   The exact request body that is sent.
 * @return array<string, string>|\WP_Error Headers, or WP_Error when the secret is malformed.
 */
function signature_headers( $secret, $body ) {
	$id        = 'msg_' . str_replace( '-', '', wp_generate_uuid4() );
	$timestamp = (string) time();
	$signature = sign( $secret, $id, $timestamp, $body );

	if ( is_wp_error( $signature ) ) {
		return $signature;
	}

	return array(
		'webhook-id'        => $id,
		'webhook-timestamp' => $timestamp,
		'webhook-signature' => $signature,
		FIB_SITE_HEADER     => get_site_url(),
	);
}
