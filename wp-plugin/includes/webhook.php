<?php
/**
 * The post.published webhook: deciding when to send it, sending it, and
 * recording the outcome in the post's status meta.
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Queues the webhook when a post newly becomes published without a featured image.
 *
 * Runs on wp_after_insert_post, which fires after the post's terms, meta and
 * (in REST requests) featured image have been saved. The save only records the delivery;
 * it is sent when the request ends, after the response (delivery.php).
 *
 * @param int           $post_id     Post ID.
 * @param \WP_Post      $post        Post object as saved.
 * @param bool          $update      Whether this is an update of an existing post.
 * @param \WP_Post|null $post_before Post object before the update, null for new posts.
 * @return void
 */
function maybe_send_webhook( $post_id, $post, $update, $post_before ) {
	static $sent = array();

	$key = get_current_blog_id() . ':' . (int) $post_id; // Post IDs repeat across a network's sites.
	if ( isset( $sent[ $key ] ) || ! $post instanceof \WP_Post || ! should_send( $post, $post_before ) ) {
		return;
	}

	$sent[ $key ] = true;
	queue_delivery( $post, trigger_event_type( $post, $post_before ) );
}

/**
 * Whether a saved post qualifies for the webhook (apart from the once-per-request guard),
 * following the trigger settings:
 *
 * - trigger "publish": the post newly became published; "save": any save of a published
 *   post; "manual": never (editors use the explicit actions);
 * - only_missing: only when the post has no featured image, and not when an editor removed
 *   the image the bridge generated (it would come straight back otherwise);
 * - only the configured post types, never opted-out posts, never the bridge's own saves.
 *
 * @param \WP_Post      $post        Post object as saved.
 * @param \WP_Post|null $post_before Post object before the update, null for new posts.
 * @return bool
 */
function should_send( \WP_Post $post, $post_before ) {
	// Cheapest first: most saves (drafts, autosaves, revisions, the bridge's own) stop here.
	if ( 'publish' !== $post->post_status || is_bridge_request() || wp_is_post_revision( $post ) || wp_is_post_autosave( $post ) ) {
		return false;
	}

	$settings = get_plugin_settings();
	if ( ! $settings['enabled'] || '' === $settings['bridge_url'] || '' === $settings['secret'] || 'manual' === $settings['trigger'] ) {
		return false;
	}

	if ( 'publish' === $settings['trigger'] && null !== $post_before && 'publish' === $post_before->post_status ) {
		return false;
	}

	if ( ! in_array( $post->post_type, post_types(), true ) || get_post_meta( $post->ID, '_fib_skip', true ) ) {
		return false;
	}

	if ( $settings['only_missing'] ) {
		$removed_generated = (int) get_post_meta( $post->ID, '_fib_attachment_id', true ) > 0;
		return ! has_post_thumbnail( $post ) && ! $removed_generated;
	}

	return true;
}

/**
 * The webhook event a save that passed should_send() stands for: "post.published" when the
 * post newly became published, "post.updated" for a later save of a published post.
 *
 * @param \WP_Post      $post        Post object as saved.
 * @param \WP_Post|null $post_before Post object before the update, null for new posts.
 * @return string
 */
function trigger_event_type( \WP_Post $post, $post_before ) {
	$was_published = null !== $post_before && 'publish' === $post_before->post_status;

	return 'publish' === $post->post_status && $was_published ? 'post.updated' : 'post.published';
}

/**
 * Whether the current request was made by the bridge itself (it sends the
 * X-Featured-Image-Bridge header), whose own saves must never start a new job.
 *
 * @return bool
 */
function is_bridge_request() {
	return isset( $_SERVER['HTTP_X_FEATURED_IMAGE_BRIDGE'] );
}

/**
 * Event types the plugin sends (docs/protocol.md).
 */
const FIB_EVENT_TYPES = array( 'post.published', 'post.updated', 'post.regenerate', 'post.backfill' );

/**
 * The webhook payload for a post (protocol v2: site, terms, replace and image options).
 *
 * @param \WP_Post $post Post object.
 * @param string   $type One of FIB_EVENT_TYPES; post.regenerate asks to replace the current image,
 *                       and so do the automatic triggers when "Only missing images" is off.
 * @return array<string, mixed>
 */
