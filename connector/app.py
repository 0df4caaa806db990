"""Flask application factory: one app per node, no global state, blueprints grouped by concern."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from connector.errors import dsp_error, json_error
from connector.node import Node

__all__ = ["create_app"]

MAX_BODY = 16 * 1024 * 1024  # protocol and management bodies; uploads have their own limit


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

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):  # type: ignore[no-untyped-def]
        path = request.path
        if path.startswith("/dsp/"):
            return dsp_error(path, e.code or 500, e.name.upper().replace(" ", "_"), [e.description or e.name])
        if path.startswith(("/api", "/trust", "/cs", "/public")):
            return json_error(e.code or 500, e.name.lower().replace(" ", "_"), e.description or e.name)
        return e

    return app
