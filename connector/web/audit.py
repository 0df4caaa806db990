"""The exchange log over HTTP: public checkpoints, the hub's witness, auditors' access, the operator's API and page.

- ``GET /audit/checkpoint`` (anyone): the latest signed checkpoint note with the cosignatures received (text).
- ``GET /audit/keys`` (anyone): the vkeys to pin, the log key (and the witness key on a witness: the hub, or a
  member witnessing the hub's log); an auditor checks them against the DID document's ``#audit-`` key.
- ``POST /audit/witness`` (on the hub, for members; on a member, for the logs in its ``[audit] witness_for``):
  countersign the caller's checkpoint (``connector.audit_node``).
- ``GET /audit/entries``, ``GET /audit/bundle`` (auditors): entries as JSON, or a bundle (zip). The caller's
  verified credential must carry the role ``auditor`` and this node's DID in ``auditScope``; every access, granted
  or refused, is written to the log.
- ``/api/audit/entries|bundle|timeline|checkpoint`` (the operator): the same queries, the timeline per agreement,
  ``POST /api/audit/checkpoint`` (sign now, then submit to the log's witnesses).
- ``GET /audit`` (the operator): the page, with filters and a timeline per agreement.

The operator's routes take the admin token as a Bearer header or the HTTP-only cookie the other operator pages set
(signed in with the token on the page).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import (Blueprint, Flask, Response, current_app, jsonify, make_response, redirect, render_template_string,
                   request, send_file)

from connector.app import on_start
from connector.errors import json_error

__all__ = ["bp"]

bp = Blueprint("audit", __name__)
log = logging.getLogger(__name__)

_COOKIE = "passerelle_admin"  # shared with the other operator pages
_MAX_LIMIT = 10000


@bp.record_once
def _setup(state: Any) -> None:
    on_start(state.app, _start_scheduler)


def _start_scheduler(app: Flask) -> None:
    """Served by ``passerelle serve``: one scheduler thread per worker process, the lease elects the one that
    works. Nodes served otherwise (tests, in-process spaces) call ``tick`` themselves."""
    running = app.config.get("AUDIT_SCHEDULER")
    if not app.config.get("SERVED") or (running is not None and running.pid == os.getpid()):
        return
    from connector.audit_node import AuditScheduler, audit_settings
    node = app.config["NODE"]
    try:
        settings = audit_settings(node)
    except ValueError:  # a bad [audit] section: checkpoints on demand only, and say so in the error log
        log.exception("audit scheduler not started")
        app.config["AUDIT_SCHEDULER"] = _NotScheduled()
        return
    if settings.checkpoint_seconds > 0:
        app.config["AUDIT_SCHEDULER"] = AuditScheduler(node, app.config["TRUST"], settings).start()
    else:
        app.config["AUDIT_SCHEDULER"] = _NotScheduled()


class _NotScheduled:
    """Marks a worker process where the scheduler is off, so the check stays one pid comparison."""

    def __init__(self) -> None:
        self.pid = os.getpid()


def _node() -> Any:
    return current_app.config["NODE"]


def _trust() -> Any:
    return current_app.config["TRUST"]


# -- filters --------------------------------------------------------------------------------------------------------

class _BadFilter(Exception):
    pass


def _when(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _BadFilter(f"{name}: {value!r} is not a date or an RFC 3339 time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    from connector.audit import format_ts
    return format_ts(t)


def _filters(args: Any, *, with_kind: bool = True, with_limit: bool = False) -> dict[str, Any]:
    """The query's filters from request arguments (and ``limit`` when asked); bad ones raise ``_BadFilter``
    naming every problem."""
    out: dict[str, Any] = {}
    problems = []
    for key in ("agreement", "participant", "dataset"):
        v = args.get(key) or None
        if v is not None and len(v) > 512:
            problems.append(f"{key}: at most 512 characters")
        out[key] = v
    for key in ("since", "until"):
        try:
            out[key] = _when(args.get(key), key)
        except _BadFilter as e:
            problems.append(str(e))
    if with_kind:
        kind = args.get("kind") or args.get("event") or None
        from connector.audit import EVENTS
        if kind is not None and kind not in EVENTS and not (kind.endswith("*") and len(kind) > 1):
            problems.append(f"kind: {kind!r} is not an event type (or a prefix such as 'transfer.*')")
        out["kind"] = kind
    if with_limit:
        raw = args.get("limit") or "1000"
        if not raw.isdigit() or not 1 <= int(raw) <= _MAX_LIMIT:
            problems.append(f"limit: expected a whole number from 1 to {_MAX_LIMIT}")
        else:
            out["limit"] = int(raw)
    if problems:
        raise _BadFilter("; ".join(problems))
    return out


def _entries(filters: dict[str, Any], limit: int = _MAX_LIMIT) -> list[dict[str, Any]]:
    from connector.audit import query
    from connector.audit_service import ensure_log
    node = _node()
    ensure_log(node)
    filters = dict(filters)
    limit = filters.pop("limit", limit)
    with node.session() as s:
        return query(s, limit=limit, **filters)


def _bundle_response(filters: dict[str, Any], on_written: Any = None) -> Response:
    """Export a signed bundle to a temporary zip and stream it. A fresh checkpoint is signed first and submitted
    to the log's witnesses (best effort), so the whole bundle is covered by a countersigned checkpoint."""
    from connector.audit import export_bundle
    from connector.audit_node import log_signer, sign_checkpoint_now, submit_to_witness, witness_vkeys
    from connector.audit_service import ensure_log
    node = _node()
    ensure_log(node)
    sign_checkpoint_now(node)
    submit_to_witness(node, _trust())
    tmp = Path(tempfile.mkdtemp(prefix="audit-bundle-"))
    path = tmp / "audit.zip"
    try:
        with node.session() as s:
            summary = export_bundle(s, path, signer=log_signer(node), now=node.clock.utcnow(),
                                    witness_keys=witness_vkeys(node, _trust()), **filters)
            s.commit()
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        size = path.stat().st_size
        handle = open(path, "rb")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the open handle keeps the file readable until it is sent
    if on_written is not None:
        on_written({"bytes": size, "rows": summary.entries, "sha256": digest.hexdigest(), "format": "zip"})
    stamp = node.clock.utcnow().strftime("%Y%m%dT%H%M%SZ")
    resp = send_file(handle, mimetype="application/zip", as_attachment=True,
                     download_name=f"audit-{node.name}-{stamp}.zip")
    resp.headers["X-Audit-Entries"] = str(summary.entries)
    resp.headers["X-Audit-Tree-Size"] = str(summary.tree_size)
    return resp


