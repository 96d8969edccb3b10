<?php
/**
 * Installs WordPress into an empty database and creates the devenv users.
 *
 * Usage: php install.php DOCROOT CONFIG_JSON_FILE
 * The config holds: url, title, users (list of {login, password, email, role}),
 * app_password_name, permalink_structure, and optionally network: true to turn the
 * site into the main site of a subdirectory network (the caller then writes the
 * MULTISITE constants into wp-config.php). Prints a JSON object mapping each login
 * to {user_id, app_password}.
 */

if ( 'cli' !== PHP_SAPI || $argc < 3 ) {
	fwrite( STDERR, "usage: php install.php DOCROOT CONFIG_JSON_FILE\n" );
	exit( 2 );
}

$fib_install_docroot = rtrim( $argv[1], '/' );
$fib_install_config  = json_decode( file_get_contents( $argv[2] ), true );
if ( ! is_array( $fib_install_config ) ) {
	fwrite( STDERR, "cannot read config JSON from {$argv[2]}\n" );
	exit( 2 );
}

$fib_install_host = (string) parse_url( $fib_install_config['url'], PHP_URL_HOST );
$fib_install_port = parse_url( $fib_install_config['url'], PHP_URL_PORT );

$_SERVER['HTTP_HOST']       = $fib_install_host . ( $fib_install_port ? ':' . $fib_install_port : '' );
$_SERVER['SERVER_NAME']     = $fib_install_host;
$_SERVER['SERVER_PORT']     = (string) ( $fib_install_port ?: 80 );
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

define( 'WP_INSTALLING', true );
define( 'DISABLE_WP_CRON', true );

chdir( $fib_install_docroot );
require $fib_install_docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/user.php';

if ( is_blog_installed() ) {
	fwrite( STDERR, "WordPress is already installed in this database\n" );
	exit( 1 );
}

$fib_install_admin = $fib_install_config['users'][0];
$fib_install_result = wp_install(
	$fib_install_config['title'],
	$fib_install_admin['login'],
	$fib_install_admin['email'],
	true,
	'',
	wp_slash( $fib_install_admin['password'] )
);
if ( empty( $fib_install_result['user_id'] ) ) {
	fwrite( STDERR, "wp_install() did not create the admin user\n" );
	exit( 1 );
}

update_option( 'home', $fib_install_config['url'] );
update_option( 'siteurl', $fib_install_config['url'] );

global $wp_rewrite;
$wp_rewrite->set_permalink_structure( $fib_install_config['permalink_structure'] );
$wp_rewrite->flush_rules( false );

$fib_install_out = array();
foreach ( $fib_install_config['users'] as $fib_install_i => $fib_install_spec ) {
	if ( 0 === $fib_install_i ) {
		$fib_install_uid = (int) $fib_install_result['user_id'];
	} else {
		$fib_install_uid = wp_insert_user(
			array(
				'user_login' => $fib_install_spec['login'],
				'user_pass'  => $fib_install_spec['password'],
				'user_email' => $fib_install_spec['email'],
				'role'       => $fib_install_spec['role'],
			)
		);
		if ( is_wp_error( $fib_install_uid ) ) {
			fwrite( STDERR, "cannot create user {$fib_install_spec['login']}: " . $fib_install_uid->get_error_message() . "\n" );
			exit( 1 );
		}
	}
	$fib_install_app = WP_Application_Passwords::create_new_application_password(
		$fib_install_uid,
		array( 'name' => $fib_install_config['app_password_name'] )
	);
	if ( is_wp_error( $fib_install_app ) ) {
		fwrite( STDERR, "cannot create application password for {$fib_install_spec['login']}: " . $fib_install_app->get_error_message() . "\n" );
		exit( 1 );
	}
	$fib_install_out[ $fib_install_spec['login'] ] = array(
		'user_id'      => $fib_install_uid,
		'app_password' => $fib_install_app[0],
	);
}

if ( ! empty( $fib_install_config['network'] ) ) {
	// What wp-admin/network.php does, without its form: the network tables and the network
	// itself, whose domain keeps the port (WordPress matches HTTP_HOST with it).
	global $wpdb;
	foreach ( $wpdb->tables( 'ms_global' ) as $fib_install_table => $fib_install_prefixed ) {
		$wpdb->$fib_install_table = $fib_install_prefixed;
	}
	install_network();
	$fib_install_network = populate_network(
		1,
		$_SERVER['HTTP_HOST'],
		$fib_install_admin['email'],
		$fib_install_config['title'],
		'/',
		false
	);
	if ( is_wp_error( $fib_install_network ) ) {
		fwrite( STDERR, 'populate_network: ' . $fib_install_network->get_error_message() . "\n" );
		exit( 1 );
	}
	$wp_rewrite->set_permalink_structure( $fib_install_config['permalink_structure'] );
	$wp_rewrite->flush_rules( false );
}

// A marker line, so stray output from WordPress cannot break the parsing.
echo "\n@@FIB-DEVENV-RESULT@@" . wp_json_encode( $fib_install_out ) . "\n";
