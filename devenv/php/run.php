<?php
/**
 * Runs a PHP file with WordPress loaded, the way wp-cli's `eval-file` would.
 *
 * Usage: php run.php DOCROOT HOST CODE_FILE [PATH]
 *   DOCROOT    the WordPress docroot (contains wp-load.php)
 *   HOST       value for $_SERVER['HTTP_HOST'], e.g. 127.0.0.1:8080
 *   CODE_FILE  PHP file to run in the global scope once WordPress is loaded
 *   PATH       value for $_SERVER['REQUEST_URI'], default "/": on a subdirectory
 *              network, "/news/" loads the subsite at /news/
 */

if ( 'cli' !== PHP_SAPI || $argc < 4 ) {
	fwrite( STDERR, "usage: php run.php DOCROOT HOST CODE_FILE\n" );
	exit( 2 );
}

$fib_devenv_docroot   = rtrim( $argv[1], '/' );
$fib_devenv_host      = $argv[2];
$fib_devenv_code_file = $argv[3];

$_SERVER['HTTP_HOST']       = $fib_devenv_host;
$_SERVER['SERVER_NAME']     = preg_replace( '/:.*/', '', $fib_devenv_host );
$_SERVER['SERVER_PORT']     = (string) ( parse_url( 'http://' . $fib_devenv_host, PHP_URL_PORT ) ?: 80 );
$_SERVER['REQUEST_URI']     = $argv[4] ?? '/';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

// No cron spawning from command-line runs (wp-config only sets it if undefined).
define( 'DISABLE_WP_CRON', true );

chdir( $fib_devenv_docroot );
require $fib_devenv_docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/admin.php';

require $fib_devenv_code_file;