# -- public ---------------------------------------------------------------------------------------------------------

@bp.get("/audit/checkpoint")
def public_checkpoint():  # type: ignore[no-untyped-def]
    from connector.audit_node import latest_checkpoint
    from connector.audit_service import ensure_log
    node = _node()
    ensure_log(node)
    with node.session() as s:
        info = latest_checkpoint(s)
    if info is None:
        return json_error(404, "no_checkpoint", "this node has not signed a checkpoint yet")
    resp = Response(info.note, mimetype="text/plain")
    resp.headers["X-Tree-Size"] = str(info.size)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/audit/keys")
def public_keys():  # type: ignore[no-untyped-def]
    from connector.audit_node import vkeys_of
    from connector.audit_service import audit_origin
    node = _node()
    return jsonify({"did": node.did, "origin": audit_origin(node), **vkeys_of(node)})


# -- protocol side: the witness and auditors ------------------------------------------------------------------------

def _authenticated() -> tuple[Any, Response | None]:
    from connector.identity import IdentityError
    trust = _trust()
    try:
        return trust.authenticate(request.headers.get("Authorization"), request.path), None
    except IdentityError as e:
        trust.record_denial(request.path, e, request.headers.get("Authorization"))
        return None, json_error(401, "unauthorized", "authentication failed")


