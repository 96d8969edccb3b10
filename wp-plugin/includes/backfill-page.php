<?php
/**
 * Tools → Fill missing featured images: counts, dry run, start, and the
 * current run's progress with Pause / Resume / Cancel (assets/backfill.js).
 *
 * @package FeaturedImageBridge
 */

namespace FeaturedImageBridge;

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Slug of the Tools screen.
 */
const FIB_BACKFILL_SLUG = 'fib-backfill';

/**
 * Adds Tools → Fill missing featured images.
 *
 * @return void
 */
function add_backfill_page() {
	add_management_page(
		__( 'Fill missing featured images', 'featured-image-bridge' ),
		__( 'Fill missing images', 'featured-image-bridge' ),
		'edit_others_posts',
		FIB_BACKFILL_SLUG,
		__NAMESPACE__ . '\render_backfill_page'
	);
}

/**
 * URL of the Tools screen.
 *
 * @param array<string, string> $args Extra query arguments.
 * @return string
 */
function backfill_page_url( $args = array() ) {
	return add_query_arg( $args, admin_url( 'tools.php?page=' . FIB_BACKFILL_SLUG ) );
}

/**
 * Loads assets/backfill.js on the Tools screen only.
 *
 * @param string $hook_suffix Admin page hook.
 * @return void
 */
function enqueue_backfill_script( $hook_suffix ) {
	if ( 'tools_page_' . FIB_BACKFILL_SLUG !== $hook_suffix ) {
		return;
	}

	wp_enqueue_script( 'fib-backfill', plugins_url( 'assets/backfill.js', FIB_PLUGIN_FILE ), array(), FIB_VERSION, true );
	wp_localize_script(
		'fib-backfill',
		'fibBackfill',
		array(
			'ajaxUrl' => admin_url( 'admin-ajax.php' ),
			'states'  => array(
				'running'   => __( 'Running', 'featured-image-bridge' ),
				'paused'    => __( 'Paused', 'featured-image-bridge' ),
				'cancelled' => __( 'Cancelled', 'featured-image-bridge' ),
				'done'      => __( 'Finished', 'featured-image-bridge' ),
			),
			/* translators: 1: images done, 2: images failed, 3: images remaining, 4: total. */
			'progress' => __( '%1$s done, %2$s failed, %3$s remaining of %4$s', 'featured-image-bridge' ),
			'confirm'  => __( 'Cancel this run? Images already generated stay.', 'featured-image-bridge' ),
		)
	);
}

/**
 * Renders the Tools screen.
 *
 * @return void
 */
function render_backfill_page() {
	if ( ! can_backfill() ) {
		return;
	}

	$settings   = get_plugin_settings();
	$post_types = $settings['post_types'];
	$limit      = 0;
	$dry_run    = null;

	// The dry run changes nothing; its nonce only guards against forged links.
	if ( isset( $_GET['fib-dry-run'], $_GET['_wpnonce'] ) && wp_verify_nonce( sanitize_text_field( wp_unslash( $_GET['_wpnonce'] ) ), 'fib_backfill_dry_run' ) ) {
		$post_types = requested_post_types( isset( $_GET['post_types'] ) ? wp_unslash( $_GET['post_types'] ) : array() ); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- sanitized in requested_post_types().
		$limit      = isset( $_GET['limit'] ) ? absint( wp_unslash( $_GET['limit'] ) ) : 0;
		$dry_run    = backfill_dry_run( $post_types, $limit );
	}

	$labels = allowed_post_types();
	$run_id = current_run_id();
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only selects a fixed message.
	$notice = isset( $_GET['fib-notice'] ) ? sanitize_key( wp_unslash( $_GET['fib-notice'] ) ) : '';
	$error  = 'start-error' === $notice ? get_transient( 'fib_backfill_error_' . get_current_user_id() ) : false;
	?>
	<div class="wrap" id="fib-backfill">
		<h1><?php echo esc_html( get_admin_page_title() ); ?></h1>
		<?php if ( is_string( $error ) ) : ?>
			<div class="notice notice-error" id="fib-backfill-error"><p><?php echo esc_html( $error ); ?></p></div>
		<?php elseif ( 'started' === $notice ) : ?>
			<div class="notice notice-success is-dismissible" id="fib-backfill-started"><p><?php esc_html_e( 'The run has started. It goes on when you close this page.', 'featured-image-bridge' ); ?></p></div>
		<?php endif; ?>

		<h2><?php esc_html_e( 'Posts without a featured image', 'featured-image-bridge' ); ?></h2>
		<table class="widefat striped" id="fib-missing-counts" style="max-width: 50em">
			<thead>
				<tr>
					<th scope="col"><?php esc_html_e( 'Post type', 'featured-image-bridge' ); ?></th>
					<?php foreach ( counted_statuses() as $status_label ) : ?>
						<th scope="col"><?php echo esc_html( $status_label ); ?></th>
					<?php endforeach; ?>
				</tr>
			</thead>
			<tbody>
				<?php foreach ( missing_counts() as $post_type => $by_status ) : ?>
					<tr data-post-type="<?php echo esc_attr( $post_type ); ?>">
						<th scope="row"><?php echo esc_html( $labels[ $post_type ] ); ?></th>
						<?php foreach ( $by_status as $status => $count ) : ?>
							<td data-status="<?php echo esc_attr( $status ); ?>"><?php echo esc_html( number_format_i18n( $count ) ); ?></td>
						<?php endforeach; ?>
					</tr>
				<?php endforeach; ?>
			</tbody>
		</table>
		<p class="description"><?php esc_html_e( 'Not counted: posts that opted out, and posts whose generated image an editor removed. A run fills published posts only.', 'featured-image-bridge' ); ?></p>

		<?php if ( '' !== $run_id ) : ?>
			<?php render_run_panel( $run_id ); ?>
		<?php endif; ?>

		<h2><?php esc_html_e( 'Fill them', 'featured-image-bridge' ); ?></h2>
		<form method="get" action="<?php echo esc_url( admin_url( 'tools.php' ) ); ?>" id="fib-backfill-form">
			<input type="hidden" name="page" value="<?php echo esc_attr( FIB_BACKFILL_SLUG ); ?>" />
			<?php wp_nonce_field( 'fib_backfill_dry_run', '_wpnonce', false ); ?>
			<table class="form-table" role="presentation">
				<tr>
					<th scope="row"><?php esc_html_e( 'Post types', 'featured-image-bridge' ); ?></th>
					<td>
						<?php foreach ( $labels as $name => $label ) : ?>
							<label><input type="checkbox" name="post_types[]" value="<?php echo esc_attr( $name ); ?>" <?php checked( in_array( $name, $post_types, true ) ); ?> /> <?php echo esc_html( $label ); ?></label><br />
						<?php endforeach; ?>
					</td>
				</tr>
				<tr>
					<th scope="row"><label for="fib-limit"><?php esc_html_e( 'At most', 'featured-image-bridge' ); ?></label></th>
					<td>
						<input type="number" min="0" class="small-text" id="fib-limit" name="limit" value="<?php echo esc_attr( $limit > 0 ? (string) $limit : '' ); ?>" />
						<?php esc_html_e( 'posts (empty: all)', 'featured-image-bridge' ); ?>
					</td>
				</tr>
			</table>
			<p>
				<button type="submit" class="button" name="fib-dry-run" value="1" id="fib-dry-run"><?php esc_html_e( 'Dry run', 'featured-image-bridge' ); ?></button>
				<?php if ( null !== $dry_run && $dry_run['posts'] > 0 ) : ?>
					<button type="submit" class="button button-primary" id="fib-start" formmethod="post" formaction="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>"><?php esc_html_e( 'Start', 'featured-image-bridge' ); ?></button>
				<?php endif; ?>
			</p>
			<?php if ( null !== $dry_run ) : ?>
				<input type="hidden" name="action" value="fib_backfill_start" />
				<?php wp_nonce_field( 'fib_backfill_start', 'fib_start_nonce', false ); ?>
				<?php render_dry_run( $dry_run ); ?>
			<?php endif; ?>
		</form>
	</div>
	<?php
}

