"""DSP error bodies (dsp.md §8): the protocol never answers with an HTML page or a bare status."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from contracts.schemas import DSP_CONTEXT

__all__ = ["dsp_error", "catalog_error", "negotiation_error", "transfer_error", "json_error"]


def _body(type_: str, code: str, reasons: list[str], **pids: str) -> dict[str, Any]:
    body: dict[str, Any] = {"@context": [DSP_CONTEXT], "@type": type_}
    body.update({k: v for k, v in pids.items() if v})
    body["code"] = code
    if reasons:
        body["reason"] = reasons
    return body


def catalog_error(status: int, code: str, reasons: list[str]) -> Response:
    resp = jsonify(_body("CatalogError", code, reasons))
    resp.status_code = status
    return resp


def negotiation_error(status: int, code: str, reasons: list[str], provider_pid: str = "",
                      consumer_pid: str = "") -> Response:
    body = _body("ContractNegotiationError", code, reasons or [code],
                 providerPid=provider_pid or "unknown", consumerPid=consumer_pid or "unknown")
    resp = jsonify(body)
    resp.status_code = status
    return resp


def transfer_error(status: int, code: str, reasons: list[str], provider_pid: str = "",
                   consumer_pid: str = "") -> Response:
    body = _body("TransferError", code, reasons or [code],
                 providerPid=provider_pid or "unknown", consumerPid=consumer_pid or "unknown")
    resp = jsonify(body)
    resp.status_code = status
    return resp


def dsp_error(path: str, status: int, code: str, reasons: list[str]) -> Response:
    """The error body whose type matches the protocol area of ``path``."""
    if "/negotiations" in path:
        return negotiation_error(status, code, reasons)
    if "/transfers" in path:
        return transfer_error(status, code, reasons)
    return catalog_error(status, code, reasons)


def json_error(status: int, code: str, message: str) -> Response:
    """Management API and trust endpoints: plain JSON with a readable message."""
    resp = jsonify({"error": code, "message": message})
    resp.status_code = status
    return resp