@bp.post("/audit/witness")
def witness():  # type: ignore[no-untyped-def]
    from connector.audit_node import WitnessRefusal, witness_checkpoint, witnesses_anyone
    if not witnesses_anyone(_node()):
        return json_error(404, "not_witness", "this node witnesses no log (the hub witnesses members' checkpoints)")
    caller, denied = _authenticated()
    if denied is not None:
        return denied
    try:
        return jsonify(witness_checkpoint(_node(), _trust(), caller.did, request.get_json(silent=True)))
    except WitnessRefusal as e:
        resp = jsonify(e.body())
        resp.status_code = e.status
        return resp


def _auditor() -> tuple[Any, Response | None]:
    """The authenticated auditor, or the refusal (logged) when the caller may not audit this node."""
    from connector.audit_node import auditor_refusal, log_auditor_access
    caller, denied = _authenticated()
    if denied is not None:
        return None, denied
    node = _node()
    code = auditor_refusal(node, caller)
    if code is not None:
        log_auditor_access(node, caller.did, permitted=False, reason_code=code, method=request.method,
                           route=request.path, status=403)
        why = ("your membership credential does not carry the role auditor" if code == "NOT_AUDITOR" else
               f"this node ({node.did}) is not in your credential's auditScope")
        return None, json_error(403, code.lower(), why)
    return caller, None


@bp.get("/audit/entries")
def auditor_entries():  # type: ignore[no-untyped-def]
    from connector.audit_node import log_auditor_access
    caller, denied = _auditor()
    if denied is not None:
        return denied
    try:
        filters = _filters(request.args, with_limit=True)
    except _BadFilter as e:
        return json_error(400, "bad_filter", str(e))
    node = _node()
    log_auditor_access(node, caller.did, permitted=True, reason_code="AUDITOR", method=request.method,
                       route=request.path, status=200)
    entries = _entries(filters)
    return jsonify({"node": node.did, "count": len(entries), "entries": entries})


@bp.get("/audit/bundle")
def auditor_bundle():  # type: ignore[no-untyped-def]
    from connector.audit_node import log_auditor_access
    caller, denied = _auditor()
    if denied is not None:
        return denied
    try:
        filters = _filters(request.args, with_kind=False)
    except _BadFilter as e:
        return json_error(400, "bad_filter", str(e))
    node = _node()
    log_auditor_access(node, caller.did, permitted=True, reason_code="AUDITOR", method=request.method,
                       route=request.path, status=200)

    def written(data: dict[str, Any]) -> None:
        log_auditor_access(node, caller.did, permitted=True, reason_code="AUDITOR", method=request.method,
                           route=request.path, status=200, data=data)
    filters.pop("kind", None)
    return _bundle_response(filters, written)


# -- the operator's API ---------------------------------------------------------------------------------------------

def _admin_ok(allow_cookie: bool = True) -> bool:
    node = _node()
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else request.headers.get("X-Admin-Token", "")
    if not given and allow_cookie:
        given = request.cookies.get(_COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), node.admin_token.encode())


def _unauthorized() -> Response:
    return json_error(401, "unauthorized", "missing or wrong admin token")


@bp.get("/api/audit/entries")
def api_entries():  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return _unauthorized()
    try:
        filters = _filters(request.args, with_limit=True)
    except _BadFilter as e:
        return json_error(400, "bad_filter", str(e))
    entries = _entries(filters)
    return jsonify({"node": _node().did, "count": len(entries), "entries": entries})


@bp.get("/api/audit/bundle")
def api_bundle():  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return _unauthorized()
    try:
        filters = _filters(request.args, with_kind=False)
    except _BadFilter as e:
        return json_error(400, "bad_filter", str(e))
    filters.pop("kind", None)
    return _bundle_response(filters)


