"""Management API for transfers, pulls, agreement revocation and recurring pulls (``/api``, admin token), the
page ``/transferts`` (French), and the conformance kit's transfer trigger (``/api/conformance/transfers``).

The node's transfer service is created by the DSP blueprint (``connector/web/transfers.py``); this blueprint also
sets up the node's pull scheduler (``connector.scheduler``), started on the hub by its first request.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, make_response, redirect, render_template_string, request

from connector.app import on_start
from connector.errors import json_error

bp = Blueprint("transfers_api", __name__)

_COOKIE = "passerelle_admin"


@bp.record_once
def _setup(state: Any) -> None:
    app: Flask = state.app
    from connector.scheduler import PullScheduler

    def run(agreement_id: str, fmt: str, slot: str) -> dict[str, Any]:
        return _pull(app, agreement_id, fmt, slot)

    node = app.config["NODE"]
    settings = dict(getattr(node.config.model, "transfer", None) or {})
    sched = PullScheduler(node, run, retry_base=float(settings.get("schedule_retry_base", 60.0)),
                          max_attempts=int(settings.get("schedule_max_attempts", 5)))
    app.config["SCHEDULER"] = sched
    autostart = bool(settings.get("schedules", node.is_authority))

    def _start_scheduler(app: Flask) -> None:
        if autostart and not app.config.get("SCHEDULER_STARTED"):
            app.config["SCHEDULER_STARTED"] = True
            try:
                sched.start()
            except Exception:  # noqa: BLE001 - a scheduler that cannot start must not take the node down
                app.logger.exception("pull scheduler did not start")

    on_start(app, _start_scheduler)


def _pull(app: Flask, agreement_id: str, fmt: str, slot: str, purpose: str | None = None) -> dict[str, Any]:
    """Pull and land once; the landed file's record with what its landing started (barometer, indicators)."""
    from connector.transfer.ingest import LocalControl, pull
    from connector.transfer.landing import after_landing
    node, svc = app.config["NODE"], app.config["TRANSFERS"]
    outcome: dict[str, Any] = {}

    def hook(landed: Any, agreement: Any) -> None:
        if not landed.duplicate:
            outcome.update(after_landing(node, landed.path) or {})
    landed = pull(node, app.config["TRUST"], LocalControl(svc), agreement_id, fmt=fmt, slot=slot, purpose=purpose,
                  after_landing=hook)
    record = {**landed.to_json(), **outcome}
    if outcome:
        svc.set_outcome(landed.transfer, record)
    return record


def _svc() -> Any:
    return current_app.config["TRANSFERS"]


def _admin_ok(allow_cookie: bool = False) -> bool:
    node = current_app.config["NODE"]
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else request.headers.get("X-Admin-Token", "")
    if not given and allow_cookie:
        given = request.cookies.get(_COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), node.admin_token.encode())


def _denied():  # type: ignore[no-untyped-def]
    return json_error(401, "unauthorized", "missing or wrong admin token")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.before_request
def _guard():  # type: ignore[no-untyped-def]
    if request.path.startswith("/transferts") or request.path.startswith("/api/conformance"):
        return None
    return None if _admin_ok() else _denied()


@bp.get("/api/transfers")
def list_transfers():  # type: ignore[no-untyped-def]
    from connector.transfer.ingest import landed
    node = current_app.config["NODE"]
    return jsonify({"transfers": _svc().list(role=request.args.get("role"), state=request.args.get("state"),
                                             agreement=request.args.get("agreement")),
                    "landed": landed(node, request.args.get("agreement")),
                    "schedules": current_app.config["SCHEDULER"].schedules(),
                    "runs": current_app.config["SCHEDULER"].runs(request.args.get("agreement"))})


@bp.post("/api/transfers")
def start_transfer():  # type: ignore[no-untyped-def]
    from connector.transfer.service import TransferFailure
    body = _body()
    if not isinstance(body.get("agreement"), str):
        return json_error(400, "bad_request", "agreement: the id of an agreement this node holds as consumer")
    try:
        return jsonify(_svc().request(body["agreement"])), 201
    except TransferFailure as e:
        return json_error(e.status, "transfer", str(e))


