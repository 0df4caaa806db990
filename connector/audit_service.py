"""The node's exchange log as the rest of the node uses it: one origin per node, entries for events that are not
state changes of a process (refused requests, catalogue responses, catalogue policy decisions).

State changes write their entries themselves inside their own transaction (``connector.audit.append``); this module
is for events whose only effect is the entry, so it opens and commits its own transaction.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

from sqlalchemy.orm import Session

from connector.audit import append, init_log
from connector.audit.log import AuditError, head

__all__ = ["audit_origin", "ensure_log", "record", "token_digest"]


def audit_origin(node: Any) -> str:
    """``host:port/audit/v1``: names the log and its key in checkpoints."""
    host = node.public_url.split("://", 1)[-1].split("/", 1)[0]
    return f"{host}/audit/v1"


def ensure_log(node: Any) -> None:
    """Create the log's head row once (idempotent; every worker may call it)."""
    if getattr(node, "_audit_ready", False):
        return
    with node.session() as s, s.begin():
        try:
            head(s)
        except AuditError:
            init_log(s, audit_origin(node))
    node._audit_ready = True


def record(node: Any, kind: str, body: Mapping[str, Any], *, session: Session | None = None) -> int:
    """Append one entry; in ``session`` (the caller commits) or in a transaction of its own."""
    ensure_log(node)
    if session is not None:
        return append(session, kind, body, node.clock.utcnow())
    with node.session() as s, s.begin():
        return append(s, kind, body, node.clock.utcnow())


def token_digest(authorization: str | None) -> str | None:
    """SHA-256 of a presented token: the log names a refused token without keeping it."""
    if not authorization:
        return None
    return hashlib.sha256(authorization.split(" ", 1)[-1].encode()).hexdigest()
