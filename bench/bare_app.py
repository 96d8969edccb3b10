"""A bare Flask route served by gunicorn with the settings ``bridge web`` uses: the baseline
for the webhook-intake benchmark. ``python -m bench.bare_app --port 8081``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from gunicorn.app.base import BaseApplication


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/webhook")
    def webhook() -> ResponseReturnValue:
        request.get_data()
        return jsonify(job_id="bare", status="queued", duplicate=False), 202

    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    app = create_app()

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            # The same settings as bridge.cli's ``web`` command.
            self.cfg.set("bind", f"127.0.0.1:{args.port}")
            self.cfg.set("workers", args.processes)
            self.cfg.set("threads", args.threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("loglevel", "warning")
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return app

    _Server().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
