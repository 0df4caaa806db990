"""The node's credential service (DCP presentation query, scope-based only).

A verifier calls it with its own self-issued token whose ``token`` claim is the access token we minted for it;
``presentationDefinition`` queries get 501 as DCP permits.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from connector.errors import json_error

bp = Blueprint("cs", __name__)


@bp.post("/presentations/query")
def query():  # type: ignore[no-untyped-def]
    trust = current_app.config["TRUST"]
    from connector.identity import IdentityError
    body = request.get_json(silent=True) or {}
    if "presentationDefinition" in body:
        return json_error(501, "not_implemented", "presentationDefinition queries are not supported; use scope")
    try:
        vp = trust.answer_presentation_query(request.headers.get("Authorization"), request.path, body)
    except IdentityError as e:
        trust.record_denial(request.path, e, request.headers.get("Authorization"))
        return json_error(401, "unauthorized", "authentication failed")
    return jsonify({"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                    "type": "PresentationResponseMessage", "presentation": [vp]})
