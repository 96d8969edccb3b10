"""Extra users of the test WordPress: a role of choice, and one the REST API refuses."""

from __future__ import annotations

import json

from devenv.wordpress import LocalWordPress, WordPressUser

REST_BLOCKED_LOGIN = "xmlrpc-only"
_BLOCK_REST = f"""<?php
// Tests: the REST API refuses the user {REST_BLOCKED_LOGIN}, as a host that blocks it would.
add_filter(
\t'rest_authentication_errors',
\tfunction ( $result ) {{
\t\t$user = wp_get_current_user();
\t\tif ( $user->exists() && '{REST_BLOCKED_LOGIN}' === $user->user_login ) {{
\t\t\treturn new WP_Error( 'rest_blocked', 'REST is blocked.', array( 'status' => 403 ) );
\t\t}}
\t\treturn $result;
\t}},
\t99
);
"""


def add_user(site: LocalWordPress, login: str, role: str) -> WordPressUser:
    """A user with ``role`` (made if new) and a fresh Application Password."""
    out = site.php(
        f"$fib_user = get_user_by( 'login', '{login}' );\n"
        "$fib_id = $fib_user ? $fib_user->ID : wp_insert_user( array(\n"
        f"\t'user_login' => '{login}',\n"
        "\t'user_pass'  => wp_generate_password(),\n"
        f"\t'role'       => '{role}',\n"
        ") );\n"
        "WP_Application_Passwords::delete_all_application_passwords( $fib_id );\n"
        "list( $fib_password ) = WP_Application_Passwords::create_new_application_password("
        " $fib_id, array( 'name' => 'tests' ) );\n"
        "echo wp_json_encode( array( $fib_id, $fib_password ) );\n"
    )
    user_id, password = json.loads(out.strip().splitlines()[-1])
    return WordPressUser(login, "", str(password), int(user_id))


def rest_blocked_editor(site: LocalWordPress) -> WordPressUser:
    """An editor whom the REST API refuses (403), through a must-use plugin."""
    mu_plugins = site.docroot / "wp-content" / "mu-plugins"
    mu_plugins.mkdir(exist_ok=True)
    (mu_plugins / "fib-tests-block-rest.php").write_text(_BLOCK_REST)
    return add_user(site, REST_BLOCKED_LOGIN, "editor")
