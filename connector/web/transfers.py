"""DSP 2025-1 transfer process endpoints, both sides, under ``/dsp/2025-1`` (dsp.md §3, T1–T11).

Provider: ``POST /transfers/request`` (201), ``GET /transfers/<pid>``, ``POST /transfers/<pid>/start|completion|
suspension|termination``. Consumer (our callback address is our DSP base): the same ``<pid>`` paths with our own
pid, and ``GET``. Pids are unique on a node, so the record named says which side we play. A refused token or a
caller who is not the counter-party gets 404 (dsp.md §8); an invalid transition 400 with a ``TransferError``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, g, request

from connector.app import on_start
from connector.web.protocol import answer, guard

bp = Blueprint("transfers", __name__)


@bp.record_once
def _setup(state: Any) -> None:
    app: Flask = state.app
    from connector.transfer.service import TransferService
    app.config["TRANSFERS"] = TransferService(app.config["NODE"], app.config["TRUST"],
                                              catalog=app.config.get("CATALOG"))

    on_start(app, lambda a: a.config["TRANSFERS"].start_sender())


def _service() -> Any:
    return current_app.config["TRANSFERS"]


guard(bp)


@bp.post("/transfers/request")
def transfer_request():  # type: ignore[no-untyped-def]
    return answer(_service().receive_request(request.get_json(silent=True, force=True), g.caller))


@bp.get("/transfers/<pid>")
def transfer_state(pid: str):  # type: ignore[no-untyped-def]
    return answer(_service().state(pid, g.caller.did))


def _message(endpoint: str):  # type: ignore[no-untyped-def]
    def view(pid: str):  # type: ignore[no-untyped-def]
        return answer(_service().receive(pid, endpoint, request.get_json(silent=True, force=True), g.caller))
    view.__name__ = "transfer_" + endpoint
    return view


for _endpoint in ("start", "completion", "suspension", "termination"):
    bp.add_url_rule(f"/transfers/<pid>/{_endpoint}", view_func=_message(_endpoint), methods=["POST"])
