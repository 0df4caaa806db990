"""Flask application factory: one app per node, no global state, blueprints grouped by concern."""

from __future__ import annotations

import os
import threading
from typing import Callable

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from connector.errors import dsp_error, json_error
from connector.node import Node

__all__ = ["create_app", "on_start", "start_background"]

MAX_BODY = 16 * 1024 * 1024  # protocol and management bodies; uploads have their own limit
_STARTERS = "passerelle.starters"
_STARTED = "passerelle.started"
_START_LOCK = threading.Lock()


def on_start(app: Flask, starter: Callable[[Flask], None]) -> None:
    """Register background work of the node (an outbox sender, a scheduler, a watcher) to start in each process
    that serves the app. ``starter(app)`` must do nothing when its work already runs in this process: threads do
    not survive a fork, so it is called again in a forked process."""
    app.extensions.setdefault(_STARTERS, []).append(starter)


def start_background(app: Flask) -> None:
    """Start the registered background work in this process now (a served worker, as soon as it has its app)."""
    with _START_LOCK, app.app_context():
        for starter in app.extensions.get(_STARTERS, ()):
            starter(app)
        app.extensions[_STARTED] = os.getpid()


def create_app(node: Node) -> Flask:
    from connector.trust import Trust
    from connector.web import catalog, cs, dataplane, management, pages, policies_api, trust, wellknown
    from connector.web import dashboard, negotiations, negotiations_api

    app = Flask(__name__, static_folder=None)
    app.config["NODE"] = node
    app.config["TRUST"] = Trust(node)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    app.register_blueprint(wellknown.bp)
    app.register_blueprint(cs.bp, url_prefix="/cs")
    app.register_blueprint(trust.bp, url_prefix="/trust")
    app.register_blueprint(management.bp, url_prefix="/api")
    app.register_blueprint(policies_api.bp, url_prefix="/api")
    app.register_blueprint(dataplane.bp, url_prefix="/public")
    app.register_blueprint(pages.bp)
    app.register_blueprint(catalog.bp)
    app.register_blueprint(negotiations.bp, url_prefix="/dsp/2025-1")
    app.register_blueprint(negotiations_api.bp)
    from connector.web import transfers, transfers_api  # DSP transfer endpoints; /api/transfers, /transferts
    app.register_blueprint(transfers.bp, url_prefix="/dsp/2025-1")
    app.register_blueprint(transfers_api.bp)
    from connector.web.upload import bp as upload_bp  # /depot and /api/collection
    app.register_blueprint(upload_bp)
    app.register_blueprint(dashboard.bp)
    from connector.web.durable import bp as durable_bp  # /tourisme-durable, /api/tourisme-durable
    app.register_blueprint(durable_bp)
    from connector.web.audit import bp as audit_bp  # /audit (checkpoint, witness, auditors, page), /api/audit
    app.register_blueprint(audit_bp)

    @app.before_request
    def _start_background() -> None:
        # one pid comparison per request; an app served otherwise than by `passerelle serve` (tests, in-process
        # spaces) or a forked process starts its background work on its first request
        if app.extensions.get(_STARTED) != os.getpid():
            start_background(app)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):  # type: ignore[no-untyped-def]
        path = request.path
        if path.startswith("/dsp/"):
            return dsp_error(path, e.code or 500, e.name.upper().replace(" ", "_"), [e.description or e.name])
        if path.startswith(("/api", "/trust", "/cs", "/public")):
            return json_error(e.code or 500, e.name.lower().replace(" ", "_"), e.description or e.name)
        return e

    return app
