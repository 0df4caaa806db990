"""Management API for negotiations and agreements (``/api``, admin token), the approval page (``/negociations``),
and the conformance kit's trigger hook (``/api/conformance/negotiations``, only on a node configured for it).

The page is for the provider's operator when ``[negotiation] approval = "manual"``: it lists the requests waiting
for a decision with the policy's verdict and reasons, and approves or rejects them (with a reason sent to the
consumer). It signs in with the admin token, kept in an HTTP-only cookie.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template_string, request

from connector.errors import json_error

bp = Blueprint("negotiations_api", __name__)

_COOKIE = "passerelle_admin"


def _service() -> Any:
    return current_app.config["NEGOTIATIONS"]


def _admin_ok(allow_cookie: bool = False) -> bool:
    node = current_app.config["NODE"]
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else request.headers.get("X-Admin-Token", "")
    if not given and allow_cookie:
        given = request.cookies.get(_COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), node.admin_token.encode())


def _denied():  # type: ignore[no-untyped-def]
    return json_error(401, "unauthorized", "missing or wrong admin token")


def _failure(e: Exception):  # type: ignore[no-untyped-def]
    return json_error(getattr(e, "status", 400), "negotiation", str(e))


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


# -- management API ---------------------------------------------------------------------------------------------
@bp.get("/api/negotiations")
def list_negotiations():  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return _denied()
    pending = request.args.get("pending") in ("1", "true", "yes")
    return jsonify({"negotiations": _service().list(role=request.args.get("role"), state=request.args.get("state"),
                                                    pending=pending or None)})


@bp.post("/api/negotiations")
def start_negotiation():  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return _denied()
    body = _body()
    missing = [k for k in ("provider", "dataset", "offer") if not isinstance(body.get(k), str) or not body.get(k)]
    if missing:
        return json_error(400, "bad_request", f"missing field(s): {', '.join(missing)} (strings: the provider's "
                                              "DID, the dataset id and the offer @id from its catalogue)")
    offer = body.get("offer_policy")
    if offer is not None and (not isinstance(offer, dict) or offer.get("@id") != body["offer"]):
        return json_error(400, "bad_request", "offer_policy: the ODRL offer itself, whose @id is the offer named")
    from connector.negotiation import NegotiationFailure
    try:
        return jsonify(_service().start(body["provider"], body["dataset"], body["offer"], offer=offer)), 201
    except NegotiationFailure as e:
        return _failure(e)


@bp.get("/api/negotiations/<pid>")
def get_negotiation(pid: str):  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return _denied()
    found = _service().get(pid)
    return jsonify(found) if found else json_error(404, "unknown_negotiation", f"no negotiation {pid}")


def _operation(name: str):  # type: ignore[no-untyped-def]
    def view(pid: str):  # type: ignore[no-untyped-def]
        if not _admin_ok():
            return _denied()
        from connector.negotiation import NegotiationFailure
        service = _service()
        try:
            if name in ("reject", "terminate"):
                return jsonify(getattr(service, name)(pid, str(_body().get("reason") or "")))
            return jsonify(getattr(service, name)(pid))
        except NegotiationFailure as e:
            return _failure(e)
    view.__name__ = f"negotiation_{name}"
    return view


for _name in ("approve", "reject", "accept", "terminate"):
    bp.add_url_rule(f"/api/negotiations/<pid>/{_name}", view_func=_operation(_name), methods=["POST"])


@bp.get("/api/agreements")
def list_agreements():  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return _denied()
    return jsonify({"agreements": _service().agreements()})


@bp.get("/api/agreements/<path:agreement_id>")
def get_agreement(agreement_id: str):  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return _denied()
    found = _service().agreement(agreement_id)
    return jsonify(found) if found else json_error(404, "unknown_agreement", f"no agreement {agreement_id}")


# -- conformance kit hook (dsp.md §11): plain JSON, enabled only on a node configured for the kit ---------------
@bp.post("/api/conformance/negotiations")
def conformance_trigger():  # type: ignore[no-untyped-def]
    service = _service()
    if not service.settings["conformance"]:
        return json_error(404, "not_found", "the conformance hooks are not enabled on this node")
    from contracts.conformance import NEGOTIATION_TRIGGER_FIELDS
    body = _body()
    missing = [k for k in NEGOTIATION_TRIGGER_FIELDS if not isinstance(body.get(k), str)]
    if missing:
        return json_error(400, "bad_request", f"missing field(s): {', '.join(missing)}")
    from connector.negotiation import NegotiationFailure
    offer = {"@id": body["offerId"], "@type": "Offer", "permission": [{"action": "use"}]}
    try:
        summary = service.start(body["providerId"], body["datasetId"], body["offerId"], offer=offer,
                                provider_base=body["connectorAddress"])
    except NegotiationFailure as e:
        return _failure(e)
    return jsonify(summary), 200


# -- the approval page ------------------------------------------------------------------------------------------
_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Négociations — {{ node.name }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}code{font-size:.85em}
.refus{color:#a00}.ok{color:#060}form{display:inline}</style></head>
<body><h1>Négociations de contrats — {{ node.name }}</h1>
{% if error %}<p class="refus" id="erreur">{{ error }}</p>{% endif %}
{% if not signed_in %}
<form method="post" action="/negociations/connexion"><label>Jeton d'administration
<input type="password" name="jeton" required></label> <button>Se connecter</button></form>
{% else %}
<p>Mode d'approbation : <strong>{{ "manuel" if approval == "manual" else "automatique" }}</strong></p>
{% if message %}<p class="ok" id="message">{{ message }}</p>{% endif %}
<h2>En attente d'approbation ({{ waiting|length }})</h2>
{% if waiting %}<table id="en-attente"><tr><th>Demandeur</th><th>Jeu de données</th><th>Offre</th>
<th>Avis de la politique</th><th>Décision</th></tr>
{% for n in waiting %}<tr><td><code>{{ n.counterparty }}</code></td><td><code>{{ n.dataset }}</code></td>
<td><code>{{ n.offer }}</code></td>
<td>{% if n.decision %}{{ "autorisé" if n.decision.effect == "permit" else "refusé" }}
<ul>{% for r in n.decision.reasons %}<li>{{ r }}</li>{% endfor %}</ul>{% endif %}</td>
<td><form method="post" action="/negociations/{{ n.pid }}/approuver"><button>Approuver</button></form>
<form method="post" action="/negociations/{{ n.pid }}/refuser"><input name="motif" placeholder="Motif du refus"
required> <button>Refuser</button></form></td></tr>{% endfor %}</table>
{% else %}<p>Aucune demande en attente.</p>{% endif %}
<h2>Toutes les négociations</h2>
<table id="toutes"><tr><th>Rôle</th><th>Partenaire</th><th>Jeu de données</th><th>État</th><th>Motif</th></tr>
{% for n in all %}<tr><td>{{ "fournisseur" if n.role == "PROVIDER" else "consommateur" }}</td>
<td><code>{{ n.counterparty }}</code></td><td><code>{{ n.dataset }}</code></td><td>{{ n.state }}</td>
<td>{{ n.reason or "" }}</td></tr>{% endfor %}</table>
{% endif %}</body></html>"""


