"""What every DSP 2025-1 blueprint shares: authentication before any handler, and answers from the services.

The catalog endpoints live in ``connector/web/catalog.py``, the negotiation endpoints in
``connector/web/negotiations.py``, the transfer endpoints in ``connector/web/transfers.py``; each registers
:func:`authenticate` as its ``before_request`` (:func:`guard`).

Refusals follow dsp.md §8: 401 with a CatalogError on catalogue paths; on negotiation and transfer paths any refusal
is a 404, so the existence of a process is never revealed.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Response, current_app, g, jsonify, request

from connector.errors import dsp_error
from connector.identity import IdentityError

__all__ = ["authenticate", "answer", "consumes_token", "guard", "refuse"]


def authenticate() -> Response | None:
    """Self-issued token + membership; a refusal is recorded (denial list, exchange log) and answered.

    A view marked by :func:`consumes_token` spends the token id itself, in the transaction of its change
    (``g.token_use``); for every other view it is spent here."""
    trust = current_app.config["TRUST"]
    view = current_app.view_functions.get(request.endpoint or "")
    try:
        if getattr(view, "consumes_token", False):
            g.caller, g.token_use = trust.authenticate_for_change(request.headers.get("Authorization"),
                                                                  request.path)
        else:
            g.caller = trust.authenticate(request.headers.get("Authorization"), request.path)
    except IdentityError as e:
        return refuse(e)
    return None


def guard(bp: Blueprint) -> None:
    """Every view of ``bp`` behind :func:`authenticate`; the replay a view marked by :func:`consumes_token` finds
    when it spends its token is answered as any refused token (:func:`refuse`)."""
    bp.before_request(authenticate)
    bp.register_error_handler(IdentityError, refuse)


def consumes_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that consumes its request's token id (``g.token_use.consume(conn)``) in its own transaction."""
    view.consumes_token = True  # type: ignore[attr-defined]
    return view


def refuse(e: IdentityError) -> Response:
    """The answer to a refused token, recorded in the denial list and the exchange log (dsp.md §8)."""
    trust = current_app.config["TRUST"]
    trust.record_denial(request.path, e, request.headers.get("Authorization"))
    process_path = "/negotiations" in request.path or "/transfers" in request.path
    status = 404 if process_path else 401
    return dsp_error(request.path, status, "NOT_FOUND" if process_path else "UNAUTHORIZED",
                     ["not found" if process_path else "authentication failed"])


def answer(result: tuple[int, dict[str, Any]]) -> Response:
    """A service's (status, body) as a JSON response."""
    status, body = result
    resp = jsonify(body)
    resp.status_code = status
    return resp