@bp.get("/api/audit/timeline")
def api_timeline():  # type: ignore[no-untyped-def]
    """Per agreement: its entries in log order and each negotiation and transfer rebuilt from them."""
    if not _admin_ok():
        return _unauthorized()
    try:
        filters = _filters(request.args)
    except _BadFilter as e:
        return json_error(400, "bad_filter", str(e))
    return jsonify({"agreements": _timelines(_entries(filters, _MAX_LIMIT))})


def _timelines(entries: list[dict[str, Any]], lang: str = "en") -> list[dict[str, Any]]:
    from connector.audit import by_agreement, processes
    from connector.audit_node import describe_entry
    out = []
    for agreement, items in by_agreement(entries).items():
        # the negotiation that led to the agreement carries the agreement only from its agreed state on: take
        # every entry of the same processes so the timeline starts at the request
        keys = {(e["process"]["kind"], pid) for e in items if e.get("process")
                for pid in (e["process"].get("consumer_pid"), e["process"].get("provider_pid")) if pid}
        pool = {e["seq"]: e for e in entries}
        for did in {(e.get("counterparty") or {}).get("did") for e in items} - {None}:
            for e in _entries({"participant": did}):  # the entries before the agreement existed
                if e.get("process"):
                    pool.setdefault(e["seq"], e)
        related = [e for e in pool.values() if e.get("process") and any(
            (e["process"]["kind"], pid) in keys
            for pid in (e["process"].get("consumer_pid"), e["process"].get("provider_pid")) if pid)]
        merged = sorted({e["seq"]: e for e in [*items, *related]}.values(), key=lambda e: e["seq"])
        # state changes only: an agreement.* entry repeats the final state of the negotiation it concludes
        hist = processes([e for e in merged if not e["event"].startswith("agreement.")])
        out.append({"agreement": agreement,
                    "entries": [{"seq": e["seq"], "ts": e["ts"], "event": e["event"],
                                 "detail": describe_entry(e, lang)} for e in merged],
                    "processes": [{"kind": h.kind, "consumer_pid": h.consumer_pid, "provider_pid": h.provider_pid,
                                   "counterparty": h.counterparty, "states": h.states, "gaps": h.gaps}
                                  for h in hist.values()]})
    return out


@bp.get("/api/audit/checkpoint")
def api_checkpoint():  # type: ignore[no-untyped-def]
    from connector.audit_node import latest_checkpoint
    from connector.audit_service import ensure_log
    if not _admin_ok():
        return _unauthorized()
    node = _node()
    ensure_log(node)
    with node.session() as s:
        info = latest_checkpoint(s)
    if info is None:
        return jsonify({"checkpoint": None})
    return jsonify({"checkpoint": _checkpoint_json(info)})


def _checkpoint_json(info: Any) -> dict[str, Any]:
    return {"size": info.size, "root": info.root, "note": info.note, "witnesses": list(info.witnesses),
            "created_at": info.created_at}


@bp.post("/api/audit/checkpoint")
def api_sign_checkpoint():  # type: ignore[no-untyped-def]
    """Sign a checkpoint now and submit it to the log's witnesses (a member's: the hub; the hub's: its
    ``[audit] witnesses``); the answer says which ones countersigned it."""
    if not _admin_ok(allow_cookie=False):
        return _unauthorized()
    from connector.audit_node import latest_checkpoint, sign_checkpoint_now, submit_to_witness
    node = _node()
    sign_checkpoint_now(node)
    outcome = submit_to_witness(node, _trust())
    with node.session() as s:
        info = latest_checkpoint(s)
    return jsonify({"checkpoint": _checkpoint_json(info), "witnessed": outcome.witnessed,
                    "witness_detail": outcome.detail, "countersigned_by": list(outcome.countersigned_by),
                    "witnesses": [{"did": r.did, "name": r.name, "witnessed": r.witnessed, "detail": r.detail}
                                  for r in outcome.results]})


# -- the page -------------------------------------------------------------------------------------------------------

