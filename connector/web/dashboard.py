"""The hub's barometer: the dashboard page (``/barometre``) and its JSON (``/api/barometre/...``).

Access: the indicators are disclosure-controlled, but the hub re-publishes each région's slice under a
territory-bound offer, so the full national tables are not public. The page and its JSON are for the hub's
operators: the admin token as a Bearer header, or the same HTTP-only cookie as the other operator pages (signed in
with the token on the page). Members obtain their région's indicators through the data space (catalogue,
negotiation, transfer). On a node that is not the hub every route answers 404.
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, redirect, render_template, request

from connector.errors import json_error

__all__ = ["bp"]

_COOKIE = "passerelle_admin"  # shared with the other operator pages


# hub/dashboard, found without importing it: the analytics stack loads on the first barometer request, not with
# every node's app
_HUB_DASHBOARD = Path(__file__).resolve().parents[2] / "hub" / "dashboard"
_LOCK = threading.Lock()

bp = Blueprint("dashboard", __name__, template_folder=str(_HUB_DASHBOARD / "templates"),
               static_folder=str(_HUB_DASHBOARD / "static"), static_url_path="/barometre/static")


def _service() -> Any:
    """The hub's barometer service (one per process), or None on a node that is not the hub."""
    app = current_app
    node = app.config["NODE"]
    if not node.is_authority:
        return None
    with _LOCK:
        if app.config.get("BAROMETER") is None:
            from hub.service import BarometerService
            app.config["BAROMETER"] = BarometerService(node, catalog=app.config.get("CATALOG"))
        return app.config["BAROMETER"]


def _is_hub() -> bool:
    return bool(current_app.config["NODE"].is_authority)


def _admin_ok(allow_cookie: bool) -> bool:
    node = current_app.config["NODE"]
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else request.headers.get("X-Admin-Token", "")
    if not given and allow_cookie:
        given = request.cookies.get(_COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), node.admin_token.encode())


def _guard(allow_cookie: bool = True) -> Response | None:
    if not _is_hub():
        return json_error(404, "not_hub", "only the hub computes the barometer")
    if not _admin_ok(allow_cookie):
        return json_error(401, "unauthorized", "missing or wrong admin token")
    return None


# -- page -----------------------------------------------------------------------------------------------------------

@bp.get("/barometre")
def page():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    if not _is_hub():
        return render_template("barometre_not_hub.html", node=node), 404
    return render_template("barometre.html", node=node, signed_in=_admin_ok(True), error=None)


@bp.post("/barometre/connexion")
def sign_in():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    token = request.form.get("jeton", "")
    if not token or not hmac.compare_digest(token.encode(), node.admin_token.encode()):
        return render_template("barometre.html", node=node, signed_in=False, error="Jeton incorrect."), 401
    resp = make_response(redirect("/barometre", code=303))
    resp.set_cookie(_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return resp


# -- JSON -----------------------------------------------------------------------------------------------------------

@bp.get("/api/barometre")
def summary():  # type: ignore[no-untyped-def]
    """The current run (snapshot, inputs, counts, publications) and the filter choices it offers."""
    if (denied := _guard()) is not None:
        return denied
    from hub.dashboard import options_json
    from hub.service import run_json
    service = _service()
    run = service.current()
    if run is None:
        return jsonify({"run": None, "options": None})
    return jsonify({"run": run_json(run), "options": options_json(service.tables(run))})


@bp.get("/api/barometre/tableau")
def board():  # type: ignore[no-untyped-def]
    """Every chart's data: ``?region=REG-76&unit=ALL|PITCH|RENTAL&week=2026-W28`` (all optional)."""
    if (denied := _guard()) is not None:
        return denied
    from hub.dashboard import DashboardError, dashboard_json
    from hub.service import run_json
    service = _service()
    run = service.current()
    if run is None:
        return json_error(404, "no_result", "no barometer computed yet: no campsite snapshot has landed")
    try:
        body = dashboard_json(service.tables(run), run_json(run), region=request.args.get("region") or None,
                              unit=request.args.get("unit") or "ALL", week=request.args.get("week") or None)
    except DashboardError as e:
        return json_error(400, "bad_filter", str(e))
    return jsonify(body)


@bp.get("/api/barometre/runs")
def runs():  # type: ignore[no-untyped-def]
    if (denied := _guard()) is not None:
        return denied
    from hub.service import run_json
    service = _service()
    current = service.current_id()
    return jsonify({"current": current, "runs": [run_json(r) for r in service.runs()]})


@bp.get("/api/barometre/tables/<name>.csv")
def table_csv(name: str):  # type: ignore[no-untyped-def]
    if (denied := _guard()) is not None:
        return denied
    from hub.indicators import TABLES
    run = _service().current()
    if name not in TABLES:
        return json_error(404, "unknown_table", f"no table {name!r} (tables: {', '.join(TABLES)})")
    if run is None or not run.result_dir:
        return json_error(404, "no_result", "no barometer computed yet")
    from pathlib import Path
    path = Path(run.result_dir) / f"{name}.csv"
    resp = Response(path.read_bytes(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}-{run.snapshot_date}.csv"'
    return resp


@bp.post("/api/barometre/snapshots")
def landed():  # type: ignore[no-untyped-def]
    """A campsite snapshot landed on the hub: ``{"bookings": path, "capacity": path, "campsites": path?,
    "snapshot": "YYYY-MM-DD"?}`` (paths on the hub). 201 with the new run, 200 when these files were computed."""
    if (denied := _guard(allow_cookie=False)) is not None:
        return denied
    from hub.indicators import InputError
    from hub.service import run_json
    body = request.get_json(silent=True)
    problems = []
    if not isinstance(body, dict):
        return json_error(400, "bad_request", "the body must be a JSON object")
    for key in ("bookings", "capacity"):
        if not isinstance(body.get(key), str):
            problems.append(f"'{key}' (a path on the hub) is required")
    if body.get("campsites") is not None and not isinstance(body.get("campsites"), str):
        problems.append("'campsites' must be a path")
    snapshot = None
    if body.get("snapshot"):
        try:
            snapshot = dt.date.fromisoformat(str(body["snapshot"]))
        except ValueError:
            problems.append(f"'snapshot' must be a date YYYY-MM-DD, not {body['snapshot']!r}")
    if problems:
        return json_error(400, "bad_request", "; ".join(problems))
    try:
        run, computed = _service().land(body["bookings"], body["capacity"], body.get("campsites"), snapshot)
    except (InputError, FileNotFoundError, OSError) as e:
        return json_error(422, "bad_input", str(e))
    return jsonify(run_json(run)), (201 if computed else 200)
