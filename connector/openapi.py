"""The management API's OpenAPI 3.1 document, written by hand next to the routes it describes."""

from __future__ import annotations

from typing import Any

__all__ = ["document"]

_ERR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _op(summary: str, ok: dict[str, Any] | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": ok or {"type": "object"}}}},
        "401": _ERR, "400": _ERR}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _publish_op() -> dict[str, Any]:
    """Publishing: metadata (merged over the node's [datasets.<id>] section, see docs/catalog.md) and a file."""
    meta = {"type": "object", "description": "dataset metadata keys of docs/catalog.md; 'offer_templates' names "
                                             "policy templates of config/policies/"}
    op = _op("Publish a file as a new version of a dataset (every metadata problem listed on refusal)",
             body={"type": "object", "properties": {
                 "metadata": meta, "file": {"type": "string", "description": "path of the file on the node"}}})
    op["parameters"] = [{"name": "dataset_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    op["requestBody"]["content"]["multipart/form-data"] = {"schema": {"type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"},
                       "metadata": {"type": "string", "description": "JSON object"}}}}
    op["responses"]["201"] = {"description": "new version recorded", "content": {"application/json": {
        "schema": {"type": "object"}}}}
    op["responses"]["200"]["description"] = "identical to the current version: nothing recorded"
    op["responses"]["422"] = {"description": "invalid metadata: every problem with field, code and message",
                              "content": {"application/json": {"schema": {"type": "object", "properties": {
                                  "problems": {"type": "array", "items": {"type": "object", "properties": {
                                      "field": {"type": "string"}, "code": {"type": "string"},
                                      "message": {"type": "string"}}}}}}}}}
    return op


def _search_op() -> dict[str, Any]:
    op = _op("Search the federated catalogue (hub only); every given criterion must hold")
    op["parameters"] = [
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "words of title/description"},
        {"name": "theme", "in": "query", "schema": {"type": "string"}, "description": "EU data theme, e.g. ECON"},
        {"name": "spatial", "in": "query", "schema": {"type": "string"}, "description": "FR, REG-76, DEP-34, NUTS"},
        {"name": "start", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "end", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "publisher", "in": "query", "schema": {"type": "string"}, "description": "IRI or part of a name"},
        {"name": "fresh", "in": "query", "schema": {"type": "boolean"}, "description": "leave out stale copies"}]
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _transfer_paths() -> dict[str, Any]:
    """Transfers, pulls, revocation and recurring pulls (docs/transfer.md)."""
    reason = {"type": "object", "properties": {"reason": {"type": "string"}}}
    pull = _op("Pull once under an agreement (consumer): transfer, fetch, verify size and sha256, land, complete",
               body={"type": "object", "required": ["agreement"], "properties": {
                   "agreement": {"type": "string"}, "format": {"enum": ["parquet", "arrow", "csv"]},
                   "slot": {"type": "string"}, "purpose": {"type": "string"}}})
    pull["responses"]["201"] = {"description": "landed (or already landed: duplicate = true)", "content": {
        "application/json": {"schema": {"type": "object", "properties": {
            "path": {"type": "string"}, "bytes": {"type": "integer"}, "sha256": {"type": "string"},
            "rows": {"type": ["integer", "null"]}, "content": {"enum": ["rows", "aggregate"]},
            "duplicate": {"type": "boolean"}, "transfer": {"type": "string"}, "slot": {"type": "string"}}}}}}
    pull["responses"]["502"] = {**_ERR, "description": "the provider refused the pull (with its reasons) or failed"}
    out: dict[str, Any] = {
        "/api/transfers": {
            "get": _op("Transfers, landed files, schedules and scheduled runs (filters: role, state, agreement)"),
            "post": _op("Open a transfer under an agreement (consumer); the pull itself is separate", body={
                "type": "object", "required": ["agreement"], "properties": {"agreement": {"type": "string"}}})},
        "/api/transfers/pull": {"post": pull},
        "/api/transfers/{pid}": {"parameters": [_path_param("pid")], "get": _op("One transfer: state, reason, outcome")},
        "/api/transfers/{pid}/address": {"parameters": [_path_param("pid")],
                                          "get": _op("The data address the provider sent (consumer)")},
        "/api/agreements/{id}/revoke": {"parameters": [_path_param("id")], "post": _op(
            "Revoke an agreement (provider): its transfers are terminated and pulls refused at once", body=reason)},
        "/api/agreements/{id}/schedule": {"parameters": [_path_param("id")], "put": _op(
            "Pull under this agreement on a schedule (UTC): 'mon 06:00', 'daily 06:00' or a crontab line",
            body={"type": "object", "required": ["schedule"], "properties": {
                "schedule": {"type": "string"}, "format": {"enum": ["parquet", "arrow", "csv"]}}}),
            "delete": _op("Remove the agreement's schedule")},
        "/api/schedules": {"get": _op("Schedules and their runs (slot, status, attempts, sha256, error)")},
        "/api/schedules/run": {"post": _op("Run what is due now: missed slots (once) and retries whose time came")},
    }
    for action, summary in (("start", "Start (provider) or resume a suspended transfer"),
                            ("suspend", "Suspend a started transfer"), ("complete", "Complete a started transfer"),
                            ("terminate", "Terminate a transfer, with a reason")):
        out[f"/api/transfers/{{pid}}/{action}"] = {"parameters": [_path_param("pid")],
                                                    "post": _op(summary, body=reason)}
    return out