_EVENT_FR = {
    "auth.rejected": "requête refusée", "credential.verified": "attestation vérifiée",
    "credential.rejected": "attestation refusée", "catalog.request": "demande de catalogue",
    "catalog.response": "catalogue servi", "negotiation.state_changed": "négociation",
    "agreement.finalized": "accord conclu", "agreement.revoked": "accord révoqué",
    "transfer.state_changed": "transfert", "transfer.started": "transfert démarré",
    "transfer.completed": "transfert terminé", "transfer.suspended": "transfert suspendu",
    "transfer.terminated": "transfert arrêté", "edr.issued": "jeton d'accès émis", "edr.refreshed": "jeton renouvelé",
    "edr.revoked": "jeton révoqué", "data.pull": "données retirées", "policy.decision": "décision de politique",
    "ingest.file_committed": "fichier intégré", "ingest.duplicate_skipped": "doublon ignoré",
    "ingest.failed": "intégration échouée", "export.small_cells_suppressed": "cellules masquées",
    "key.rotated": "clé renouvelée", "key.compromised": "clé compromise",
    "checkpoint.signed": "point de contrôle signé", "checkpoint.witnessed": "point de contrôle contresigné",
}

_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Journal d'audit — {{ node.name }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem;color:#1b1b1b}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;
text-align:left;vertical-align:top;font-size:.92em}th{background:#f2f2f6}form.filtres label{display:inline-block;
margin:0 1rem .5rem 0}code{font-size:.88em;word-break:break-all}.ok{color:#18753c}.ko{color:#b34000}
.muted{color:#666}.accord{border:1px solid #ccd;border-radius:4px;padding:.5rem 1rem;margin-bottom:1rem}
.etats{font-weight:600}</style></head>
<body><h1>Journal d'audit de {{ node.name }}</h1>
<p class="muted">Participant <code>{{ node.did }}</code> — journal <code>{{ origin }}</code></p>
{% if error %}<p class="ko" role="alert">{{ error }}</p>{% endif %}
{% if message %}<p class="ok" role="status">{{ message }}</p>{% endif %}
{% if not signed_in %}
<form method="post" action="/audit/connexion"><label>Jeton d'administration
<input type="password" name="jeton" autocomplete="current-password"></label>
<button type="submit">Se connecter</button></form>
{% else %}
<h2>Point de contrôle</h2>
{% if checkpoint %}<p id="point-de-controle">Dernier point de contrôle : <strong>{{ checkpoint.size }}</strong>
entrées, racine <code>{{ checkpoint.root[:16] }}…</code>, signé le {{ checkpoint.created_at }} —
{% if checkpoint.witnesses %}<span class="ok">contresigné par {{ checkpoint.witnesses|join(', ') }}</span>
{% else %}<span class="ko">pas encore contresigné</span>{% endif %}</p>
{% else %}<p id="point-de-controle">Aucun point de contrôle signé pour l'instant.</p>{% endif %}
<form method="post" action="/audit/point-de-controle"><button type="submit">Signer un point de contrôle
maintenant</button></form>
<h2>Filtres</h2>
<form class="filtres" method="get" action="/audit">
<label>Accord <input name="agreement" value="{{ args.agreement or '' }}" size="40"></label>
<label>Participant (DID) <input name="participant" value="{{ args.participant or '' }}" size="30"></label>
<label>Jeu de données <input name="dataset" value="{{ args.dataset or '' }}" size="30"></label>
<label>Type d'événement <select name="kind"><option value="">tous</option>
{% for k, label in kinds %}<option value="{{ k }}" {% if args.kind == k %}selected{% endif %}>{{ label }}</option>
{% endfor %}</select></label>
<label>Du <input type="date" name="since" value="{{ args.since or '' }}"></label>
<label>au <input type="date" name="until" value="{{ args.until or '' }}"></label>
<button type="submit">Filtrer</button>
<a href="/api/audit/bundle?{{ bundle_query }}">Exporter le lot d'audit (zip)</a></form>
<h2>Chronologie par accord ({{ timelines|length }})</h2>
{% for t in timelines %}<section class="accord" data-accord="{{ t.agreement }}"><h3>Accord <code>{{ t.agreement }}</code></h3>
{% for p in t.processes %}<p>{{ 'Négociation' if p.kind == 'negotiation' else 'Transfert' }}
<code>{{ p.provider_pid or p.consumer_pid }}</code>{% if p.counterparty %} avec <code>{{ p.counterparty }}</code>{% endif %} :
<span class="etats">{{ p.states|join(' → ') }}</span>
{% if p.gaps %}<span class="ko"> — étapes manquantes : {{ p.gaps|join(' ; ') }}</span>{% endif %}</p>{% endfor %}
<ol>{% for e in t.entries %}<li><span class="muted">{{ e.ts }}</span> — {{ label(e.event) }} <span class="muted">(n° {{ e.seq }})</span> {{ e.detail }}</li>{% endfor %}</ol>
</section>{% else %}<p class="muted">Aucun accord dans cette sélection.</p>{% endfor %}
<h2>Entrées ({{ entries|length }}{% if truncated %}, les {{ entries|length }} premières{% endif %})</h2>
<table id="entrees"><tr><th>N°</th><th>Horodatage</th><th>Événement</th><th>Détail</th></tr>
{% for e in entries %}<tr><td>{{ e.seq }}</td><td>{{ e.ts }}</td><td>{{ label(e.event) }}</td>
<td>{{ describe(e) }}</td></tr>{% endfor %}</table>
{% endif %}</body></html>"""


def _page(*, message: str | None = None, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    from urllib.parse import urlencode

    from connector.audit_node import describe_entry, latest_checkpoint
    from connector.audit_service import audit_origin, ensure_log
    node = _node()
    signed_in = _admin_ok()
    entries: list[dict[str, Any]] = []
    timelines: list[dict[str, Any]] = []
    info = None
    limit = 500
    if signed_in:
        ensure_log(node)
        try:
            filters = _filters(request.args)
        except _BadFilter as e:
            filters, error, status = {}, f"Filtre invalide : {e}", 400
        entries = _entries(filters, limit + 1)
        timelines = _timelines(entries[:limit], "fr")
        with node.session() as s:
            info = latest_checkpoint(s)
    bundle_query = urlencode({k: v for k, v in request.args.items() if k != "kind" and v})
    html = render_template_string(
        _PAGE, node=node, origin=audit_origin(node), signed_in=signed_in, message=message, error=error,
        entries=entries[:limit], truncated=len(entries) > limit, timelines=timelines, checkpoint=info,
        args=request.args, kinds=sorted(_EVENT_FR.items(), key=lambda kv: kv[0]), bundle_query=bundle_query,
        label=lambda k: _EVENT_FR.get(k, k), describe=lambda e: describe_entry(e, "fr"))
    return html, status


@bp.get("/audit")
def page():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("/audit/connexion")
def sign_in():  # type: ignore[no-untyped-def]
    token = request.form.get("jeton", "")
    node = _node()
    if not token or not hmac.compare_digest(token.encode(), node.admin_token.encode()):
        return _page(error="Jeton incorrect.", status=401)
    resp = make_response(redirect("/audit", code=303))
    resp.set_cookie(_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return resp


@bp.post("/audit/point-de-controle")
def page_checkpoint():  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return _page(error="Connectez-vous d'abord.", status=401)
    from connector.audit_node import sign_checkpoint_now, submit_to_witness
    node = _node()
    info = sign_checkpoint_now(node)
    outcome = submit_to_witness(node, _trust())
    who = "le hub" if not node.is_authority else ", ".join(outcome.countersigned_by) or "ses témoins"
    if node.is_authority and not outcome.results:
        return _page(message=f"Point de contrôle signé : {info.size} entrées (aucun témoin désigné).")
    if outcome.witnessed:
        return _page(message=f"Point de contrôle signé : {info.size} entrées, contresigné par {who}.")
    return _page(message=f"Point de contrôle signé : {info.size} entrées ; pas encore contresigné par tous ses "
                         f"témoins ({outcome.detail}).")
