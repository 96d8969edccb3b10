/**
 * Featured Image Bridge: keeps the classic editor's "Featured image (AI)" box
 * current while a job runs, and shows the finished image in the core Featured
 * image box (wp.media.featuredImage.set renders it and updates the form's
 * _thumbnail_id, so saving the form keeps it).
 */
( function ( wp ) {
	'use strict';

	var status = document.getElementById( 'fib-status' );
	if ( ! status || ! wp || ! wp.apiFetch ) {
		return;
	}

	var __ = wp.i18n.__;
	var RUNNING = [ 'queued', 'waiting', 'generating', 'uploading' ];
	var POLL_FIRST_MS = 500;
	var POLL_GROWTH = 1.5;
	var POLL_MAX_MS = 3000;
	var POLL_WAITING_MS = 30000;
	var postId = status.getAttribute( 'data-post-id' );
	var labels = {
		'': __( 'Not generated yet', 'featured-image-bridge' ),
		queued: __( 'Queued', 'featured-image-bridge' ),
		waiting: __( 'Waiting', 'featured-image-bridge' ),
		generating: __( 'Generating…', 'featured-image-bridge' ),
		uploading: __( 'Uploading…', 'featured-image-bridge' ),
		done: __( 'Done', 'featured-image-bridge' ),
		failed: __( 'Failed', 'featured-image-bridge' ),
	};

	function show( result ) {
		status.setAttribute( 'data-status', result.status );
		status.querySelector( 'strong' ).textContent = labels[ result.status ] || result.status;
		var message = document.getElementById( 'fib-message' );
		if ( message ) {
			message.textContent = result.message;
		}
	}

	function loadedThumbnail() {
		var field = document.getElementById( '_thumbnail_id' );
		return field ? parseInt( field.value, 10 ) : 0;
	}

	function poll( delay ) {
		window.setTimeout( function () {
			wp.apiFetch( { path: '/fib/v1/posts/' + postId + '/status' } ).then( function ( result ) {
				show( result );
				if ( RUNNING.indexOf( result.status ) !== -1 ) {
					poll( result.status === 'waiting' ? POLL_WAITING_MS : Math.min( POLL_MAX_MS, delay * POLL_GROWTH ) );
				} else if ( result.status === 'done' && result.generated &&
					result.featured_media !== loadedThumbnail() &&
					wp.media && wp.media.featuredImage ) {
					wp.media.featuredImage.set( result.featured_media );
				}
			} );
		}, delay );
	}

	if ( RUNNING.indexOf( status.getAttribute( 'data-status' ) ) !== -1 ) {
		poll( POLL_FIRST_MS );
	}
}( window.wp ) );
