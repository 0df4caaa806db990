"""Data-plane tokens (trust.md §3.2): a short-lived access token per started transfer and a rotating refresh token.

The access token is a compact JWS (EdDSA) signed with the node's data-plane key — a key of its own, created with
mode 0600 in the node's key folder on first use, so that rotating it never touches the node's identity key. Claims:
iss = aud = the provider's DID, sub = the consumer's DID, ``tid`` (the provider's pid of the transfer), ``agr``
(agreement id), ``ds`` (dataset id), ``jti`` and ``exp`` (5 minutes). Only the current jti of a STARTED transfer is
honoured (last token wins), so suspending, terminating or revoking cuts access at once, whatever ``exp`` says.

The refresh token is 256 random bits; only its SHA-256 is stored, bound to the transfer and to the consumer DID.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.identity.jws import JWSError, parse_compact, sign_compact, verify_signature
from connector.identity.keys import generate_key, load_private_key, write_private_key

__all__ = ["ACCESS_TTL", "TokenError", "AccessClaims", "dataplane_key", "issue_access", "read_access",
           "new_refresh", "refresh_hash"]

ACCESS_TTL = 300
TYP = "passerelle-dataplane+jwt"
_KEYS: dict[str, Any] = {}
_LOCK = threading.Lock()


class TokenError(Exception):
    """A refused data-plane token; ``code`` is recorded with the refusal."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AccessClaims:
    provider: str
    consumer: str
    transfer: str
    agreement: str
    dataset: str
    jti: str
    exp: int


def dataplane_key(node: Any) -> Any:
    """The node's data-plane signing key (created on first use next to its other keys)."""
    path = Path(node.config.path).parent / "keys" / "dataplane.pem"
    with _LOCK:
        key = _KEYS.get(str(path))
        if key is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                try:
                    write_private_key(path, generate_key())
                except Exception:  # noqa: BLE001 - another worker created it first
                    pass
            key = _KEYS[str(path)] = load_private_key(path)
    return key


def issue_access(node: Any, *, consumer: str, transfer: str, agreement: str, dataset: str,
                 now: float) -> tuple[str, str, int]:
    """A fresh access token: (token, jti, exp)."""
    jti = secrets.token_hex(16)
    exp = int(now) + ACCESS_TTL
    payload = {"iss": node.did, "aud": node.did, "sub": consumer, "tid": transfer, "agr": agreement,
               "ds": dataset, "jti": jti, "iat": int(now), "exp": exp}
    return sign_compact({"typ": TYP, "kid": f"{node.did}#dataplane"}, payload, dataplane_key(node)), jti, exp


def read_access(node: Any, authorization: str | None, now: float, *, leeway: int = 5) -> AccessClaims:
    """Check signature, issuer and expiry of a ``Bearer`` access token; the flow checks come after."""
    if not authorization or not authorization.startswith("Bearer "):
        raise TokenError("NO_TOKEN", "an access token is required (Authorization: Bearer …)")
    try:
        parsed = parse_compact(authorization[7:].strip(), typ=TYP, typ_required=True)
        verify_signature(parsed, dataplane_key(node).public_key())
    except JWSError as e:
        raise TokenError("BAD_TOKEN", f"access token refused: {e}") from None
    p = parsed.payload
    if p.get("iss") != node.did or p.get("aud") != node.did:
        raise TokenError("BAD_TOKEN", "access token was not issued by this node")
    missing = [k for k in ("sub", "tid", "agr", "ds", "jti", "exp") if k not in p]
    if missing:
        raise TokenError("BAD_TOKEN", f"access token lacks {', '.join(missing)}")
    if p["exp"] + leeway < now:
        raise TokenError("EXPIRED", f"access token expired {int(now - p['exp'])} s ago; refresh it")
    return AccessClaims(node.did, p["sub"], p["tid"], p["agr"], p["ds"], p["jti"], p["exp"])


def new_refresh() -> str:
    return secrets.token_urlsafe(32)


def refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
