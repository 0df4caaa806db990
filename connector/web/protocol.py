"""DSP 2025-1 protocol endpoints. Every request is authenticated (self-issued token + membership) first.

The catalog endpoints live in ``connector/web/catalog.py``, the negotiation endpoints in
``connector/web/negotiations.py``, the transfer endpoints in ``connector/web/transfers.py``, with the same
authentication.

Refusals follow dsp.md §8: 401 with a CatalogError on catalogue paths; on negotiation and transfer paths an invalid
token is 401 and a caller who is not the process's counterparty gets 404, never 403.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from connector.errors import dsp_error

bp = Blueprint("protocol", __name__)


@bp.before_request
def _authenticate():  # type: ignore[no-untyped-def]
    trust = current_app.config["TRUST"]
    from connector.identity import IdentityError
    try:
        g.caller = trust.authenticate(request.headers.get("Authorization"), request.path)
    except IdentityError as e:
        trust.record_denial(request.path, e, request.headers.get("Authorization"))
        # negotiation and transfer paths do not reveal whether a process exists: 404 (dsp.md §8)
        process_path = "/negotiations" in request.path or "/transfers" in request.path
        status = 404 if process_path else 401
        return dsp_error(request.path, status, "NOT_FOUND" if process_path else "UNAUTHORIZED",
                         ["not found" if process_path else "authentication failed"])
    return None
