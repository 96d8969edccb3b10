/**
 * Tools → Fill missing featured images: polls the current run through
 * admin-ajax (which signs GET /backfills/<id> for the bridge), draws the
 * progress bar, and sends Pause / Resume / Cancel.
 *
 * @package FeaturedImageBridge
 */
( function () {
	'use strict';

	var panel = document.getElementById( 'fib-run' );
	if ( ! panel || ! window.fibBackfill ) {
		return;
	}

	var settings = window.fibBackfill;
	var finished = [ 'done', 'cancelled' ];
	var timer = null;

	function format( template, values ) {
		return template.replace( /%(\d)\$s/g, function ( match, index ) {
			return String( values[ Number( index ) - 1 ] );
		} );
	}

	function byId( id ) {
		return document.getElementById( id );
	}

	// WordPress's .button and .notice styles override the hidden attribute; its .hidden class wins.
	function show( element, visible ) {
		element.classList.toggle( 'hidden', ! visible );
	}

	function showError( message ) {
		var box = byId( 'fib-run-error' );
		box.textContent = message || '';
		show( box, !! message );
	}

	function render( run ) {
		var total = run.total || 0;
		var handled = run.done + run.failed;
		var percent = total > 0 ? Math.floor( ( 100 * handled ) / total ) : ( run.state === 'done' ? 100 : 0 );

		panel.dataset.state = run.state;
		byId( 'fib-run-bar' ).value = percent;
		byId( 'fib-run-percent' ).textContent = percent + ' %';
		byId( 'fib-run-state' ).textContent = settings.states[ run.state ] || run.state;
		byId( 'fib-run-counts' ).textContent = format( settings.progress, [ run.done, run.failed, run.remaining, total ] );
		show( byId( 'fib-run-pause' ), run.state === 'running' );
		show( byId( 'fib-run-resume' ), run.state === 'paused' );
		show( byId( 'fib-run-cancel' ), finished.indexOf( run.state ) === -1 );
		if ( finished.indexOf( run.state ) !== -1 && byId( 'fib-backfill-started' ) ) {
			show( byId( 'fib-backfill-started' ), false );
		}
	}

	function request( action, method, extra ) {
		var params = new URLSearchParams( { action: action, run: panel.dataset.run, nonce: panel.dataset.nonce } );
		Object.keys( extra || {} ).forEach( function ( key ) {
			params.append( key, extra[ key ] );
		} );
		var init = { method: method, credentials: 'same-origin' };
		var url = settings.ajaxUrl;
		if ( method === 'GET' ) {
			url += '?' + params.toString();
		} else {
			init.body = params;
		}
		return fetch( url, init ).then( function ( response ) {
			return response.json();
		} ).then( function ( answer ) {
			if ( ! answer || ! answer.success ) {
				throw new Error( answer && answer.data && answer.data.message ? answer.data.message : 'Request failed' );
			}
			return answer.data;
		} );
	}

	function poll() {
		request( 'fib_backfill_status', 'GET' ).then( function ( run ) {
			showError( '' );
			render( run );
			if ( finished.indexOf( run.state ) === -1 ) {
				timer = window.setTimeout( poll, 2000 );
			}
		} ).catch( function ( error ) {
			showError( error.message );
			timer = window.setTimeout( poll, 5000 );
		} );
	}

	panel.addEventListener( 'click', function ( event ) {
		var command = event.target.dataset ? event.target.dataset.command : '';
		if ( ! command || ( command === 'cancel' && ! window.confirm( settings.confirm ) ) ) {
			return;
		}
		event.target.disabled = true;
		window.clearTimeout( timer );
		request( 'fib_backfill_control', 'POST', { command: command } ).then( function ( run ) {
			showError( '' );
			render( run );
		} ).catch( function ( error ) {
			showError( error.message );
		} ).then( function () {
			event.target.disabled = false;
			poll();
		} );
	} );

	poll();
}() );