/**
 * Renders a dry run's result.
 *
 * @param array{posts: int, generations: int, cost: float, sample: array<int, array{post_id: int, title: string}>} $dry_run Result of backfill_dry_run().
 * @return void
 */
function render_dry_run( $dry_run ) {
	?>
	<div id="fib-dry-run-result" data-posts="<?php echo esc_attr( (string) $dry_run['posts'] ); ?>">
		<p>
			<?php
			echo esc_html(
				sprintf(
					/* translators: 1: number of posts, 2: number of image generations, 3: estimated cost. */
					_n( '%1$s post would get a featured image: %2$s generation, estimated cost %3$s.', '%1$s posts would get a featured image: %2$s generations, estimated cost %3$s.', $dry_run['posts'], 'featured-image-bridge' ),
					number_format_i18n( $dry_run['posts'] ),
					number_format_i18n( $dry_run['generations'] ),
					number_format_i18n( $dry_run['cost'], 2 )
				)
			);
			?>
		</p>
		<?php if ( array() !== $dry_run['sample'] ) : ?>
			<ol id="fib-dry-run-sample">
				<?php foreach ( $dry_run['sample'] as $item ) : ?>
					<li><?php echo esc_html( '' !== $item['title'] ? $item['title'] : __( '(no title)', 'featured-image-bridge' ) ); ?></li>
				<?php endforeach; ?>
			</ol>
			<?php if ( $dry_run['posts'] > count( $dry_run['sample'] ) ) : ?>
				<p class="description"><?php esc_html_e( '… and more.', 'featured-image-bridge' ); ?></p>
			<?php endif; ?>
		<?php endif; ?>
	</div>
	<?php
}

/**
 * Renders the current run's panel; assets/backfill.js fills it and keeps it current.
 *
 * @param string $run_id Run id.
 * @return void
 */
function render_run_panel( $run_id ) {
	?>
	<h2><?php esc_html_e( 'Current run', 'featured-image-bridge' ); ?></h2>
	<div id="fib-run" data-run="<?php echo esc_attr( $run_id ); ?>" data-nonce="<?php echo esc_attr( wp_create_nonce( 'fib_backfill_run_' . $run_id ) ); ?>" data-state="">
		<progress id="fib-run-bar" max="100" value="0" style="width: 100%; max-width: 50em; height: 1.5em" aria-label="<?php esc_attr_e( 'Progress of the run', 'featured-image-bridge' ); ?>"></progress>
		<p><strong id="fib-run-state"><?php esc_html_e( 'Loading…', 'featured-image-bridge' ); ?></strong> <span id="fib-run-percent"></span></p>
		<p id="fib-run-counts"></p>
		<p id="fib-run-error" class="notice notice-error inline hidden"></p>
		<p>
			<button type="button" class="button hidden" data-command="pause" id="fib-run-pause"><?php esc_html_e( 'Pause', 'featured-image-bridge' ); ?></button>
			<button type="button" class="button hidden" data-command="resume" id="fib-run-resume"><?php esc_html_e( 'Resume', 'featured-image-bridge' ); ?></button>
			<button type="button" class="button hidden" data-command="cancel" id="fib-run-cancel"><?php esc_html_e( 'Cancel', 'featured-image-bridge' ); ?></button>
		</p>
	</div>
	<?php
}