def _page(message: str | None = None, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    service = _service()
    signed_in = _admin_ok(allow_cookie=True)
    items = service.list() if signed_in else []
    html = render_template_string(_PAGE, node=current_app.config["NODE"], signed_in=signed_in, error=error,
                                  message=message, approval=service.settings["approval"], all=items,
                                  waiting=[n for n in items if n["pending"] == "approval"])
    return html, status


@bp.get("/negociations")
def page():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("/negociations/connexion")
def sign_in():  # type: ignore[no-untyped-def]
    token = request.form.get("jeton", "")
    node = current_app.config["NODE"]
    if not token or not hmac.compare_digest(token.encode(), node.admin_token.encode()):
        return _page(error="Jeton incorrect.", status=401)
    resp = make_response(redirect("/negociations", code=303))
    resp.set_cookie(_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return resp


@bp.post("/negociations/<pid>/<action>")
def decide(pid: str, action: str):  # type: ignore[no-untyped-def]
    if not _admin_ok(allow_cookie=True):
        return _page(error="Connectez-vous d'abord.", status=401)
    from connector.negotiation import NegotiationFailure
    try:
        if action == "approuver":
            _service().approve(pid)
            return _page(message="Demande approuvée : l'accord est envoyé au demandeur.")
        if action == "refuser":
            _service().reject(pid, request.form.get("motif", ""))
            return _page(message="Demande refusée : le motif est envoyé au demandeur.")
    except NegotiationFailure as e:
        return _page(error=str(e), status=e.status)
    return _page(error="Action inconnue.", status=404)
