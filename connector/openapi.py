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
