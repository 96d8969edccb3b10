"""The web side: an app factory whose routes only verify, record and enqueue."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from bridge import logcontext
from bridge.api import api
from bridge.backends import create_backend
from bridge.backfill import MissingPostSource
from bridge.backfill_api import BackfillServices, backfills
from bridge.config import Settings
from bridge.enqueuer import BackgroundEnqueuer
from bridge.metrics_api import metrics, record_refusal
from bridge.services import Services
from bridge.site_clients import SiteClients
from bridge.site_routing import SiteRouter
from bridge.sites import SiteRegistry
from bridge.tasks import JobQueue, create_queue

MAX_BODY_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None,
    queue: JobQueue | None = None,
    missing_posts: MissingPostSource | None = None,
) -> Flask:
    """Builds the Flask app from ``settings`` (default: the environment).

    ``missing_posts`` lists the posts a backfill fills, for every site (default: each site's
    own WordPress).
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    backend = create_backend(settings)
    store = backend.job_store(create_sync=settings.intake_sync.upper())
    queue = queue or create_queue(settings, store=store, backend=backend)
    clients = SiteClients(settings)
    app.extensions["bridge"] = Services(
        settings=settings,
        store=store,
        queue=queue,
        enqueuer=BackgroundEnqueuer(queue.enqueue, queue.enqueue_many),
        sites=SiteRouter(SiteRegistry.from_settings(settings)),
        clients=clients,
        metrics=backend.metrics(),
    )
    app.extensions["backfill"] = BackfillServices(
        runs=backend.run_store(store),
        source=(lambda site: missing_posts) if missing_posts else clients.wordpress,
    )
    app.before_request(logcontext.clear)  # a thread's next request starts with no ids
    app.register_blueprint(api)
    app.register_blueprint(backfills)
    app.register_blueprint(metrics)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = (exc.name or "error").lower().replace(" ", "_")
        record_refusal(code)
        response = jsonify(error=code, message=exc.description)
        for name, value in exc.get_headers():  # e.g. a 405's Allow (RFC 9110), not its HTML type
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, exc.code or 500

    return app
