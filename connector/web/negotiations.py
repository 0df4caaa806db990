"""DSP 2025-1 contract negotiation endpoints, both sides, under ``/dsp/2025-1`` (dsp.md §3, N1–N12).

Provider: ``POST /negotiations/request`` (201), ``GET /negotiations/<pid>``, ``POST /negotiations/<pid>/request|
events|agreement/verification|termination``. Consumer (our callback address is our DSP base):
``POST /negotiations/offers`` (201), ``GET /negotiations/<pid>``, ``POST /negotiations/<pid>/offers|agreement|
events|termination``. Our pids are unique on the node, so the record named by ``<pid>`` says which side we play.

Every request is authenticated first; a refused token or a caller who is not the process's counter-party gets 404
(never 401/403, dsp.md §8). The body is schema-checked before any lookup; a refused message changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, g, request

from connector.app import on_start
from connector.web.protocol import answer, consumes_token, guard

bp = Blueprint("negotiations", __name__)


@bp.record_once
def _setup(state: Any) -> None:
    app: Flask = state.app
    from connector.negotiation import NegotiationService
    app.config["NEGOTIATIONS"] = NegotiationService(app.config["NODE"], app.config["TRUST"],
                                                  catalog=app.config.get("CATALOG"))

    on_start(app, lambda a: a.config["NEGOTIATIONS"].start_sender())


def _service() -> Any:
    return current_app.config["NEGOTIATIONS"]


guard(bp)


def _body() -> Any:
    return request.get_json(silent=True, force=True)


@bp.post("/negotiations/request")
@consumes_token
def initial_request():  # type: ignore[no-untyped-def]
    from contracts import Role
    return answer(_service().receive_initial(_body(), g.caller, as_role=Role.PROVIDER, token=g.token_use))


@bp.post("/negotiations/offers")
@consumes_token
def initial_offer():  # type: ignore[no-untyped-def]
    from contracts import Role
    return answer(_service().receive_initial(_body(), g.caller, as_role=Role.CONSUMER, token=g.token_use))


@bp.get("/negotiations/<pid>")
def negotiation_state(pid: str):  # type: ignore[no-untyped-def]
    return answer(_service().state(pid, g.caller.did))


def _message(endpoint: str):  # type: ignore[no-untyped-def]
    @consumes_token
    def view(pid: str):  # type: ignore[no-untyped-def]
        return answer(_service().receive(pid, endpoint, _body(), g.caller, token=g.token_use))
    view.__name__ = "message_" + endpoint.replace("/", "_")
    return view


for _endpoint in ("request", "events", "agreement/verification", "termination", "offers", "agreement"):
    bp.add_url_rule(f"/negotiations/<pid>/{_endpoint}", view_func=_message(_endpoint), methods=["POST"])
