<?php
/**
 * Signed requests from the plugin to the bridge (docs/protocol.md, "Signing"):
 * a POST signs its JSON body, a GET signs the empty body.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Sends a signed request to the bridge and decodes its JSON answer.
 *
 * @param string                    $method GET or POST.
 * @param string                    $path   Path under the bridge URL, starting with "/".
 * @param array<string, mixed>|null $body   JSON body of a POST; null for a GET.
 * @param int                       $timeout Seconds before giving up.
 * @return array{code: int, json: array<string, mixed>}|\WP_Error The HTTP status and the decoded
 *         body (empty when it is not a JSON object), or WP_Error when nothing usable came back:
 *         fib_not_configured, fib_bad_secret, fib_json or fib_unreachable (with the transport error).
 */
function bridge_request( $method, $path, $body = null, $timeout = 10 ) {
	$settings = get_plugin_settings();
	if ( '' === $settings['bridge_url'] ) {
		return new \WP_Error( 'fib_not_configured', __( 'No bridge URL is set. Enter it on Settings → Featured Image Bridge and save.', 'featured-image-bridge' ) );
	}

	$encoded = '';
	if ( null !== $body ) {
		$encoded = wp_json_encode( $body );
		if ( false === $encoded ) {
			return new \WP_Error( 'fib_json', __( 'The request could not be encoded as JSON.', 'featured-image-bridge' ) );
		}
	}

	$headers = signature_headers( $settings['secret'], $encoded );
	if ( is_wp_error( $headers ) ) {
		return $headers;
	}
	if ( null !== $body ) {
		$headers['Content-Type'] = 'application/json';
	}

	// Not wp_safe_remote_request(): the admin-configured bridge usually lives on a loopback or private address.
	$response = wp_remote_request(
		$settings['bridge_url'] . $path,
		array(
			'method'      => $method,
			'timeout'     => $timeout,
			'redirection' => 0,
			'user-agent'  => 'FeaturedImageBridge/' . FIB_VERSION . ' WordPress/' . get_bloginfo( 'version' ),
			'headers'     => $headers,
			'body'        => null === $body ? null : $encoded,
		)
	);

	if ( is_wp_error( $response ) ) {
		return new \WP_Error(
			'fib_unreachable',
			sprintf(
				/* translators: 1: bridge URL, 2: error message from the HTTP library. */
				__( 'Could not reach the bridge at %1$s: %2$s', 'featured-image-bridge' ),
				$settings['bridge_url'],
				$response->get_error_message()
			)
		);
	}

	$json = json_decode( wp_remote_retrieve_body( $response ), true );

	return array(
		'code' => (int) wp_remote_retrieve_response_code( $response ),
		'json' => is_array( $json ) ? $json : array(),
	);
}

/**
 * A sentence for a person about a refusal from the bridge: what is wrong and what to do.
 *
 * @param array{code: int, json: array<string, mixed>} $answer Result of bridge_request().
 * @return string
 */
function bridge_refusal_message( $answer ) {
	$error  = isset( $answer['json']['error'] ) && is_string( $answer['json']['error'] ) ? $answer['json']['error'] : '';
	$detail = isset( $answer['json']['message'] ) && is_string( $answer['json']['message'] ) ? $answer['json']['message'] : '';

	switch ( $error ) {
		case 'invalid_signature':
		case 'missing_signature':
			return __( 'Wrong secret: the bridge rejected the signature. Copy the webhook secret from this page into the bridge\'s BRIDGE_WEBHOOK_SECRET (or this site\'s webhook_secret in its sites file) and restart it.', 'featured-image-bridge' );
		case 'stale_timestamp':
			return __( 'The clocks of WordPress and the bridge differ by more than 5 minutes. Synchronise both servers\' clocks (NTP).', 'featured-image-bridge' );
		case 'unknown_site':
			return __( 'The bridge serves another site: this site\'s URL is neither its WP_URL nor in its sites file.', 'featured-image-bridge' );
		case 'site_mismatch':
			return __( 'The request named two different sites: this site\'s URL changed while it was sent. Try again.', 'featured-image-bridge' );
		case 'missing_site':
			return __( 'The bridge serves several sites and this plugin does not name its site. Update the plugin.', 'featured-image-bridge' );
	}

	if ( 404 === $answer['code'] && '' === $error ) {
		return __( 'The bridge URL answers, but not like the bridge (HTTP 404). Check the URL, or update the bridge.', 'featured-image-bridge' );
	}

	if ( '' === $detail ) {
		$detail = get_status_header_desc( $answer['code'] );
	}

	return sprintf(
		/* translators: 1: HTTP status code, 2: explanation given by the bridge. */
		__( 'The bridge refused the request (HTTP %1$d): %2$s', 'featured-image-bridge' ),
		$answer['code'],
		$detail
	);
}
