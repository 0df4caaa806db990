"""The pinned trust anchor: the authority's DID and the issuer keys it signs credentials and lists with.

Every node pins the authority (hub) DID in its config. The issuer keys come from the authority's DID document
(``assertionMethod`` entries whose fragment starts with ``issuer-``) or straight from config as JWKs; the audit key,
also under ``assertionMethod``, is deliberately not an issuer key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .did import DidDocument, parse_did_web
from .errors import DIDError
from .keys import jwk_to_public_key

__all__ = ["TrustAnchor"]


@dataclass(frozen=True)
class TrustAnchor:
    did: str
    keys: Mapping[str, Ed25519PublicKey]

    def __post_init__(self) -> None:
        parse_did_web(self.did)
        for kid in self.keys:
            if not kid.startswith(self.did + "#"):
                raise DIDError("BAD_KID", f"issuer key {kid!r} does not belong to {self.did}")

    def key(self, kid: Any) -> Ed25519PublicKey:
        """The issuer key named by a JWS ``kid``; unknown kids are refused (no fetching on demand)."""
        if not isinstance(kid, str) or kid not in self.keys:
            raise DIDError("UNKNOWN_KEY", f"{kid!r} is not an issuer key of the trust anchor {self.did}")
        return self.keys[kid]

    @classmethod
    def from_did_document(cls, doc: DidDocument) -> "TrustAnchor":
        keys = {kid: key for kid, key in doc.keys("assertionMethod").items()
                if kid.split("#", 1)[1].startswith("issuer-")}
        if not keys:
            raise DIDError("UNKNOWN_KEY", f"{doc.id} publishes no issuer key under assertionMethod")
        return cls(doc.id, keys)

    @classmethod
    def from_jwks(cls, did: str, jwks: Mapping[str, Mapping[str, Any]]) -> "TrustAnchor":
        """From config: ``{"did:web:hub#issuer-2026-11": {"kty": "OKP", "crv": "Ed25519", "x": "…"}}``."""
        return cls(did, {kid: jwk_to_public_key(dict(jwk)) for kid, jwk in jwks.items()})