function build_payload( \WP_Post $post, $type = 'post.published' ) {
	$type    = in_array( $type, FIB_EVENT_TYPES, true ) ? $type : 'post.published';
	$excerpt = $post->post_excerpt;
	if ( '' === trim( $excerpt ) ) {
		$text    = strip_shortcodes( excerpt_remove_blocks( $post->post_content ) );
		$excerpt = wp_trim_words( wp_strip_all_tags( $text ), 55, '' );
	}

	return array(
		'type'      => $type,
		'timestamp' => gmdate( 'Y-m-d\TH:i:s\Z' ),
		'data'      => array(
			'site_url'     => get_site_url(),
			'post_id'      => (int) $post->ID,
			'post_type'    => $post->post_type,
			'title'        => $post->post_title,
			'excerpt'      => $excerpt,
			'slug'         => $post->post_name,
			'modified_gmt' => (string) get_post_modified_time( 'Y-m-d\TH:i:s\Z', true, $post ),
			'link'         => (string) get_permalink( $post ),
			'site_name'    => wp_specialchars_decode( (string) get_bloginfo( 'name' ), ENT_QUOTES ),
			'categories'   => post_term_names( $post, 'category' ),
			'tags'         => post_term_names( $post, 'post_tag' ),
			'replace'      => 'post.regenerate' === $type || ( ! get_plugin_settings()['only_missing'] && in_array( $type, array( 'post.published', 'post.updated' ), true ) ),
			'options'      => payload_options(),
		),
	);
}

/**
 * Names of a post's terms in a taxonomy, [] when the post type does not use it.
 *
 * @param \WP_Post $post     Post object.
 * @param string   $taxonomy Taxonomy name.
 * @return string[]
 */
function post_term_names( \WP_Post $post, $taxonomy ) {
	if ( ! is_object_in_taxonomy( $post->post_type, $taxonomy ) ) {
		return array();
	}

	$terms = get_the_terms( $post, $taxonomy );
	if ( ! is_array( $terms ) ) {
		return array();
	}

	return array_values(
		array_map(
			static function ( $term ) {
				return wp_specialchars_decode( $term->name, ENT_QUOTES );
			},
			$terms
		)
	);
}

/**
 * The image and prompt options of the payload, from the plugin settings with
 * the protocol's defaults for every key that is unset or of the wrong kind.
 *
 * @return array<string, string|int|bool>
 */
function payload_options() {
	$defaults = array(
		'prompt_template'  => "Title: {title}\n\nDescription: {excerpt}\n",
		'style'            => '',
		'width'            => 1200,
		'height'           => 630,
		'format'           => 'jpeg',
		'quality'          => 85,
		'alt_template'     => '{title}',
		'title_template'   => '{title}',
		'caption_template' => '',
		'replaced_image'   => 'keep',
		'daily_cap'        => 0,
	);
	$settings = get_plugin_settings();
	$options  = array();

	foreach ( $defaults as $key => $default ) {
		$value = $settings[ $key ] ?? $default;
		if ( 'daily_cap' === $key ) {
			$value = is_numeric( $value ) ? max( 0, min( 1000000, (int) $value ) ) : $default;
		} elseif ( is_int( $default ) ) {
			$value = is_numeric( $value ) && (int) $value > 0 ? (int) $value : $default;
		} else {
			$value = is_string( $value ) ? $value : $default;
		}
		$options[ $key ] = $value;
	}

	// The bridge accepts 64–4096 pixels and a quality of 1–100.
	$options['width']          = max( 64, min( 4096, $options['width'] ) );
	$options['height']         = max( 64, min( 4096, $options['height'] ) );
	$options['quality']        = min( 100, $options['quality'] );
	$options['format']         = in_array( $options['format'], array( 'jpeg', 'webp', 'png' ), true ) ? $options['format'] : 'jpeg';
	$options['replaced_image'] = 'delete' === $options['replaced_image'] ? 'delete' : 'keep';

	$options['fallback_title_card'] = ! empty( $settings['fallback_title_card'] );

	return $options;
}

/**
 * Signs and sends the webhook for a post, then records the outcome in its meta.
 *
 * @param \WP_Post $post Post object.
 * @param string   $type Event type, see build_payload().
 * @return true|\WP_Error True when the bridge queued a job (or has one under way for the post).
 */
function send_webhook( \WP_Post $post, $type = 'post.published' ) {
	$settings = get_plugin_settings();
	$body     = wp_json_encode( build_payload( $post, $type ) );

	if ( false === $body ) {
		$error = new \WP_Error( 'fib_json', __( 'The post could not be encoded as JSON.', 'featured-image-bridge' ) );
		record_status( $post->ID, 'failed', $error->get_error_message() );
		return $error;
	}

	$signature_headers = signature_headers( $settings['secret'], $body );
	if ( is_wp_error( $signature_headers ) ) {
		record_status( $post->ID, 'failed', $signature_headers->get_error_message() );
		return $signature_headers;
	}

	// Not wp_safe_remote_post(): the admin-configured bridge usually lives on a loopback or private address.
	$response = wp_remote_post(
		$settings['bridge_url'] . '/webhook',
		array(
			'timeout'     => 3,
			'redirection' => 0,
			'user-agent'  => 'FeaturedImageBridge/' . FIB_VERSION . ' WordPress/' . get_bloginfo( 'version' ),
			'headers'     => array_merge( array( 'Content-Type' => 'application/json' ), $signature_headers ),
			'body'        => $body,
		)
	);

	return handle_response( $post->ID, $response, $settings['bridge_url'] );
}

