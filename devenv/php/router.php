<?php
/**
 * Router for `php -S` serving the devenv WordPress docroot.
 *
 * Existing files (and directories with an index.php, such as /wp-admin/) are
 * served by the built-in server itself; every other path goes to WordPress's
 * front controller so pretty permalinks and /wp-json/ work.
 */

$fib_devenv_docroot = rtrim( $_SERVER['DOCUMENT_ROOT'], '/' );
$fib_devenv_path    = rawurldecode( (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );

if ( '/' !== $fib_devenv_path && false === strpos( $fib_devenv_path, "\0" ) ) {
	$fib_devenv_file = $fib_devenv_docroot . $fib_devenv_path;
	if ( is_file( $fib_devenv_file ) ) {
		return false;
	}
	if ( is_dir( $fib_devenv_file ) && is_file( rtrim( $fib_devenv_file, '/' ) . '/index.php' ) ) {
		if ( '/' !== substr( $fib_devenv_path, -1 ) ) {
			// Same as Apache's mod_dir: /wp-admin -> /wp-admin/.
			$fib_devenv_query = isset( $_SERVER['QUERY_STRING'] ) && '' !== $_SERVER['QUERY_STRING']
				? '?' . $_SERVER['QUERY_STRING'] : '';
			header( 'Location: ' . $fib_devenv_path . '/' . $fib_devenv_query, true, 301 );
			return true;
		}
		return false;
	}
}

$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $fib_devenv_docroot . '/index.php';
chdir( $fib_devenv_docroot );
require $fib_devenv_docroot . '/index.php';
