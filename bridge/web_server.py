"""How ``bridge web`` runs the app under gunicorn: the production server settings.

``gunicorn_options`` is the one place they are made; ``bridge web`` applies them, and
``deploy/gunicorn.conf.py`` hands the same ones to a plain ``gunicorn -c`` command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import Application

from bridge.config import Settings
from bridge.logs import gunicorn_logconfig

KEEPALIVE_SECONDS = 5
"""Idle time a client's connection stays open: the plugin sends one request per connection,
a load balancer or a benchmark reuses them."""


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's settings for ``settings`` (names as in gunicorn's documentation).

    gthread workers: each process serves ``web_threads`` requests at once; a webhook mostly
    waits for its job's group commit, so many threads per process make bigger batches.
    """
    options: dict[str, Any] = {
        "bind": [f"{settings.host}:{settings.port}"],
        "worker_class": "gthread",
        "workers": settings.web_processes,
        "threads": settings.web_threads,
        "timeout": int(settings.web_timeout),
        "graceful_timeout": int(settings.web_timeout),
        "keepalive": KEEPALIVE_SECONDS,
        "accesslog": "-" if settings.access_log else None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "worker_tmp_dir": _worker_tmp_dir(),
        "proc_name": "featured-image-bridge-web",
    }
    if settings.log_format == "json":
        options["logconfig_dict"] = gunicorn_logconfig(settings, access_log=settings.access_log)
    if settings.control_socket is None:
        options["control_socket_disable"] = True
    else:
        options["control_socket"] = str(settings.control_socket.absolute())
        options["control_socket_mode"] = 0o600
    return options


def _worker_tmp_dir() -> str | None:
    """gunicorn's heartbeat files on tmpfs, so a slow disk cannot make workers look dead."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def serve(
    app: Flask,
    settings: Settings,
    *,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> None:
    """Runs ``app`` under gunicorn until it is stopped: ``gunicorn_options(settings)``, then
    ``config_file`` (a gunicorn config file, if given), then ``overrides``."""

    class _Server(Application):  # type: ignore[misc]
        def init(self, parser: Any, opts: Any, args: Any) -> None:
            return None

        def load_config(self) -> None:
            for name, value in gunicorn_options(settings).items():
                self.cfg.set(name, value)
            if config_file is not None:
                self.load_config_from_file(str(config_file))
            for name, value in (overrides or {}).items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return app

    _Server().run()
