/**
 * Featured Image Bridge: asks before a regenerate link replaces a featured
 * image that a person chose (links carry the question in data-fib-confirm).
 */
( function () {
	'use strict';

	document.addEventListener( 'click', function ( event ) {
		var link = event.target.closest ? event.target.closest( 'a[data-fib-confirm]' ) : null;
		if ( link && ! window.confirm( link.getAttribute( 'data-fib-confirm' ) ) ) {
			event.preventDefault();
		}
	} );
}() );
