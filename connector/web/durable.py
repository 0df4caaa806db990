"""The hub's "Tourisme durable" dashboard: the page (``/tourisme-durable``), its JSON and the computation endpoint.

Same access as the barometer: the hub's operators (admin token as Bearer header or the operator cookie); members get
their région's indicators through the data space (territory-bound offers). On a node that is not the hub, 404.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request

from connector.errors import json_error
from connector.web.dashboard import _admin_ok

__all__ = ["bp"]

_HUB_DASHBOARD = Path(__file__).resolve().parents[2] / "hub" / "dashboard"
_LOCK = threading.Lock()

bp = Blueprint("durable", __name__, template_folder=str(_HUB_DASHBOARD / "templates"),
               static_folder=str(_HUB_DASHBOARD / "static"), static_url_path="/tourisme-durable/static")


def _service() -> Any:
    app = current_app
    with _LOCK:
        if app.config.get("SUSTAINABLE") is None:
            from hub.sustainable.service import SustainableService
            app.config["SUSTAINABLE"] = SustainableService(app.config["NODE"], catalog=app.config.get("CATALOG"))
        return app.config["SUSTAINABLE"]


def _guard(allow_cookie: bool = True):
    if not current_app.config["NODE"].is_authority:
        return json_error(404, "not_hub", "only the hub computes the sustainable-tourism indicators")
    if not _admin_ok(allow_cookie):
        return json_error(401, "unauthorized", "missing or wrong admin token")
    return None


@bp.get("/tourisme-durable")
def page():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    if not node.is_authority:
        return render_template("barometre_not_hub.html", node=node), 404
    return render_template("durable.html", node=node, signed_in=_admin_ok(True))


@bp.get("/api/tourisme-durable")
def board():  # type: ignore[no-untyped-def]
    """Every chart's data, per pillar: ``?region=REG-76`` (optional)."""
    if (denied := _guard()) is not None:
        return denied
    from hub.sustainable.board import BoardError, board_json
    service = _service()
    run = service.current()
    if run is None:
        return json_error(404, "no_result", "no sustainable-tourism indicators computed yet")
    try:
        return jsonify(board_json(service.tables(run), run, region=request.args.get("region") or None))
    except BoardError as e:
        return json_error(400, "bad_filter", str(e))


@bp.get("/api/tourisme-durable/runs")
def runs():  # type: ignore[no-untyped-def]
    """Every recorded computation, newest first (inputs with sha256, outcome, error), and the current one."""
    if (denied := _guard()) is not None:
        return denied
    from hub.sustainable.service import run_json
    service = _service()
    return jsonify({"current": service.current_id(), "runs": [run_json(r) for r in service.runs()]})


@bp.post("/api/tourisme-durable/calculs")
def compute():  # type: ignore[no-untyped-def]
    """``{"energy": path, "employment": path, "arrivals": path, "trips": path, "base_year": 2024?}`` (paths on
    the hub): check against the declared schemas, compute, store, record, re-publish. 201 with the new run's
    manifest, 200 when these files were computed before, 202 while another worker computes them (or the hub's
    recompute thread, started by their landing: ``hub.sustainable.landing``), 422 (with the file, row and column)
    when an input is missing or does not conform."""
    if (denied := _guard(allow_cookie=False)) is not None:
        return denied
    from hub.indicators import InputError
    from hub.sustainable.service import run_json
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, "bad_request", "the body must be a JSON object")
    keys = ("energy", "employment", "arrivals", "trips")
    problems = [f"'{k}' (a path on the hub) is required" for k in keys if not isinstance(body.get(k), str)]
    base = body.get("base_year")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
        problems.append("'base_year' must be an integer year")
    if problems:
        return json_error(400, "bad_request", "; ".join(problems))
    service = _service()
    try:
        run, computed = service.land({k: body[k] for k in keys}, base_year=base)
    except (InputError, FileNotFoundError, OSError) as e:
        return json_error(422, "bad_input", str(e))
    if run.status != "done":
        return jsonify(run_json(run)), 202
    return jsonify(service.manifest(run)), (201 if computed else 200)