/**
 * Interprets the bridge's answer and records it in the post's status meta.
 *
 * @param int             $post_id    Post ID.
 * @param array|\WP_Error $response   Result of wp_remote_post().
 * @param string          $bridge_url Bridge base URL, for messages.
 * @return true|\WP_Error
 */
function handle_response( $post_id, $response, $bridge_url ) {
	if ( is_wp_error( $response ) ) {
		$message = sprintf(
			/* translators: 1: bridge URL, 2: error message from the HTTP library. */
			__( 'Could not reach the bridge at %1$s: %2$s', 'featured-image-bridge' ),
			$bridge_url,
			$response->get_error_message()
		);
		defer_delivery( $post_id, $message );
		return new \WP_Error( 'fib_unreachable', $message );
	}

	$code = (int) wp_remote_retrieve_response_code( $response );
	$json = json_decode( wp_remote_retrieve_body( $response ), true );
	$json = is_array( $json ) ? $json : array();

	if ( $code >= 200 && $code < 300 ) {
		$job_id = isset( $json['job_id'] ) && is_scalar( $json['job_id'] ) ? (string) $json['job_id'] : '';
		if ( '' !== $job_id ) {
			// A fast worker may already have reported on this job: never step its status back.
			wp_cache_delete( $post_id, 'post_meta' );
			if ( get_post_meta( $post_id, '_fib_job_id', true ) !== $job_id ) {
				record_status( $post_id, 'queued', '', $job_id );
			}
			return true;
		}

		$message = sprintf(
			/* translators: %d: HTTP status code. */
			__( 'The bridge answered HTTP %d without a job id. Check the Bridge URL.', 'featured-image-bridge' ),
			$code
		);
		record_status( $post_id, 'failed', $message );
		return new \WP_Error( 'fib_no_job_id', $message );
	}

	$detail = isset( $json['message'] ) && is_string( $json['message'] ) && '' !== trim( $json['message'] )
		? $json['message']
		: (string) wp_remote_retrieve_response_message( $response );
	if ( '' === $detail ) {
		$detail = get_status_header_desc( $code );
	}

	$message = sprintf(
		/* translators: 1: HTTP status code, 2: explanation given by the bridge. */
		__( 'The bridge refused the request (HTTP %1$d): %2$s', 'featured-image-bridge' ),
		$code,
		$detail
	);
	if ( $code >= 500 ) {
		defer_delivery( $post_id, $message );
		return new \WP_Error( 'fib_refused', $message, array( 'status' => $code ) );
	}
	record_status( $post_id, 'failed', $message );

	return new \WP_Error( 'fib_refused', $message, array( 'status' => $code ) );
}

/**
 * Writes the generation status meta of a post.
 *
 * The post's meta is read once before the writes (each write empties the post's meta cache,
 * and a read after it costs a query), and a value that would not change is not written: the
 * same value, or '' for a key the post does not have (get_post_meta() reads '' either way).
 *
 * @param int    $post_id Post ID.
 * @param string $status  One of the statuses accepted by sanitize_status().
 * @param string $message Human-readable message, '' for none.
 * @param string $job_id  Bridge job id, '' for none.
 * @return void
 */
function record_status( $post_id, $status, $message, $job_id = '' ) {
	$fields = array(
		'_fib_status'  => $status,
		'_fib_message' => $message,
		'_fib_job_id'  => $job_id,
		'_fib_updated' => gmdate( 'Y-m-d\TH:i:s\Z' ),
	);
	$stored = get_post_meta( $post_id );
	$stored = is_array( $stored ) ? $stored : array();

	foreach ( $fields as $key => $value ) {
		$current = $stored[ $key ] ?? null;
		if ( null === $current ? '' === $value : array( $value ) === $current ) {
			continue;
		}
		// Slashed: the meta functions unslash their value, which would lose backslashes in messages.
		if ( null === $current ) {
			// Unique: the bridge may have written the key since the read; its value stands.
			add_post_meta( $post_id, $key, wp_slash( $value ), true );
		} else {
			update_post_meta( $post_id, $key, wp_slash( $value ) );
		}
	}
	if ( isset( $stored['_fib_error_kind'] ) ) {
		delete_post_meta( $post_id, '_fib_error_kind' );
	}
}
