/**
 * Featured Image Bridge: the "Featured image (AI)" panel of the block editor's
 * document sidebar. Shows the generation status, polls it while a job runs,
 * offers "Regenerate", and puts a finished image into the editor's own state
 * (core/editor editPost) so the Featured image panel shows it and a later save keeps it.
 *
 * Plain JavaScript against the wp.* globals; no build step.
 */
( function ( wp ) {
	'use strict';

	var el = wp.element.createElement;
	var useState = wp.element.useState;
	var useEffect = wp.element.useEffect;
	var useRef = wp.element.useRef;
	var useSelect = wp.data.useSelect;
	var useDispatch = wp.data.useDispatch;
	var __ = wp.i18n.__;
	var apiFetch = wp.apiFetch;
	var Button = wp.components.Button;
	var Spinner = wp.components.Spinner;
	var CheckboxControl = wp.components.CheckboxControl;
	var PluginDocumentSettingPanel = ( wp.editor && wp.editor.PluginDocumentSettingPanel ) ||
		wp.editPost.PluginDocumentSettingPanel;

	// Polls start fast (a local title card takes well under a second) and slow down to
	// every 3 s (a Segmind run takes 20–60 s).
	var POLL_FIRST_MS = 500;
	var POLL_GROWTH = 1.5;
	var POLL_MAX_MS = 3000;
	// A post waiting for credits or the daily cap waits minutes to hours: look now and then.
	var POLL_WAITING_MS = 30000;
	var RUNNING = [ 'queued', 'waiting', 'generating', 'uploading' ];
	var config = window.fibEditorPanel || { postTypes: [ 'post' ] };

	function statusLabel( status ) {
		switch ( status ) {
			case 'queued':
				return __( 'Queued', 'featured-image-bridge' );
			case 'waiting':
				return __( 'Waiting', 'featured-image-bridge' );
			case 'generating':
				return __( 'Generating…', 'featured-image-bridge' );
			case 'uploading':
				return __( 'Uploading…', 'featured-image-bridge' );
			case 'done':
				return __( 'Done', 'featured-image-bridge' );
			case 'failed':
				return __( 'Failed', 'featured-image-bridge' );
			default:
				return __( 'Not generated yet', 'featured-image-bridge' );
		}
	}

	function statusPath( postId, what ) {
		return '/fib/v1/posts/' + postId + '/' + what;
	}

	function FeaturedImagePanel() {
		var editor = useSelect( function ( select ) {
			var store = select( 'core/editor' );
			return {
				postId: store.getCurrentPostId(),
				postType: store.getCurrentPostType(),
				postStatus: store.getCurrentPostAttribute( 'status' ),
				featuredMedia: store.getEditedPostAttribute( 'featured_media' ) || 0,
				skip: !! ( store.getEditedPostAttribute( 'meta' ) || {} )._fib_skip,
				saving: store.isSavingPost() && ! store.isAutosavingPost(),
			};
		}, [] );
		var editPost = useDispatch( 'core/editor' ).editPost;

		var state = useState( null );
		var status = state[ 0 ];
		var setStatus = state[ 1 ];
		var busyState = useState( false );
		var busy = busyState[ 0 ];
		var setBusy = busyState[ 1 ];
		var errorState = useState( '' );
		var error = errorState[ 0 ];
		var setError = errorState[ 1 ];

		// The featured image the editor had when the current job started: a
		// finished job replaces only that one, never one a person picked since.
		var baseline = useRef( editor.featuredMedia );
		var wasSaving = useRef( false );
		var polls = useRef( 0 );

		function refresh() {
			return apiFetch( { path: statusPath( editor.postId, 'status' ) } ).then(
				function ( result ) {
					setStatus( result );
				},
				function ( err ) {
					setError( ( err && err.message ) || __( 'The status could not be read.', 'featured-image-bridge' ) );
				}
			);
		}

		useEffect( function () {
			if ( editor.postStatus !== 'auto-draft' ) {
				refresh();
			}
		}, [ editor.postId ] );

		// After a save (publishing sends the webhook), read the new status.
		useEffect( function () {
			if ( wasSaving.current && ! editor.saving ) {
				baseline.current = editor.featuredMedia;
				refresh();
			}
			wasSaving.current = editor.saving;
		}, [ editor.saving ] );

		// Poll while a job runs.
		var running = !! status && RUNNING.indexOf( status.status ) !== -1;
		useEffect( function () {
			if ( ! running ) {
				polls.current = 0;
				return undefined;
			}
			var delay = status.status === 'waiting' ? POLL_WAITING_MS :
				Math.min( POLL_MAX_MS, POLL_FIRST_MS * Math.pow( POLL_GROWTH, polls.current ) );
			polls.current += 1;
			var timer = window.setTimeout( refresh, delay );
			return function () {
				window.clearTimeout( timer );
			};
		}, [ status ] );

		// A finished job: show its image in the editor, unless a person chose another meanwhile.
		useEffect( function () {
			if ( ! status || status.status !== 'done' || ! status.generated || ! status.featured_media ) {
				return;
			}
			if ( status.featured_media !== editor.featuredMedia && editor.featuredMedia === baseline.current ) {
				baseline.current = status.featured_media;
				editPost( { featured_media: status.featured_media } );
			}
		}, [ status ] );

		function regenerate() {
			var current = editor.featuredMedia;
			var chosenByPerson = current && ! ( status && status.attachment_id === current );
			if ( chosenByPerson && ! window.confirm( config.confirm ) ) {
				return;
			}
			baseline.current = current;
			setBusy( true );
			setError( '' );
			apiFetch( { path: statusPath( editor.postId, 'regenerate' ), method: 'POST' } )
				.then(
					function ( result ) {
						setStatus( result );
					},
					function ( err ) {
						// A failed delivery answers 502 with the post's status, which holds the reason.
						if ( err && typeof err.status === 'string' ) {
							setStatus( err );
						} else {
							setError( ( err && err.message ) || __( 'The request failed.', 'featured-image-bridge' ) );
						}
					}
				)
				.then( function () {
					setBusy( false );
				} );
		}

		var unsaved = editor.postStatus === 'auto-draft';
		var code = status ? status.status : '';
		var children = [
			el(
				'p',
				{ key: 'status', className: 'fib-panel-status', 'data-status': code, 'aria-live': 'polite' },
				running ? el( Spinner, { key: 'spinner' } ) : null,
				el( 'strong', { key: 'label' }, statusLabel( code ) )
			),
		];
		if ( status && status.message ) {
			children.push( el( 'p', { key: 'message', className: 'fib-panel-message' }, status.message ) );
		}
		if ( error ) {
			children.push( el( 'p', { key: 'error', className: 'fib-panel-error' }, error ) );
		}
		if ( unsaved ) {
			children.push(
				el( 'p', { key: 'hint', className: 'description' }, __( 'Save the post to generate its featured image.', 'featured-image-bridge' ) )
			);
		}
		children.push(
			el(
				Button,
				{
					key: 'regenerate',
					variant: 'secondary',
					className: 'fib-panel-regenerate',
					isBusy: busy,
					disabled: busy || running || unsaved,
					onClick: regenerate,
				},
				__( 'Regenerate', 'featured-image-bridge' )
			)
		);

		// The per-post opt-out: saved with the post, like any other field of the editor.
		children.push(
			el( CheckboxControl, {
				key: 'skip',
				className: 'fib-panel-skip',
				label: __( 'Do not generate a featured image for this post', 'featured-image-bridge' ),
				checked: editor.skip,
				onChange: function ( checked ) {
					editPost( { meta: { _fib_skip: checked } } );
				},
			} )
		);

		return el(
			PluginDocumentSettingPanel,
			{
				name: 'fib-panel',
				title: __( 'Featured image (AI)', 'featured-image-bridge' ),
				className: 'fib-editor-panel',
			},
			children
		);
	}

	function Panel() {
		var postType = useSelect( function ( select ) {
			return select( 'core/editor' ).getCurrentPostType();
		}, [] );
		if ( config.postTypes.indexOf( postType ) === -1 ) {
			return null;
		}
		return el( FeaturedImagePanel );
	}

	wp.plugins.registerPlugin( 'featured-image-bridge', { render: Panel } );
}( window.wp ) );