@bp.post("/api/transfers/pull")
def pull_now():  # type: ignore[no-untyped-def]
    """Pull once, in the node: request, fetch, verify, land, complete; 201 with the landed file."""
    from connector.transfer.ingest import PullError
    body = _body()
    if not isinstance(body.get("agreement"), str):
        return json_error(400, "bad_request", "agreement: the id of an agreement this node holds as consumer")
    fmt = str(body.get("format") or "parquet")
    try:
        landed = _pull(current_app._get_current_object(), body["agreement"], fmt,  # type: ignore[attr-defined]
                       str(body.get("slot") or "manual"), body.get("purpose"))
    except PullError as e:
        status = 404 if e.code == "UNKNOWN_AGREEMENT" else 400 if e.code == "BAD_FORMAT" else 502
        return json_error(status, e.code.lower(), str(e))
    return jsonify(landed), 201


@bp.get("/api/transfers/<pid>")
def get_transfer(pid: str):  # type: ignore[no-untyped-def]
    found = _svc().get(pid)
    return jsonify(found) if found else json_error(404, "not_found", f"no transfer {pid!r}")


@bp.get("/api/transfers/<pid>/address")
def get_address(pid: str):  # type: ignore[no-untyped-def]
    address = _svc().data_address(pid)
    return jsonify(address.to_json()) if address else json_error(404, "not_found", f"no data address for {pid!r}")


def _operation(action: str):  # type: ignore[no-untyped-def]
    def view(pid: str):  # type: ignore[no-untyped-def]
        from connector.transfer.service import TransferFailure
        body = _body()
        if action == "complete" and isinstance(body.get("outcome"), dict):
            _svc().set_outcome(pid, body["outcome"])
        try:
            return jsonify(_svc().operate(pid, action, str(body.get("reason") or "") or None))
        except TransferFailure as e:
            return json_error(e.status, "transfer", str(e))
    view.__name__ = f"transfer_{action}"
    return view


for _action in ("start", "suspend", "complete", "terminate"):
    bp.add_url_rule(f"/api/transfers/<pid>/{_action}", view_func=_operation(_action), methods=["POST"])


@bp.post("/api/agreements/<path:agreement_id>/revoke")
def revoke(agreement_id: str):  # type: ignore[no-untyped-def]
    from connector.transfer.service import TransferFailure
    try:
        return jsonify(_svc().revoke_agreement(agreement_id, str(_body().get("reason") or "")))
    except TransferFailure as e:
        return json_error(e.status, "agreement", str(e))


@bp.put("/api/agreements/<path:agreement_id>/schedule")
def put_schedule(agreement_id: str):  # type: ignore[no-untyped-def]
    from connector.negotiation.records import AgreementRow
    from connector.scheduler import ScheduleError
    body = _body()
    with current_app.config["NODE"].session() as s:
        agreement = s.get(AgreementRow, agreement_id)
    if agreement is None or agreement.role != "CONSUMER":
        return json_error(404, "not_found", f"no agreement {agreement_id!r} of this node as consumer")
    try:
        return jsonify(current_app.config["SCHEDULER"].set_schedule(agreement_id, str(body.get("schedule") or ""),
                                                                   str(body.get("format") or "parquet")))
    except ScheduleError as e:
        return json_error(400, "bad_schedule", str(e))


@bp.delete("/api/agreements/<path:agreement_id>/schedule")
def delete_schedule(agreement_id: str):  # type: ignore[no-untyped-def]
    if current_app.config["SCHEDULER"].remove(agreement_id):
        return jsonify({"agreement": agreement_id, "removed": True})
    return json_error(404, "not_found", f"agreement {agreement_id!r} has no schedule")


@bp.get("/api/schedules")
def schedules():  # type: ignore[no-untyped-def]
    sched = current_app.config["SCHEDULER"]
    return jsonify({"schedules": sched.schedules(), "runs": sched.runs()})


@bp.post("/api/schedules/run")
def run_due():  # type: ignore[no-untyped-def]
    """Run what is due now (missed slots, retries whose time has come)."""
    return jsonify({"runs": current_app.config["SCHEDULER"].catch_up()})


@bp.post("/api/conformance/transfers")
def conformance_trigger():  # type: ignore[no-untyped-def]
    from contracts.conformance import TRANSFER_TRIGGER_FIELDS
    from connector.transfer.service import TransferFailure
    svc = _svc()
    if not svc.settings["conformance"]:
        return json_error(404, "not_found", "not a conformance-test node")
    body = _body()
    missing = [k for k in TRANSFER_TRIGGER_FIELDS if not isinstance(body.get(k), str)]
    if missing:
        return json_error(400, "bad_request", f"missing field(s): {', '.join(missing)}")
    try:
        view = svc.request(body["agreementId"], format_=body["format"], provider_base=body["connectorAddress"],
                           provider=body["providerId"])
    except TransferFailure as e:
        return json_error(e.status, "transfer", str(e))
    return jsonify(view), 201


