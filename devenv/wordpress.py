"""A throwaway, real WordPress on 127.0.0.1 built from Debian's packages.

``LocalWordPress`` starts a private MariaDB (own datadir, socket and port), copies
``/usr/share/wordpress`` into a docroot, installs WordPress with a PHP script (there is no
wp-cli), creates an administrator and two editors with Application Passwords, optionally
installs and activates the Featured Image Bridge plugin, serves the site with
``php -S`` and takes a database snapshot that :meth:`LocalWordPress.reset` restores.

With ``subsites=("news", "sport")`` the site becomes the main site of a subdirectory
multisite network with those subsites (``/news/``, ``/sport/``), the plugin is
network-activated, and the editor and bridge users are editors of every subsite (their
Application Passwords work on each). :meth:`LocalWordPress.subsite` gives one subsite's
URL, PHP runner and plugin settings.

Everything lives under one root directory::

    root/
      db/            MariaDB datadir
      run/           mariadb.sock, mariadb.pid, php-server.pgid
      docroot/       the WordPress copy that php -S serves (a network's also has
                     wp-content/mu-plugins/devenv-network-port.php)
      logs/          mariadb.log, mariadb-install-db.log, php-server.log
      tmp/           PHP snippets run by LocalWordPress.php()
      snapshot.sql   database dump taken at the end of start()

Run ``python -m devenv.wordpress --root DIR`` for a site a human can click around in.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = [
    "DEBIAN_PACKAGES",
    "LocalWordPress",
    "MissingPackages",
    "PhpError",
    "Subsite",
    "PLUGIN_FILE",
    "PLUGIN_SLUG",
    "WordPressError",
    "WordPressUser",
    "check_packages",
    "free_port",
    "missing_packages",
]

#: Debian packages the harness needs (``apt-get install -y`` these).
DEBIAN_PACKAGES: tuple[str, ...] = (
    "wordpress",
    "wordpress-theme-twentytwentythree",
    "mariadb-server",
    "mariadb-client",
    "php-cli",
    "php-mysql",
    "php-gd",
    "php-xml",
    "php-curl",
    "php-mbstring",
    "php-intl",
)

#: Directory name of the plugin under wp-content/plugins, and its main file.
PLUGIN_SLUG = "featured-image-bridge"
PLUGIN_FILE = f"{PLUGIN_SLUG}/{PLUGIN_SLUG}.php"

WORDPRESS_SRC = Path("/usr/share/wordpress")
PHP_DIR = Path(__file__).resolve().parent / "php"
DB_NAME = "wordpress"
DB_USER = "wordpress"
PERMALINK_STRUCTURE = "/%postname%/"
APP_PASSWORD_NAME = "devenv"
PHP_SERVER_WORKERS = 4
# Options for every php process: room for uploads and image work, and no real mail.
PHP_INI = (
    "memory_limit=512M",
    "upload_max_filesize=64M",
    "post_max_size=64M",
    "sendmail_path=/bin/true",
    "log_errors=1",
)
# Subsite names: what wpmu_validate_blog_signup() accepts, minus the paths a subdirectory
# network reserves (get_subdirectory_reserved_names()).
_SUBSITE_NAME = re.compile(r"^[a-z0-9]+$")
_RESERVED_SUBSITE_NAMES = frozenset(
    {"page", "comments", "blog", "files", "feed", "wp-admin", "wp-content", "wp-includes"}
    | {"wp-json", "embed"}
)
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin.
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class WordPressError(RuntimeError):
    """A step of the local WordPress failed; the message names the step and shows log tails."""


class PhpError(WordPressError):
    """A PHP script run with WordPress loaded exited non-zero."""


class MissingPackages(WordPressError):
    """Debian packages the harness needs are not installed."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages: tuple[str, ...] = tuple(packages)
        super().__init__(
            "the local WordPress needs Debian packages that are missing: "
            + " ".join(self.packages)
            + "\ninstall them with: apt-get install -y "
            + " ".join(self.packages)
        )


@dataclass(frozen=True)
class WordPressUser:
    """A WordPress account of the local site."""

    login: str
    password: str
    #: Application Password, usable for REST and XML-RPC basic auth.
    app_password: str
    user_id: int

    @property
    def auth(self) -> tuple[str, str]:
        """``(login, app_password)``, ready for ``httpx``'s ``auth=``."""
        return (self.login, self.app_password)


# --------------------------------------------------------------------------- packages


def _which(name: str) -> str | None:
    path = os.environ.get("PATH", os.defpath) + os.pathsep + os.pathsep.join(_SBIN_DIRS)
    return shutil.which(name, path=path)


def _require_binary(name: str) -> str:
    found = _which(name)
    if found is None:
        raise MissingPackages(_BINARY_PACKAGES.get(name, (name,)))
    return found


