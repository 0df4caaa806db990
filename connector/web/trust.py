"""Authority endpoints (hub only): the signed participant list, the revocation status list, credential issuance.

The two lists are signed documents, so they are public; issuance needs the caller's self-issued token and a DID
already on the participant list (enrolment is the authority operator's decision, made in the management API).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request

from connector.errors import json_error

bp = Blueprint("trust", __name__)


@bp.before_request
def _authority_only():  # type: ignore[no-untyped-def]
    if not current_app.config["NODE"].is_authority:
        abort(404)


@bp.get("/participants")
def participants():  # type: ignore[no-untyped-def]
    return Response(current_app.config["TRUST"].participant_list_jws(), mimetype="application/jwt")


@bp.get("/status/<int:n>")
def status_list(n: int):  # type: ignore[no-untyped-def]
    if n != 1:
        abort(404)
    return Response(current_app.config["TRUST"].status_list_jws(), mimetype="application/vc+jwt")


@bp.post("/credentials")
def issue():  # type: ignore[no-untyped-def]
    trust = current_app.config["TRUST"]
    from connector.identity import IdentityError
    try:
        caller = trust.authenticate_participant(request.headers.get("Authorization"), request.path)
    except IdentityError as e:
        trust.record_denial(request.path, e, request.headers.get("Authorization"))
        return json_error(401, "unauthorized", "authentication failed")
    jwt = trust.issue_membership(caller)
    if jwt is None:
        return json_error(403, "not_a_member", "no active membership for this participant")
    return jsonify({"credential": jwt})
