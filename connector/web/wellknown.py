"""Unauthenticated discovery documents: the DSP version endpoint and the node's DID document."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

bp = Blueprint("wellknown", __name__)


@bp.get("/.well-known/dspace-version")
def dspace_version():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    return jsonify({"protocolVersions": [{
        "version": "2025-1", "path": "/dsp/2025-1", "binding": "HTTPS", "serviceId": node.did,
        "identifierType": "did:web",
        "auth": {"protocol": "DCP", "version": "1.0", "profile": ["vc20-bssl/jwt"]},
    }]})


@bp.get("/.well-known/did.json")
def did_document():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    resp = jsonify(current_app.config["TRUST"].did_document())
    resp.headers["Cache-Control"] = "max-age=300"
    resp.mimetype = "application/did+json"
    return resp
