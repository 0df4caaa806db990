"""What negotiation and transfer share: the two roles, the protocol error, and the message fingerprint.

Kept apart so the transfer state machine (in ``connector.transfer``) follows exactly the same conventions as the
negotiation one without importing it.
"""

from __future__ import annotations

import hashlib
import uuid
from enum import Enum
from typing import Any

from .canonical import canonical
from .schemas import DSP_CONTEXT

__all__ = ["Role", "ProtocolError", "fingerprint", "same_id"]


class Role(str, Enum):
    """The two parties of a DSP process. The state tables never ask which one *we* are."""

    PROVIDER = "PROVIDER"
    CONSUMER = "CONSUMER"

    @property
    def other(self) -> "Role":
        return Role.CONSUMER if self is Role.PROVIDER else Role.PROVIDER

    def __str__(self) -> str:  # readable in error reasons
        return self.value.lower()


class ProtocolError(Exception):
    """A message the protocol refuses; the HTTP layer turns it into the DSP error body with ``status``.

    ``code`` is a short stable string (DSP leaves codes free), ``reasons`` a non-empty list of plain sentences.
    A ProtocolError never changes the state of a process.
    """

    status: int = 400
    error_type: str = "Error"

    def __init__(self, code: str, reasons: list[str] | str, *, status: int | None = None):
        self.code = code
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons) or [code]
        if status is not None:
            self.status = status
        super().__init__(f"{code}: " + "; ".join(self.reasons))

    def body(self, provider_pid: str | None, consumer_pid: str | None) -> dict[str, Any]:
        """The DSP error object (``ContractNegotiationError`` / ``TransferError``) for this refusal.

        Unknown pids (e.g. a refused initial message) are sent as empty strings: the schemas require both keys.
        """
        return {
            "@context": [DSP_CONTEXT],
            "@type": self.error_type,
            "providerPid": provider_pid or "",
            "consumerPid": consumer_pid or "",
            "code": self.code,
            "reason": [str(r) for r in self.reasons],
        }


def fingerprint(message: dict[str, Any]) -> str:
    """SHA-256 of the RFC 8785 canonical form: two deliveries of one message match whatever their key order."""
    return hashlib.sha256(canonical(message)).hexdigest()


def same_id(a: str | None, b: str | None) -> bool:
    """Compare process ids leniently: exact match, or equal once a ``urn:uuid:`` prefix and case are ignored.

    Peers (the conformance kit among them) send plain UUIDs where we would send ``urn:uuid:`` IRIs.
    """
    if a is None or b is None:
        return False
    if a == b:
        return True

    def norm(x: str) -> str:
        x = x.strip()
        bare = x[9:] if x.lower().startswith("urn:uuid:") else x
        try:
            return str(uuid.UUID(bare))
        except ValueError:
            return x

    return norm(a) == norm(b)
