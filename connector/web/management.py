"""Management API: JSON over HTTP for the node's operator (and the pages), guarded by the admin token."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from connector.errors import json_error

bp = Blueprint("management", __name__)

_PUBLIC = {"management.openapi"}


@bp.before_request
def _admin_only():  # type: ignore[no-untyped-def]
    if request.endpoint in _PUBLIC:
        return None
    node = current_app.config["NODE"]
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else request.headers.get("X-Admin-Token", "")
    if not given or not hmac.compare_digest(given.encode(), node.admin_token.encode()):
        return json_error(401, "unauthorized", "missing or wrong admin token")
    return None


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    return body


class _BadRequest(Exception):
    pass


@bp.errorhandler(_BadRequest)
def _bad(e: _BadRequest):  # type: ignore[no-untyped-def]
    return json_error(400, "bad_request", str(e))


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    from connector.openapi import document
    return jsonify(document(current_app.config["NODE"]))


@bp.get("/node")
def node_info():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    trust = current_app.config["TRUST"]
    return jsonify({"name": node.name, "did": node.did, "role": node.config.node.role, "url": node.public_url,
                    "authority": node.config.authority.did, "membership": trust.membership_summary()})


@bp.get("/members")
def members():  # type: ignore[no-untyped-def]
    trust = current_app.config["TRUST"]
    if not current_app.config["NODE"].is_authority:
        return json_error(404, "not_authority", "only the authority keeps the membership registry")
    return jsonify({"members": trust.list_members()})


@bp.post("/members")
def enrol():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    if not node.is_authority:
        return json_error(404, "not_authority", "only the authority enrols members")
    body = _json_body()
    missing = [k for k in ("did", "legal_name", "roles") if k not in body]
    if missing:
        raise _BadRequest(f"missing field(s): {', '.join(missing)}")
    from connector.trust import EnrolmentError
    try:
        member = current_app.config["TRUST"].enrol(
            did=body["did"], legal_name=body["legal_name"], siren=str(body.get("siren", "000000000")),
            roles=list(body["roles"]), territory=list(body.get("territory", [])),
            audit_scope=body.get("audit_scope"))
    except EnrolmentError as e:
        raise _BadRequest(str(e)) from None
    return jsonify(member), 201


@bp.post("/members/revoke")
def revoke():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    did = _json_body().get("did")
    if not isinstance(did, str):
        raise _BadRequest("field 'did' (string) is required")
    if not node.is_authority:
        return json_error(404, "not_authority", "only the authority revokes members")
    if not current_app.config["TRUST"].revoke(did):
        return json_error(404, "unknown_member", f"no member {did}")
    return jsonify({"did": did, "status": "revoked"})


@bp.post("/membership/refresh")
def membership_refresh():  # type: ignore[no-untyped-def]
    from connector.identity import IdentityError
    from connector.peers import PeerError
    try:
        summary = current_app.config["TRUST"].obtain_membership()
    except (IdentityError, PeerError) as e:
        return json_error(502, "membership_failed", str(e))
    return jsonify(summary)


@bp.post("/trust/refresh")
def trust_refresh():  # type: ignore[no-untyped-def]
    from connector.identity import IdentityError
    from connector.peers import PeerError
    try:
        info = current_app.config["TRUST"].refresh(force=True)
    except (IdentityError, PeerError) as e:
        return json_error(502, "trust_refresh_failed", str(e))
    return jsonify(info)


@bp.post("/peers/check")
def peers_check():  # type: ignore[no-untyped-def]
    body = _json_body()
    did = body.get("did")
    if not isinstance(did, str):
        raise _BadRequest("field 'did' (string) is required")
    return jsonify(current_app.config["TRUST"].check_peer(did))


@bp.get("/denials")
def denials():  # type: ignore[no-untyped-def]
    return jsonify({"denials": current_app.config["TRUST"].recent_denials()})
