"""``python -m bridge.healthcheck [web|worker]``: the container health check.

One image runs both roles (``bridge web``, ``bridge worker``), so the check depends on the role:

- ``web``: ``GET /healthz`` on the port the bridge listens on answers 200 (the job database
  answers too).
- ``worker``: the job database the worker uses can be read.

Without an argument the role is read from the container's main process (``/proc/1/cmdline``).
Exits 0 when healthy, 1 with one line on stderr when not, 2 when the settings are invalid.
Secrets are never printed.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from bridge.config import ConfigError, Settings, redacted_url
from bridge.jobs import JobStore
from bridge.storage import STORE_ERRORS

ROLES = ("web", "worker")
TIMEOUT = 5.0


class Unhealthy(Exception):
    """The role does not serve; the message says why."""


def role_of(cmdline: bytes) -> str | None:
    """``web`` or ``worker`` from a NUL-separated command line such as ``bridge\\0worker``."""
    for argument in cmdline.split(b"\0"):
        if argument.decode(errors="replace") in ROLES:
            return argument.decode()
    return None


def healthz_url(settings: Settings) -> str:
    """Where ``bridge web`` answers from inside its own container or host."""
    host = settings.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and address.is_unspecified:
        host = "::1" if address.version == 6 else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/healthz"


def check_web(settings: Settings) -> None:
    """Raises Unhealthy unless ``/healthz`` answers 200."""
    url = healthz_url(settings)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, urllib.error.URLError) as exc:
        raise Unhealthy(f"{url} did not answer: {exc}") from exc
    if status != 200:
        raise Unhealthy(f"{url} answered {status}")


def check_worker(settings: Settings) -> None:
    """Raises Unhealthy unless the worker's job database exists and can be read (with
    ``BRIDGE_REDIS_URL``: unless Redis answers)."""
    if settings.redis_url:
        from bridge.backends import create_backend

        try:
            create_backend(settings).job_store().ping()
        except STORE_ERRORS as exc:
            where = redacted_url(settings.redis_url)
            raise Unhealthy(f"Redis at {where} does not answer: {exc}") from exc
        return
    path = settings.jobs_db
    if not path.is_file():
        raise Unhealthy(f"no job database at {path} (has the worker started?)")
    try:
        JobStore(path).ping()
    except sqlite3.Error as exc:
        raise Unhealthy(f"the job database at {path} cannot be read: {exc}") from exc


def main(argv: Sequence[str] | None = None, proc_cmdline: Path = Path("/proc/1/cmdline")) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        role: str | None = args[0]
    else:
        try:
            role = role_of(proc_cmdline.read_bytes())
        except OSError:
            role = None
    if role not in ROLES:
        print("healthcheck: say which role to check: web or worker", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 2
    try:
        if role == "web":
            check_web(settings)
        else:
            check_worker(settings)
    except Unhealthy as exc:
        print(f"healthcheck: {role}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
