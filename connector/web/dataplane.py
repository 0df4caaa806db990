"""Data plane (HTTP pull). Access needs a transfer's short-lived access token; unknown transfers are 404."""

from __future__ import annotations

from flask import Blueprint

from connector.errors import json_error

bp = Blueprint("dataplane", __name__)


@bp.get("/data/<transfer_id>")
def pull(transfer_id: str):  # type: ignore[no-untyped-def]
    return json_error(404, "unknown_transfer", f"no started transfer {transfer_id!r} on this node")
