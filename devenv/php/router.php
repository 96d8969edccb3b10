<?php
/**
 * Router for `php -S` serving the devenv WordPress docroot.
 *
 * Existing files (and directories with an index.php, such as /wp-admin/) are
 * served by the built-in server itself; every other path goes to WordPress's
 * front controller so pretty permalinks and /wp-json/ work.
 *
 * With FIB_DEVENV_MULTISITE set in the environment, the rules of a subdirectory
 * network's .htaccess apply too: /SITE/wp-admin, /SITE/wp-includes/...,
 * /SITE/wp-content/... and /SITE/anything.php are the same paths without the
 * /SITE prefix, with REQUEST_URI kept so WordPress still picks the subsite.
 */

$fib_devenv_docroot = rtrim( $_SERVER['DOCUMENT_ROOT'], '/' );
$fib_devenv_path    = rawurldecode( (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );
$fib_devenv_query   = isset( $_SERVER['QUERY_STRING'] ) && '' !== $_SERVER['QUERY_STRING']
	? '?' . $_SERVER['QUERY_STRING'] : '';

if ( '/' !== $fib_devenv_path && false === strpos( $fib_devenv_path, "\0" ) ) {
	$fib_devenv_file = $fib_devenv_docroot . $fib_devenv_path;
	if ( is_file( $fib_devenv_file ) ) {
		return false;
	}
	if ( is_dir( $fib_devenv_file ) && is_file( rtrim( $fib_devenv_file, '/' ) . '/index.php' ) ) {
		if ( '/' !== substr( $fib_devenv_path, -1 ) ) {
			// Same as Apache's mod_dir: /wp-admin -> /wp-admin/.
			header( 'Location: ' . $fib_devenv_path . '/' . $fib_devenv_query, true, 301 );
			return true;
		}
		return false;
	}

	if ( getenv( 'FIB_DEVENV_MULTISITE' ) && false === strpos( $fib_devenv_path, '..' ) ) {
		// RewriteRule ^([_0-9a-zA-Z-]+/)?wp-admin$ $1wp-admin/ [R=301,L]
		if ( preg_match( '#^/[_0-9a-zA-Z-]+/wp-admin$#', $fib_devenv_path ) ) {
			header( 'Location: ' . $fib_devenv_path . '/' . $fib_devenv_query, true, 301 );
			return true;
		}
		// RewriteRule ^([_0-9a-zA-Z-]+/)?(wp-(content|admin|includes).*) $2 [L]
		// RewriteRule ^([_0-9a-zA-Z-]+/)?(.*\.php)$ $2 [L]
		if ( preg_match( '#^/[_0-9a-zA-Z-]+(/wp-(?:content|admin|includes)(?:/.*)?|/.*\.php)$#', $fib_devenv_path, $fib_devenv_match ) ) {
			$fib_devenv_target = $fib_devenv_match[1];
			if ( is_dir( $fib_devenv_docroot . $fib_devenv_target ) ) {
				$fib_devenv_target = rtrim( $fib_devenv_target, '/' ) . '/index.php';
			}
			$fib_devenv_file = $fib_devenv_docroot . $fib_devenv_target;
			if ( is_file( $fib_devenv_file ) && '.php' === substr( $fib_devenv_file, -4 ) ) {
				$_SERVER['SCRIPT_NAME']     = $fib_devenv_target;
				$_SERVER['PHP_SELF']        = $fib_devenv_target;
				$_SERVER['SCRIPT_FILENAME'] = $fib_devenv_file;
				chdir( dirname( $fib_devenv_file ) );
				require $fib_devenv_file;
				return true;
			}
			if ( is_file( $fib_devenv_file ) ) {
				$fib_devenv_types = array(
					'css'   => 'text/css',
					'js'    => 'text/javascript',
					'json'  => 'application/json',
					'svg'   => 'image/svg+xml',
					'png'   => 'image/png',
					'gif'   => 'image/gif',
					'jpg'   => 'image/jpeg',
					'jpeg'  => 'image/jpeg',
					'webp'  => 'image/webp',
					'ico'   => 'image/x-icon',
					'woff'  => 'font/woff',
					'woff2' => 'font/woff2',
					'ttf'   => 'font/ttf',
					'eot'   => 'application/vnd.ms-fontobject',
					'txt'   => 'text/plain',
					'html'  => 'text/html',
				);
				$fib_devenv_ext   = strtolower( pathinfo( $fib_devenv_file, PATHINFO_EXTENSION ) );
				header( 'Content-Type: ' . ( $fib_devenv_types[ $fib_devenv_ext ] ?? 'application/octet-stream' ) );
				header( 'Content-Length: ' . filesize( $fib_devenv_file ) );
				readfile( $fib_devenv_file );
				return true;
			}
		}
	}
}

$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $fib_devenv_docroot . '/index.php';
chdir( $fib_devenv_docroot );
require $fib_devenv_docroot . '/index.php';
