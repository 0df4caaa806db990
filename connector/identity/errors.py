"""Exception types of the identity layer.

Every refusal carries a stable ``code`` (for ``auth.rejected`` audit entries and metrics) and a human ``reason``
(for logs only: callers answer with a generic body, as trust.md §1.2 requires).
"""

from __future__ import annotations

__all__ = ["IdentityError", "JWSError", "KeyFileError", "DIDError", "RegistryError", "StatusListError",
           "CredentialError", "AuthError"]


class IdentityError(Exception):
    """Base class: a refusal with a machine-readable code and a reason a person can act on."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class JWSError(IdentityError):
    """A compact JWS that is malformed, not canonical, uses a refused algorithm or header, or does not verify."""


class KeyFileError(IdentityError):
    """A key file that is missing, unreadable, not Ed25519, or readable by others."""


class DIDError(IdentityError):
    """A DID, DID URL or DID document that is malformed, too large, or does not hold the key asked for."""


class RegistryError(IdentityError):
    """A participant list that does not verify, or a DID that is not an active participant."""


class StatusListError(IdentityError):
    """A status list credential that does not verify, or is unavailable for too long (fail closed)."""


class CredentialError(IdentityError):
    """A verifiable credential or presentation that is refused."""


class AuthError(IdentityError):
    """A request refused by the verification pipeline (trust.md §1.2)."""

    @property
    def http_status(self) -> int:
        """401 for every refusal, 404 when a valid caller is not the process counterparty (DSP bindings)."""
        return 404 if self.code == "NOT_COUNTERPARTY" else 401