_BINARY_PACKAGES: dict[str, tuple[str, ...]] = {
    "mariadbd": ("mariadb-server",),
    "mariadb-install-db": ("mariadb-server",),
    "mariadb": ("mariadb-client",),
    "mariadb-dump": ("mariadb-client",),
    "php": ("php-cli",),
}

# PHP extension -> Debian package providing it.
_PHP_EXTENSIONS: dict[str, str] = {
    "mysqli": "php-mysql",
    "gd": "php-gd",
    "dom": "php-xml",
    "xml": "php-xml",
    "simplexml": "php-xml",
    "xmlreader": "php-xml",
    "curl": "php-curl",
    "mbstring": "php-mbstring",
    "intl": "php-intl",
}


def missing_packages() -> list[str]:
    """Debian packages (from :data:`DEBIAN_PACKAGES`) whose files or binaries are absent."""
    missing: set[str] = set()
    if not (WORDPRESS_SRC / "wp-load.php").is_file():
        missing.add("wordpress")
    if not (WORDPRESS_SRC / "wp-content/themes/twentytwentythree/style.css").is_file():
        missing.add("wordpress-theme-twentytwentythree")
    for binary, packages in _BINARY_PACKAGES.items():
        if _which(binary) is None:
            missing.update(packages)
    php = _which("php")
    if php is None:
        missing.update(_PHP_EXTENSIONS.values())
    else:
        try:
            out = subprocess.run(
                [php, "-r", "echo json_encode(get_loaded_extensions());"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
            loaded = {str(ext).lower() for ext in json.loads(out)}
        except (OSError, subprocess.SubprocessError, ValueError):
            loaded = set()
        missing.update(pkg for ext, pkg in _PHP_EXTENSIONS.items() if ext not in loaded)
    return [p for p in DEBIAN_PACKAGES if p in missing]


def check_packages() -> None:
    """Raise :class:`MissingPackages` naming every missing Debian package."""
    missing = missing_packages()
    if missing:
        raise MissingPackages(missing)


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(empty)"


def _with_logs(message: str, *logs: Path) -> str:
    parts = [message]
    for log in logs:
        parts.append(f"--- last lines of {log} ---\n{_tail(log)}")
    return "\n".join(parts)


def _php_string(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def _process_group_alive(pgid: int) -> bool:
    """True while a non-zombie process of the group exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Orphaned workers may linger as zombies if nothing reaps them; those do not count.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _stop_group(pgid: int, timeout: float = 10.0) -> None:
    """SIGTERM a process group, then SIGKILL whatever is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        if _wait_for(lambda: not _process_group_alive(pgid), timeout):
            return


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return raw.replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------- the site


class Subsite:
    """One subsite of a :class:`LocalWordPress` network, e.g. ``http://127.0.0.1:PORT/news``.

    It answers like a single site where the tests need one: ``url``, ``rest_url``, the
    network's users (``admin`` is a super admin, ``editor`` and ``bridge`` are editors here),
    :meth:`php` run in this subsite, and its own plugin settings.
    """

    def __init__(self, network: LocalWordPress, name: str, blog_id: int) -> None:
        self.network = network
        self.name = name
        self.blog_id = blog_id

    def __repr__(self) -> str:
        return f"Subsite({self.name!r}, blog_id={self.blog_id})"

    @property
    def path(self) -> str:
        """``/NAME/``: the subsite's path, as WordPress stores it."""
        return f"/{self.name}/"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/NAME`` (no trailing slash): its home and site URL."""
        return f"{self.network.url}/{self.name}"

    @property
    def rest_url(self) -> str:
        """``{url}/wp-json`` (no trailing slash)."""
        return f"{self.url}/wp-json"

    @property
    def uploads_dir(self) -> Path:
        """``wp-content/uploads/sites/BLOG_ID`` of the docroot."""
        return self.network.uploads_dir / "sites" / str(self.blog_id)

    @property
    def admin(self) -> WordPressUser:
        """The network's super admin."""
        return self.network.admin

    @property
    def editor(self) -> WordPressUser:
        """The network's ``editor``, an editor of this subsite."""
        return self.network.editor

    @property
    def bridge(self) -> WordPressUser:
        """The network's ``bridge``, an editor of this subsite."""
        return self.network.bridge

    def php(self, code: str, *, timeout: float = 120) -> str:
        """:meth:`LocalWordPress.php`, with this subsite as the current site."""
        return self.network.php(code, timeout=timeout, path=self.path)

    def plugin_settings(self) -> dict[str, object]:
        """This subsite's ``fib_settings`` option (``{}`` if unset)."""
        return self.network.plugin_settings(path=self.path)

    def update_plugin_settings(self, **changes: object) -> dict[str, object]:
        """Merge ``changes`` into this subsite's ``fib_settings``; return the stored result."""
        return self.network.update_plugin_settings(path=self.path, **changes)


class LocalWordPress:
    """A throwaway WordPress on 127.0.0.1: private MariaDB, copied docroot, php -S.

    ``root`` is created if needed and reused: ``start()`` wipes what an earlier run left there
    (and stops its servers, should they still be running). ``plugin_dir``, if given, is copied
    to ``wp-content/plugins/featured-image-bridge`` and ``featured-image-bridge.php`` in it is
    activated. ``port`` is the HTTP port (a free one by default). ``server_ini`` adds php.ini
    settings to the ``php -S`` server only, e.g. ``("opcache.enable_cli=1",)`` to serve requests
    with opcache as php-fpm and mod_php do (the CLI turns it off).

    ``subsites`` (names of lowercase letters and digits) makes a subdirectory multisite
    network: the site is its main site, each name a subsite at ``/NAME/``, the plugin is
    network-activated, and ``editor`` and ``bridge`` are editors of every subsite.
    """

    def __init__(
        self,
        root: Path,
        *,
        plugin_dir: Path | None = None,
        port: int | None = None,
        title: str = "Featured Image Bridge demo",
        server_ini: Sequence[str] = (),
        subsites: Sequence[str] = (),
    ) -> None:
        for name in subsites:
            if not _SUBSITE_NAME.match(name) or name in _RESERVED_SUBSITE_NAMES:
                raise WordPressError(
                    f"subsite name {name!r}: use lowercase letters and digits, and none of "
                    + ", ".join(sorted(_RESERVED_SUBSITE_NAMES))
                )
        if len(set(subsites)) != len(subsites):
            raise WordPressError(f"subsite names repeat: {list(subsites)}")
        self.subsite_names: tuple[str, ...] = tuple(subsites)
        self.root = Path(root).resolve()
        self.plugin_dir = None if plugin_dir is None else Path(plugin_dir).resolve()
        self.title = title
        self.server_ini = tuple(server_ini)
        self.docroot = self.root / "docroot"
        self.logs_dir = self.root / "logs"
        self.snapshot_path = self.root / "snapshot.sql"
        self._datadir = self.root / "db"
        self._rundir = self.root / "run"
        self._tmpdir = self.root / "tmp"
        self._requested_port = port
        self._port: int | None = None
        self._db_port: int | None = None
        self._db_password = secrets.token_urlsafe(16)
        self._socket_dir: Path | None = None  # only when root is too deep for a unix socket
        self._db_proc: subprocess.Popen[bytes] | None = None
        self._php_proc: subprocess.Popen[bytes] | None = None
        self._php_pgid: int | None = None
        self._users: dict[str, WordPressUser] = {}
        self._subsites: dict[str, Subsite] = {}
        self._network_config = False  # wp-config.php has the MULTISITE constants
        self._salts: dict[str, str] = {}
        self._started = False
        self._atexit_registered = False

    # ------------------------------------------------------------------ public attributes

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash); valid once ``start()`` has begun."""
        if self._port is None:
            raise WordPressError("LocalWordPress.url is known only after start()")
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        """The HTTP port of the site."""
        if self._port is None:
            raise WordPressError("LocalWordPress.port is known only after start()")
        return self._port

    @property
    def rest_url(self) -> str:
        """``{url}/wp-json`` (no trailing slash)."""
        return f"{self.url}/wp-json"

    @property
    def db_port(self) -> int:
        """TCP port of the private MariaDB on 127.0.0.1."""
        if self._db_port is None:
            raise WordPressError("LocalWordPress.db_port is known only after start()")
        return self._db_port

    @property
    def db_socket(self) -> Path:
        """Unix socket of the private MariaDB."""
        return (self._socket_dir or self._rundir) / "mariadb.sock"

    @property
    def uploads_dir(self) -> Path:
        """``wp-content/uploads`` of the docroot."""
        return self.docroot / "wp-content" / "uploads"

    @property
    def admin(self) -> WordPressUser:
        """The administrator, login ``admin``."""
        return self._user("admin")

    @property
    def editor(self) -> WordPressUser:
        """An editor, login ``editor``: tests publish posts as this user."""
        return self._user("editor")

    @property
    def bridge(self) -> WordPressUser:
        """An editor, login ``bridge``: the bridge service authenticates as this user."""
        return self._user("bridge")

    @property
    def multisite(self) -> bool:
        """True for a network (``subsites`` given)."""
        return bool(self.subsite_names)

    @property
    def subsites(self) -> tuple[Subsite, ...]:
        """The subsites, in the order given; ``()`` for a single site."""
        return tuple(self.subsite(name) for name in self.subsite_names)

    def subsite(self, name: str) -> Subsite:
        """The subsite at ``/name/``; known once ``start()`` has created it."""
        try:
            return self._subsites[name]
        except KeyError:
            raise WordPressError(f"no subsite {name!r} (subsites: {self.subsite_names})") from None

    @property
    def running(self) -> bool:
        """True between a successful ``start()`` and ``stop()``."""
        return self._started

    def _user(self, login: str) -> WordPressUser:
        try:
            return self._users[login]
        except KeyError:
            raise WordPressError(f"user {login!r} exists only after start()") from None

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> LocalWordPress:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Check packages, start MariaDB, build the docroot, install WordPress, activate the
        plugin, serve the site and take the snapshot that :meth:`reset` restores.

        On failure everything started so far is stopped again and :class:`WordPressError`
        (or :class:`MissingPackages`) says which step failed, with the tail of its log.
        """
        if self._started:
            raise WordPressError("LocalWordPress.start() called twice")
        check_packages()
        if self.plugin_dir is not None and not (self.plugin_dir / f"{PLUGIN_SLUG}.php").is_file():
            raise WordPressError(
                f"plugin_dir {self.plugin_dir} has no {PLUGIN_SLUG}.php to activate"
            )
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            self._prepare_root()
            self._port = self._requested_port or free_port()
            self._start_mariadb()
            self._build_docroot()
            self._install()
            if self.multisite:
                self._make_network()
            if self.plugin_dir is not None:
                self._install_plugin(self.plugin_dir)
            self._start_php_server()
            self._snapshot()
        except BaseException:
            self.stop()
            raise
        self._started = True

    def stop(self) -> None:
        """Stop the PHP server (its whole process group) and MariaDB. Safe to call twice."""
        self._started = False
        if self._php_pgid is not None:
            _stop_group(self._php_pgid)
            self._php_pgid = None
        if self._php_proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._php_proc.wait(timeout=5)
            self._php_proc = None
        with contextlib.suppress(FileNotFoundError):
            (self._rundir / "php-server.pgid").unlink()
        if self._db_proc is not None:
            proc = self._db_proc
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    _stop_group(proc.pid, timeout=5)
                    proc.wait(timeout=10)
            self._db_proc = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        if self._atexit_registered:
            atexit.unregister(self.stop)
            self._atexit_registered = False

    def reset(self) -> None:
        """Restore the database snapshot taken at the end of ``start()`` and empty uploads."""
        self._require_started()
        with self.snapshot_path.open("rb") as dump:
            result = subprocess.run(
                [*self._mariadb_client("mariadb"), DB_NAME],
                stdin=dump,
                capture_output=True,
                timeout=120,
            )
        if result.returncode != 0:
            raise WordPressError(
                "reset: restoring the snapshot failed:\n" + result.stderr.decode(errors="replace")
            )
        if self.uploads_dir.exists():
            for entry in self.uploads_dir.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        else:
            self.uploads_dir.mkdir(parents=True)

    # ------------------------------------------------------------------ PHP

    def php(self, code: str, *, timeout: float = 120, path: str = "/") -> str:
        """Run PHP ``code`` with WordPress loaded (wp-load.php plus wp-admin/includes/admin.php)
        in the docroot with php-cli, in the global scope; return its stdout.

        ``path`` is the request path WordPress sees: on a network, a subsite's path makes that
        subsite the current site (see :meth:`Subsite.php`). ``code`` may start with
        ``<?php``. Raises :class:`PhpError` with stderr and stdout if php exits non-zero (an
        uncaught exception or fatal error exits 255).
        """
        if self._port is None or not (self.docroot / "wp-config.php").is_file():
            raise WordPressError("LocalWordPress.php() needs a started site")
        return self._run_php_code(code, timeout=timeout, path=path)

    def plugin_settings(self, *, path: str = "/") -> dict[str, object]:
        """The plugin's ``fib_settings`` option (``{}`` if unset) of the site at ``path``."""
        out = self.php(
            "$fib_devenv_value = get_option( 'fib_settings', array() );\n"
            "echo wp_json_encode( is_array( $fib_devenv_value ) ? (object) $fib_devenv_value"
            " : new stdClass() );\n",
            path=path,
        )
        return self._decode_settings(out)

    def update_plugin_settings(self, *, path: str = "/", **changes: object) -> dict[str, object]:
        """Merge ``changes`` into ``fib_settings`` of the site at ``path`` (values travel as
        JSON) and return the stored result."""
        payload = base64.b64encode(json.dumps(changes).encode()).decode()
        out = self.php(
            f"$fib_devenv_changes = json_decode( base64_decode( '{payload}' ), true );\n"
            "$fib_devenv_value = get_option( 'fib_settings', array() );\n"
            "if ( ! is_array( $fib_devenv_value ) ) { $fib_devenv_value = array(); }\n"
            "update_option( 'fib_settings', array_merge( $fib_devenv_value,"
            " $fib_devenv_changes ) );\n"
            "$fib_devenv_value = get_option( 'fib_settings', array() );\n"
            "echo wp_json_encode( is_array( $fib_devenv_value ) ? (object) $fib_devenv_value"
            " : new stdClass() );\n",
            path=path,
        )
        return self._decode_settings(out)

    @staticmethod
    def _decode_settings(out: str) -> dict[str, object]:
        try:
            value = json.loads(out.strip().splitlines()[-1] if out.strip() else "{}")
        except ValueError as exc:
            raise PhpError(f"fib_settings is not JSON: {out!r}") from exc
        if not isinstance(value, dict):
            raise PhpError(f"fib_settings is not an object: {out!r}")
        return {str(k): v for k, v in value.items()}

    def _php_command(self, script: Path, *args: str) -> list[str]:
        cmd = [_require_binary("php")]
        for setting in PHP_INI:
            cmd += ["-d", setting]
        return [*cmd, str(script), *args]

    def _run_php_code(self, code: str, *, timeout: float, path: str = "/") -> str:
        body = code.lstrip()
        if body.startswith("<?php"):
            body = body[len("<?php") :]
        self._tmpdir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="snippet-", suffix=".php", dir=self._tmpdir)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write("<?php\n" + body + "\n")
            cmd = self._php_command(
                PHP_DIR / "run.php", str(self.docroot), f"127.0.0.1:{self._port}", name, path
            )
            result = subprocess.run(
                cmd, cwd=self.docroot, capture_output=True, text=True, timeout=timeout
            )
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        if result.returncode != 0:
            raise PhpError(
                f"php exited {result.returncode}\n--- stderr ---\n{result.stderr.strip()}"
                f"\n--- stdout ---\n{result.stdout.strip()}\n--- code ---\n{body.strip()}"
            )
        return result.stdout

    # ------------------------------------------------------------------ steps of start()

    def _require_started(self) -> None:
        if not self._started:
            raise WordPressError("the local WordPress is not running (call start() first)")

    def _prepare_root(self) -> None:
        """Create the layout under root, stopping servers an earlier run may have left."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._kill_stale()
        for path in (self._datadir, self.docroot, self._rundir, self._tmpdir):
            if path.exists():
                shutil.rmtree(path)
        with contextlib.suppress(FileNotFoundError):
            self.snapshot_path.unlink()
        self.logs_dir.mkdir(exist_ok=True)
        for log in self.logs_dir.iterdir():
            if log.is_file():
                log.unlink()
        self._rundir.mkdir()
        self._tmpdir.mkdir()
        if len(str(self._rundir / "mariadb.sock")) > _SOCKET_PATH_MAX:
            self._socket_dir = Path(tempfile.mkdtemp(prefix="fib-wp-"))

    def _kill_stale(self) -> None:
        pgid_file = self._rundir / "php-server.pgid"
        with contextlib.suppress(OSError, ValueError):
            pgid = int(pgid_file.read_text().strip())
            if str(self.docroot) in _cmdline(pgid):
                _stop_group(pgid)
        pid_file = self._rundir / "mariadb.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().strip())
            if str(self._datadir) in _cmdline(pid):
                os.kill(pid, signal.SIGTERM)
                if not _wait_for(lambda: not _cmdline(pid), 60):
                    os.kill(pid, signal.SIGKILL)
                    _wait_for(lambda: not _cmdline(pid), 10)

    def _mariadb_client(self, name: str, *, user: str = "root") -> list[str]:
        return [
            _require_binary(name),
            "--no-defaults",
            f"--socket={self.db_socket}",
            f"--user={user}",
        ]

    def _start_mariadb(self) -> None:
        install_log = self.logs_dir / "mariadb-install-db.log"
        error_log = self.logs_dir / "mariadb.log"
        # --tmpdir: MariaDBs installing side by side in /tmp trip over each other's files.
        with install_log.open("wb") as log:
            result = subprocess.run(
                [
                    _require_binary("mariadb-install-db"),
                    "--no-defaults",
                    "--user=root",
                    f"--datadir={self._datadir}",
                    f"--tmpdir={self._tmpdir}",
                    "--auth-root-authentication-method=socket",
                    "--skip-test-db",
                    "--skip-name-resolve",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=300,
            )
        if result.returncode != 0:
            raise WordPressError(
                _with_logs("start: mariadb-install-db failed", install_log, error_log)
            )
        self._db_port = free_port()
        self._db_proc = subprocess.Popen(
            [
                _require_binary("mariadbd"),
                "--no-defaults",
                "--user=root",
                f"--datadir={self._datadir}",
                f"--tmpdir={self._tmpdir}",
                f"--socket={self.db_socket}",
                f"--port={self._db_port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self._rundir / 'mariadb.pid'}",
                f"--log-error={error_log}",
                "--skip-name-resolve",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--innodb-buffer-pool-size=128M",
                "--innodb-log-file-size=48M",
                "--innodb-flush-log-at-trx-commit=2",
                "--innodb-doublewrite=0",
                "--skip-log-bin",
                "--max-connections=100",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def ready() -> bool:
            if self._db_proc is not None and self._db_proc.poll() is not None:
                raise WordPressError(
                    _with_logs(
                        f"start: mariadbd exited with code {self._db_proc.returncode}",
                        error_log,
                    )
                )
            if not self.db_socket.exists():
                return False
            probe = subprocess.run(
                [*self._mariadb_client("mariadb"), "-e", "SELECT 1"],
                capture_output=True,
                timeout=30,
            )
            return probe.returncode == 0

        if not _wait_for(ready, timeout=60, interval=0.1):
            raise WordPressError(
                _with_logs("start: mariadbd did not accept connections in 60 s", error_log)
            )
        sql = (
            f"CREATE DATABASE `{DB_NAME}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n"
            f"CREATE USER '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{self._db_password}';\n"
            f"CREATE USER '{DB_USER}'@'localhost' IDENTIFIED BY '{self._db_password}';\n"
            f"GRANT ALL ON `{DB_NAME}`.* TO '{DB_USER}'@'127.0.0.1';\n"
            f"GRANT ALL ON `{DB_NAME}`.* TO '{DB_USER}'@'localhost';\n"
        )
        result = subprocess.run(
            self._mariadb_client("mariadb"), input=sql.encode(), capture_output=True, timeout=60
        )
        if result.returncode != 0:
            raise WordPressError(
                _with_logs(
                    "start: creating the database failed: "
                    + result.stderr.decode(errors="replace"),
                    error_log,
                )
            )

    def _build_docroot(self) -> None:
        # Debian's tree has relative symlinks into /usr/share/javascript etc.: follow them
        # (like cp -rL) so the copy stands alone. Its .htaccess and wp-config.php (which reads
        # /etc/wordpress) are left out; a plain wp-config.php is written instead.
        def ignore(directory: str, names: list[str]) -> set[str]:
            if Path(directory) == WORDPRESS_SRC:
                return {".htaccess", "wp-config.php"} & set(names)
            return set()

        try:
            shutil.copytree(WORDPRESS_SRC, self.docroot, symlinks=False, ignore=ignore)
        except (OSError, shutil.Error) as exc:
            raise WordPressError(f"start: copying {WORDPRESS_SRC} failed: {exc}") from exc
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self._salts.clear()
        self._network_config = False
        (self.docroot / "wp-config.php").write_text(self._wp_config())

    def _wp_config(self) -> str:
        def define(name: str, value: str | bool | int) -> str:
            if isinstance(value, bool):
                literal = "true" if value else "false"
            elif isinstance(value, int):
                literal = str(value)
            else:
                literal = _php_string(value)
            return f"define( '{name}', {literal} );"

        salt_names = [
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        ]
        for name in salt_names:
            self._salts.setdefault(name, secrets.token_urlsafe(48))
        if self.multisite:
            # WP_HOME and WP_SITEURL would give every subsite the main site's URL.
            urls = [define("WP_ALLOW_MULTISITE", True)]
            if self._network_config:
                urls += [
                    define("MULTISITE", True),
                    define("SUBDOMAIN_INSTALL", False),
                    define("DOMAIN_CURRENT_SITE", f"127.0.0.1:{self.port}"),
                    define("PATH_CURRENT_SITE", "/"),
                    define("SITE_ID_CURRENT_SITE", 1),
                    define("BLOG_ID_CURRENT_SITE", 1),
                ]
        else:
            urls = [define("WP_HOME", self.url), define("WP_SITEURL", self.url)]
        lines = [
            "<?php",
            "/* Written by devenv/wordpress.py for a throwaway local site. */",
            define("DB_NAME", DB_NAME),
            define("DB_USER", DB_USER),
            define("DB_PASSWORD", self._db_password),
            define("DB_HOST", f"127.0.0.1:{self.db_port}"),
            define("DB_CHARSET", "utf8mb4"),
            define("DB_COLLATE", ""),
            *(define(name, value) for name, value in self._salts.items()),
            "$table_prefix = 'wp_';",
            *urls,
            define("WP_ENVIRONMENT_TYPE", "local"),
            define("WP_DEBUG", False),
            "if ( ! defined( 'DISABLE_WP_CRON' ) ) {",
            "\t" + define("DISABLE_WP_CRON", False),
            "}",
            define("WP_HTTP_BLOCK_EXTERNAL", True),
            define("WP_ACCESSIBLE_HOSTS", "127.0.0.1,localhost"),
            define("FS_METHOD", "direct"),
            define("AUTOMATIC_UPDATER_DISABLED", True),
            define("WP_AUTO_UPDATE_CORE", False),
            "if ( ! defined( 'ABSPATH' ) ) {",
            "\tdefine( 'ABSPATH', __DIR__ . '/' );",
            "}",
            "require_once ABSPATH . 'wp-settings.php';",
            "",
        ]
        return "\n".join(lines)

    def _install(self) -> None:
        users = [
            ("admin", "administrator"),
            ("editor", "editor"),
            ("bridge", "editor"),
        ]
        passwords = {login: secrets.token_urlsafe(12) for login, _ in users}
        config = {
            "url": self.url,
            "title": self.title,
            "permalink_structure": PERMALINK_STRUCTURE,
            "app_password_name": APP_PASSWORD_NAME,
            "network": self.multisite,
            "users": [
                {
                    "login": login,
                    "password": passwords[login],
                    "email": f"{login}@example.com",
                    "role": role,
                }
                for login, role in users
            ],
        }
        config_path = self._tmpdir / "install.json"
        config_path.write_text(json.dumps(config))
        try:
            result = subprocess.run(
                self._php_command(PHP_DIR / "install.php", str(self.docroot), str(config_path)),
                cwd=self.docroot,
                capture_output=True,
                text=True,
                timeout=300,
            )
        finally:
            config_path.unlink()
        marker = "@@FIB-DEVENV-RESULT@@"
        lines = [ln for ln in result.stdout.splitlines() if ln.startswith(marker)]
        if result.returncode != 0 or not lines:
            raise WordPressError(
                f"start: installing WordPress (php install.php) failed, exit {result.returncode}"
                f"\n--- stderr ---\n{result.stderr.strip()}\n--- stdout ---\n"
                f"{result.stdout.strip()}"
            )
        created = json.loads(lines[-1][len(marker) :])
        self._users = {
            login: WordPressUser(
                login=login,
                password=passwords[login],
                app_password=str(created[login]["app_password"]),
                user_id=int(created[login]["user_id"]),
            )
            for login, _ in users
        }

    def _make_network(self) -> None:
        """Turn on MULTISITE in wp-config.php and create the subsites, each with the
        permalink structure of the main site and the editor and bridge users as editors."""
        self._network_config = True
        (self.docroot / "wp-config.php").write_text(self._wp_config())
        mu_plugins = self.docroot / "wp-content" / "mu-plugins"
        mu_plugins.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PHP_DIR / "network-port.php", mu_plugins / "devenv-network-port.php")
        spec = base64.b64encode(
            json.dumps(
                {
                    "names": list(self.subsite_names),
                    "admin": self.admin.user_id,
                    "editors": [self.editor.user_id, self.bridge.user_id],
                    "permalink_structure": PERMALINK_STRUCTURE,
                }
            ).encode()
        ).decode()
        code = (
            f"$fib_devenv_spec = json_decode( base64_decode( '{spec}' ), true );\n"
            # The single site noted in its options that Application Passwords are in use; a
            # network reads that from its network options, and ignores them until it is there.
            "update_site_option( WP_Application_Passwords::OPTION_KEY_IN_USE, true );\n"
            "$fib_devenv_out = array();\n"
            "foreach ( $fib_devenv_spec['names'] as $fib_devenv_name ) {\n"
            "\t$fib_devenv_id = wpmu_create_blog( DOMAIN_CURRENT_SITE, '/' . $fib_devenv_name"
            " . '/', ucfirst( $fib_devenv_name ), $fib_devenv_spec['admin'],"
            " array( 'public' => 1 ) );\n"
            "\tif ( is_wp_error( $fib_devenv_id ) ) {\n"
            "\t\tfwrite( STDERR, $fib_devenv_name . ': ' . $fib_devenv_id->get_error_message()"
            ' . "\\n" );\n'
            "\t\texit( 1 );\n"
            "\t}\n"
            "\tforeach ( $fib_devenv_spec['editors'] as $fib_devenv_user ) {\n"
            "\t\tadd_user_to_blog( $fib_devenv_id, $fib_devenv_user, 'editor' );\n"
            "\t}\n"
            "\tswitch_to_blog( $fib_devenv_id );\n"
            "\tupdate_option( 'permalink_structure', $fib_devenv_spec['permalink_structure'] );\n"
            "\tdelete_option( 'rewrite_rules' );\n"
            "\trestore_current_blog();\n"
            "\t$fib_devenv_out[ $fib_devenv_name ] = $fib_devenv_id;\n"
            "}\n"
            "echo wp_json_encode( $fib_devenv_out );\n"
        )
        try:
            out = self._run_php_code(code, timeout=300)
        except PhpError as exc:
            raise WordPressError(f"start: creating the subsites failed: {exc}") from exc
        created = json.loads(out.strip().splitlines()[-1])
        self._subsites = {
            name: Subsite(self, name, int(created[name])) for name in self.subsite_names
        }

    def _install_plugin(self, plugin_dir: Path) -> None:
        target = self.docroot / "wp-content" / "plugins" / PLUGIN_SLUG
        shutil.copytree(
            plugin_dir,
            target,
            ignore=shutil.ignore_patterns(".git", "__pycache__", "node_modules"),
        )
        network_wide = "true" if self.multisite else "false"
        active = "is_plugin_active_for_network" if self.multisite else "is_plugin_active"
        code = (
            f"$fib_devenv_result = activate_plugin( {_php_string(PLUGIN_FILE)}, '',"
            f" {network_wide} );\n"
            "if ( is_wp_error( $fib_devenv_result ) ) {\n"
            "\tfwrite( STDERR, 'activate_plugin: ' . $fib_devenv_result->get_error_message()"
            ' . "\\n" );\n'
            "\texit( 1 );\n"
            "}\n"
            f"if ( ! {active}( {_php_string(PLUGIN_FILE)} ) ) {{\n"
            '\tfwrite( STDERR, "plugin is not active after activate_plugin()\\n" );\n'
            "\texit( 1 );\n"
            "}\n"
        )
        try:
            self._run_php_code(code, timeout=120)
        except PhpError as exc:
            raise WordPressError(
                f"start: activating the plugin {PLUGIN_FILE} failed: {exc}"
            ) from exc

    def _start_php_server(self) -> None:
        log_path = self.logs_dir / "php-server.log"
        cmd = self._php_command(PHP_DIR / "router.php")
        router = cmd.pop()
        for setting in self.server_ini:
            cmd += ["-d", setting]
        cmd += ["-S", f"127.0.0.1:{self.port}", "-t", str(self.docroot), router]
        env = dict(os.environ, PHP_CLI_SERVER_WORKERS=str(PHP_SERVER_WORKERS))
        if self.multisite:
            env["FIB_DEVENV_MULTISITE"] = "1"  # router.php: the subdirectory network's rules
        with log_path.open("ab") as log:
            self._php_proc = subprocess.Popen(
                cmd,
                cwd=self.docroot,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._php_pgid = self._php_proc.pid  # its own session, so its own process group
        (self._rundir / "php-server.pgid").write_text(f"{self._php_pgid}\n")

        def ready() -> bool:
            if self._php_proc is not None and self._php_proc.poll() is not None:
                raise WordPressError(
                    _with_logs(
                        f"start: php -S exited with code {self._php_proc.returncode}", log_path
                    )
                )
            try:
                with urllib.request.urlopen(f"{self.url}/wp-json/", timeout=10) as resp:
                    body = resp.read()
                    return bool(resp.status == 200 and body.lstrip().startswith(b"{"))
            except (OSError, urllib.error.URLError):
                return False

        if not _wait_for(ready, timeout=60, interval=0.1):
            raise WordPressError(
                _with_logs(f"start: {self.url}/wp-json/ did not answer in 60 s", log_path)
            )

    def _snapshot(self) -> None:
        with self.snapshot_path.open("wb") as out:
            result = subprocess.run(
                [
                    *self._mariadb_client("mariadb-dump"),
                    "--single-transaction",
                    "--add-drop-database",
                    "--databases",
                    DB_NAME,
                ],
                stdout=out,
                stderr=subprocess.PIPE,
                timeout=300,
            )
        if result.returncode != 0:
            raise WordPressError(
                "start: mariadb-dump failed: " + result.stderr.decode(errors="replace")
            )


# --------------------------------------------------------------------------- command line


def _default_plugin_dir() -> Path | None:
    candidate = Path(__file__).resolve().parent.parent / "wp-plugin"
    return candidate if (candidate / f"{PLUGIN_SLUG}.php").is_file() else None


@contextlib.contextmanager
def _signals_raise_keyboard_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m devenv.wordpress``: start a site, print URL and logins, wait for Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m devenv.wordpress", description=LocalWordPress.__doc__
    )
    parser.add_argument("--root", type=Path, required=True, help="directory for all state")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default: a free one)")
    parser.add_argument(
        "--plugin-dir",
        type=Path,
        default=None,
        help="plugin to install and activate (default: wp-plugin/ if it has the main file)",
    )
    parser.add_argument("--no-plugin", action="store_true", help="do not install the plugin")
    parser.add_argument(
        "--subsites",
        default="",
        help="comma-separated subsite names for a subdirectory multisite network, e.g. news,sport",
    )
    args = parser.parse_args(argv)
    plugin_dir = None if args.no_plugin else (args.plugin_dir or _default_plugin_dir())
    subsites = [name.strip() for name in args.subsites.split(",") if name.strip()]
    try:
        site = LocalWordPress(args.root, plugin_dir=plugin_dir, port=args.port, subsites=subsites)
    except WordPressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    started = time.monotonic()
    with _signals_raise_keyboard_interrupt():
        try:
            site.start()
            print(f"WordPress is up at {site.url} ({time.monotonic() - started:.1f} s)")
            print(f"  admin:    {site.url}/wp-admin/")
            for user in (site.admin, site.editor, site.bridge):
                print(
                    f"  {user.login:<8} password {user.password}  "
                    f"app password {user.app_password}  (id {user.user_id})"
                )
            for subsite in site.subsites:
                print(f"  subsite:  {subsite.url}/wp-admin/  (blog id {subsite.blog_id})")
            print(f"  plugin:   {PLUGIN_FILE if plugin_dir else '(none)'}")
            print(f"  logs:     {site.logs_dir}")
            print("Ctrl-C stops it.", flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr)
        except WordPressError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