def document(node: Any) -> dict[str, Any]:
    member = {"type": "object", "required": ["did", "legal_name", "roles"], "properties": {
        "did": {"type": "string", "pattern": "^did:web:"}, "legal_name": {"type": "string"},
        "siren": {"type": "string", "pattern": "^[0-9]{9}$"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "territory": {"type": "array", "items": {"type": "string"}}}}
    paths: dict[str, Any] = {
        "/api/node": {"get": _op("This node: name, DID, role, membership")},
        "/api/members": {"get": _op("Membership registry (authority)"),
                         "post": _op("Enrol a participant (authority)", body=member)},
        "/api/members/revoke": {"post": _op("Revoke a member's credential (authority)",
                                            body={"type": "object", "required": ["did"],
                                                  "properties": {"did": {"type": "string"}}})},
        "/api/membership/refresh": {"post": _op("Obtain this node's membership credential from the authority")},
        "/api/trust/refresh": {"post": _op("Re-fetch the participant list and the status list")},
        "/api/peers/check": {"post": _op("Call a peer's protocol endpoint and verify each other",
                                         body={"type": "object", "required": ["did"],
                                               "properties": {"did": {"type": "string"}}})},
        "/api/denials": {"get": _op("Recently refused requests, with reason codes")},
        "/api/negotiations": {
            "get": _op("Negotiations of this node (filters: role, state, pending=1)"),
            "post": _op("Negotiate a provider's catalogue offer (consumer)", body={
                "type": "object", "required": ["provider", "dataset", "offer"], "properties": {
                    "provider": {"type": "string", "pattern": "^did:web:"}, "dataset": {"type": "string"},
                    "offer": {"type": "string"}, "offer_policy": {"type": "object"}}})},
        "/api/negotiations/{pid}": {"parameters": [_path_param("pid")],
                                   "get": _op("One negotiation: state, pids, decision with reasons, agreement")},
        "/api/negotiations/{pid}/approve": {"parameters": [_path_param("pid")],
                                   "post": _op("Grant a request waiting for manual approval (provider)")},
        "/api/negotiations/{pid}/reject": {"parameters": [_path_param("pid")],
                                   "post": _op("Refuse a request waiting for approval, with a reason", body={
            "type": "object", "properties": {"reason": {"type": "string"}}})},
        "/api/negotiations/{pid}/accept": {"parameters": [_path_param("pid")],
                                   "post": _op("Accept the offer on the table (consumer)")},
        "/api/negotiations/{pid}/terminate": {"parameters": [_path_param("pid")],
                                   "post": _op("Terminate a negotiation, with a reason", body={
            "type": "object", "properties": {"reason": {"type": "string"}}})},
        "/api/agreements": {"get": _op("Agreements this node granted or holds")},
        "/api/agreements/{id}": {"parameters": [_path_param("id")],
                                  "get": _op("One agreement: policy, parties, dataset, revoked")},
        **_transfer_paths(),
        "/api/policies/validate": {"post": _op("List every problem of an ODRL policy before it is published",
                                               ok={"type": "object", "properties": {
                                                   "valid": {"type": "boolean"},
                                                   "problems": {"type": "array", "items": {"type": "string"}}}},
                                               body={"type": "object"})},
        "/api/policies/check": {"post": _op("Evaluate a request against a policy: decision and reasons",
                                            body={"type": "object", "required": ["policy", "request"]})},
        "/api/datasets": {"get": _op("Published datasets and every recorded version")},
        "/api/datasets/{dataset_id}/publish": {"post": _publish_op()},
        "/api/catalog/crawl": {"post": _op("Crawl every participant's catalogue now (hub only)")},
        "/api/catalog/search": {"get": _search_op()},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Passerelle management API — {node.name}", "version": "1"},
        "servers": [{"url": node.public_url}],
        "components": {
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string"}, "message": {"type": "string"}}}},
        },
        "security": [{"admin": []}],
        "paths": paths,
    }
