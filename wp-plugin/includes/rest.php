<?php
/**
 * The plugin's REST routes for the editors: regenerate a post's featured image
 * and read its generation status (the block editor panel polls it).
 *
 * POST fib/v1/posts/<id>/regenerate and GET fib/v1/posts/<id>/status, both
 * for users who can edit the post (cookie authentication needs the wp_rest nonce).
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Namespace of the plugin's REST routes.
 */
const FIB_REST_NAMESPACE = 'fib/v1';

/**
 * Registers the editor routes.
 *
 * @return void
 */
function register_post_routes() {
	$args = array(
		'id' => array(
			'description'       => __( 'Post ID.', 'featured-image-bridge' ),
			'type'              => 'integer',
			'minimum'           => 1,
			'required'          => true,
			'sanitize_callback' => 'absint',
		),
	);

	register_rest_route(
		FIB_REST_NAMESPACE,
		'/posts/(?P<id>\d+)/regenerate',
		array(
			'methods'             => \WP_REST_Server::CREATABLE,
			'callback'            => __NAMESPACE__ . '\rest_regenerate',
			'permission_callback' => __NAMESPACE__ . '\rest_can_edit_post',
			'args'                => $args,
		)
	);

	register_rest_route(
		FIB_REST_NAMESPACE,
		'/posts/(?P<id>\d+)/status',
		array(
			'methods'             => \WP_REST_Server::READABLE,
			'callback'            => __NAMESPACE__ . '\rest_status',
			'permission_callback' => __NAMESPACE__ . '\rest_can_edit_post',
			'args'                => $args,
		)
	);
}

/**
 * Permission callback: the post exists and the user may edit it.
 *
 * @param \WP_REST_Request $request Request.
 * @return true|\WP_Error
 */
function rest_can_edit_post( \WP_REST_Request $request ) {
	$post_id = (int) $request['id'];

	if ( ! get_post( $post_id ) instanceof \WP_Post ) {
		return new \WP_Error( 'rest_post_invalid_id', __( 'Invalid post ID.', 'featured-image-bridge' ), array( 'status' => 404 ) );
	}

	if ( ! current_user_can( 'edit_post', $post_id ) ) {
		return new \WP_Error(
			'rest_forbidden',
			__( 'Sorry, you are not allowed to change the featured image of this post.', 'featured-image-bridge' ),
			array( 'status' => rest_authorization_required_code() )
		);
	}

	return true;
}

/**
 * POST …/regenerate: asks the bridge for a new image and answers the new status.
 *
 * @param \WP_REST_Request $request Request.
 * @return \WP_REST_Response|\WP_Error
 */
function rest_regenerate( \WP_REST_Request $request ) {
	$post   = get_post( (int) $request['id'] );
	$result = regenerate_post( $post );

	if ( is_wp_error( $result ) && in_array( $result->get_error_code(), array_keys( regenerate_refusals() ), true ) ) {
		return $result;
	}

	// A failed delivery is recorded in the status, which the answer carries.
	$response = rest_ensure_response( post_generation_status( $post->ID ) );
	$response->set_status( is_wp_error( $result ) ? 502 : 202 );

	return $response;
}

/**
 * GET …/status: the generation status of a post.
 *
 * @param \WP_REST_Request $request Request.
 * @return \WP_REST_Response
 */
function rest_status( \WP_REST_Request $request ) {
	return rest_ensure_response( post_generation_status( (int) $request['id'] ) );
}

/**
 * The generation status of a post, as the editors' screens show it.
 *
 * @param int $post_id Post ID.
 * @return array<string, mixed>
 */
function post_generation_status( $post_id ) {
	wp_cache_delete( $post_id, 'post_meta' );
	$featured_media = (int) get_post_thumbnail_id( $post_id );
	$thumbnail      = $featured_media > 0 ? wp_get_attachment_image_url( $featured_media, 'medium' ) : false;

	return array(
		'post_id'        => (int) $post_id,
		'status'         => sanitize_status( get_post_meta( $post_id, '_fib_status', true ) ),
		'message'        => (string) get_post_meta( $post_id, '_fib_message', true ),
		'error_kind'     => sanitize_error_kind( get_post_meta( $post_id, '_fib_error_kind', true ) ),
		'job_id'         => (string) get_post_meta( $post_id, '_fib_job_id', true ),
		'updated'        => (string) get_post_meta( $post_id, '_fib_updated', true ),
		'featured_media' => $featured_media,
		'thumbnail_url'  => false === $thumbnail ? '' : $thumbnail,
		'attachment_id'  => (int) get_post_meta( $post_id, '_fib_attachment_id', true ),
		'generated'      => has_generated_image( $post_id ),
	);
}