# -- page ---------------------------------------------------------------------------------------------------------
_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Transferts — {{ name }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}table{border-collapse:collapse;width:100%;
margin-bottom:2rem}td,th{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left;font-size:.9rem}
.TERMINATED,.failed{color:#a00}.COMPLETED,.done{color:#070}code{font-size:.8rem}</style></head><body>
<h1>Transferts de {{ name }}</h1>
{% if not signed %}<form method="post" action="/transferts/connexion"><label>Jeton d'administration
<input type="password" name="jeton"></label> <button>Se connecter</button></form>
{% else %}
<h2>Processus de transfert</h2>
<table><tr><th>Rôle</th><th>État</th><th>Partenaire</th><th>Accord</th><th>Jeu de données</th><th>Motif / résultat</th>
<th>Mis à jour</th></tr>
{% for t in transfers %}<tr><td>{{ {'PROVIDER':'fournisseur','CONSUMER':'consommateur'}[t.role] }}</td>
<td class="{{ t.state }}">{{ t.state }}</td><td><code>{{ t.counterparty }}</code></td>
<td><code>{{ t.agreement }}</code></td>
<td><code>{{ t.dataset }}</code></td><td>{{ t.reason or '' }}{% if t.outcome %}{{ t.outcome.bytes }} octets,
sha256 {{ t.outcome.sha256[:12] }}…{% if t.outcome.duplicate %} (déjà reçu){% endif %}{% endif %}</td>
<td>{{ t.updated_at[:19] }}</td></tr>{% else %}<tr><td colspan="7">Aucun transfert.</td></tr>{% endfor %}</table>
<h2>Collectes planifiées</h2>
<table><tr><th>Accord</th><th>Planification (UTC)</th><th>Format</th><th>Dernier créneau</th><th>Prochain</th></tr>
{% for s in schedules %}<tr><td><code>{{ s.agreement }}</code></td><td>{{ s.schedule }}</td><td>{{ s.format }}</td>
<td>{{ s.last_slot or '—' }}</td><td>{{ s.next_slot or '—' }}</td></tr>
{% else %}<tr><td colspan="5">Aucune collecte planifiée.</td></tr>{% endfor %}</table>
<h2>Exécutions</h2>
<table><tr><th>Accord</th><th>Créneau</th><th>Statut</th><th>Tentatives</th><th>sha256</th><th>Erreur</th></tr>
{% for r in runs %}<tr><td><code>{{ r.agreement }}</code></td><td>{{ r.slot }}</td>
<td class="{{ r.status }}">{{ {'done':'reçu','duplicate':'déjà reçu','retrying':'nouvel essai prévu',
'failed':'échec','running':'en cours'}[r.status] }}</td><td>{{ r.attempts }}</td>
<td><code>{{ (r.sha256 or '')[:12] }}</code></td><td>{{ r.error or '' }}</td></tr>
{% else %}<tr><td colspan="6">Aucune exécution.</td></tr>{% endfor %}</table>
<h2>Fichiers reçus</h2>
<table><tr><th>Accord</th><th>Créneau</th><th>Format</th><th>Octets</th><th>Lignes</th><th>sha256</th></tr>
{% for f in landed %}<tr><td><code>{{ f.agreement }}</code></td><td>{{ f.slot }}</td><td>{{ f.format }}</td>
<td>{{ f.bytes }}</td><td>{{ f.rows if f.rows is not none else '' }}</td><td><code>{{ f.sha256[:12] }}</code></td></tr>
{% else %}<tr><td colspan="6">Aucun fichier reçu.</td></tr>{% endfor %}</table>
{% endif %}</body></html>"""


@bp.get("/transferts")
def page():  # type: ignore[no-untyped-def]
    from connector.transfer.ingest import landed
    node = current_app.config["NODE"]
    signed = _admin_ok(allow_cookie=True)
    sched = current_app.config["SCHEDULER"]
    return render_template_string(_PAGE, name=node.name, signed=signed,
                                  transfers=_svc().list() if signed else [],
                                  schedules=sched.schedules() if signed else [],
                                  runs=sched.runs() if signed else [], landed=landed(node) if signed else [])


@bp.post("/transferts/connexion")
def sign_in():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    token = request.form.get("jeton", "")
    if not hmac.compare_digest(token.encode(), node.admin_token.encode()):
        return make_response("Jeton refusé.", 401)
    resp = redirect("/transferts", code=303)
    resp.set_cookie(_COOKIE, token, httponly=True, samesite="Strict")
    return resp
