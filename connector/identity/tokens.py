"""Self-issued ID tokens and the request verification pipeline (trust.md §1.2, steps 1–10 and 12).

Step 11 (membership) needs a network call to the caller's credential service and lives in ``membership.py``.
The pipeline stops at the first failure and raises ``AuthError(code, reason)``; callers log the code in an
``auth.rejected`` audit entry and answer with a generic body (``AuthError.http_status``).

Step order matters: the caller's DID is checked against the participant registry (4) before anything is resolved
(6), so a forged ``iss`` never makes us fetch a URL. The jti is consumed (10) only once the token is otherwise valid,
so garbage cannot fill the replay store.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from .did import DidDocument, parse_did_web
from .errors import AuthError, DIDError, IdentityError, JWSError
from .jws import MAX_HEADER_BYTES, ParsedJWS, parse_compact, sign_compact, verify_signature
from .keys import SigningKey
from .participants import Participant

__all__ = ["issue_self_token", "verify_request", "check_counterparty", "VerifiedCaller", "ReplayStore",
           "InMemoryReplayStore", "ParticipantRegistry", "DidResolver", "issue_access_token", "verify_access_token",
           "AccessGrant", "TOKEN_LIFETIME", "MAX_TOKEN_LIFETIME", "LEEWAY", "AUTH_CODES", "ACCESS_TOKEN_TYP"]

TOKEN_LIFETIME = 120
MAX_TOKEN_LIFETIME = 600  # EDC issues 600 s tokens; accepted for interoperability (DESIGN §4)
LEEWAY = 5
MAX_AUTHORIZATION_BYTES = 8 * 1024
MAX_JTI_LENGTH = 128
ACCESS_TOKEN_TYP = "cs-access+jwt"
MAX_ACCESS_TOKEN_LIFETIME = 300

#: Every code ``verify_request`` may raise, with the pipeline step it comes from.
AUTH_CODES = {
    "NO_TOKEN": 1, "MALFORMED": 1, "OVERSIZE": 1, "NON_CANONICAL": 2, "DUPLICATE_KEY": 2, "BAD_ALG": 2,
    "FORBIDDEN_HEADER": 2, "BAD_TYP": 2, "BAD_CLAIM_TYPE": 3, "ISS_SUB_MISMATCH": 3, "BAD_DID": 3,
    "UNKNOWN_PARTICIPANT": 4, "BAD_KID": 5, "UNRESOLVABLE": 6, "DID_MISMATCH": 6, "UNKNOWN_KEY": 6, "BAD_KEY": 6,
    "BAD_SIGNATURE": 7, "WRONG_AUDIENCE": 8, "MISSING_CLAIM": 9, "EXPIRED": 9, "NOT_YET_VALID": 9,
    "ISSUED_IN_FUTURE": 9, "LIFETIME_TOO_LONG": 9, "REPLAY": 10, "NOT_COUNTERPARTY": 12,
}


class ReplayStore(Protocol):
    def insert(self, iss: str, jti: str, expires_at: int) -> bool:
        """Record (iss, jti) atomically; False if it was already there (a unique-key violation)."""


class ParticipantRegistry(Protocol):
    def get(self, did: str) -> Participant | None: ...


class DidResolver(Protocol):
    def resolve(self, did: str, *, refresh: bool = False) -> DidDocument: ...


class InMemoryReplayStore:
    """A process-local replay store for tests and single-process tools; the node uses its database table."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def insert(self, iss: str, jti: str, expires_at: int) -> bool:
        with self._lock:
            if (iss, jti) in self._seen:
                return False
            self._seen[(iss, jti)] = expires_at
            return True

    def purge(self, now: float) -> int:
        """Drop entries whose token can no longer verify anyway; returns how many."""
        with self._lock:
            old = [k for k, exp in self._seen.items() if exp < now]
            for k in old:
                del self._seen[k]
            return len(old)

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class VerifiedCaller:
    """What the pipeline proved about a request's sender."""

    did: str
    kid: str
    jti: str
    iat: int
    exp: int
    participant: Participant
    token: str | None  # the caller's access token for its credential service (step 11)


def issue_self_token(key: SigningKey, aud: str, now: float, *, lifetime: int = TOKEN_LIFETIME,
                     token: str | None = None, jti: str | None = None) -> str:
    """A fresh single-use token for one outgoing request: iss = sub = our DID, aud = the peer's DID."""
    if not 0 < lifetime <= MAX_TOKEN_LIFETIME:
        raise ValueError(f"token lifetime must be 1..{MAX_TOKEN_LIFETIME} s")
    iat = int(now)
    claims: dict[str, Any] = {"iss": key.did, "sub": key.did, "aud": aud, "iat": iat, "exp": iat + lifetime,
                              "jti": jti or str(uuid.uuid4())}
    if token is not None:
        claims["token"] = token
    return sign_compact({"typ": "JWT", "kid": key.kid}, claims, key.private_key)


def _bearer(authorization: str | None) -> str:
    if authorization is None or authorization == "":
        raise AuthError("NO_TOKEN", "no Authorization header")
    if not isinstance(authorization, str) or len(authorization) > MAX_AUTHORIZATION_BYTES:
        raise AuthError("OVERSIZE", f"Authorization header longer than {MAX_AUTHORIZATION_BYTES} bytes")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token.strip():
        raise AuthError("MALFORMED", "Authorization is not 'Bearer <token>'")
    return token.strip()


def _audience_ok(aud: Any, our_did: str) -> bool:
    return aud == our_did or (isinstance(aud, list) and aud == [our_did])


def verify_request(authorization: str | None, *, our_did: str, now: float, registry: ParticipantRegistry,
                   resolver: DidResolver, replay: ReplayStore, counterparty: str | None = None,
                   leeway: int = LEEWAY, max_lifetime: int = MAX_TOKEN_LIFETIME) -> VerifiedCaller:
    """Run steps 1–10 (and 12 when ``counterparty`` is known) on an ``Authorization`` header value."""
    token = _bearer(authorization)                                            # 1
    try:
        parsed = parse_compact(token, typ="JWT", max_bytes=MAX_AUTHORIZATION_BYTES)   # 2 (and strict payload)
    except JWSError as exc:
        raise AuthError(exc.code, exc.reason) from None
    claims = parsed.payload
    iss = claims.get("iss")                                                   # 3
    if not isinstance(iss, str) or iss != claims.get("sub"):
        raise AuthError("ISS_SUB_MISMATCH", "iss and sub must be the same DID")
    try:
        parse_did_web(iss)
    except DIDError as exc:
        raise AuthError("BAD_DID", exc.reason) from None
    try:                                                                      # 4
        participant = registry.get(iss)
    except IdentityError as exc:  # no verified participant list at all: fail closed
        raise AuthError("UNKNOWN_PARTICIPANT", f"participant list unavailable: {exc.reason}") from None
    if participant is None or not participant.active:
        raise AuthError("UNKNOWN_PARTICIPANT", f"{iss} is not an active participant")
    kid = parsed.kid                                                          # 5
    if kid is not None and not kid.startswith(iss + "#"):
        raise AuthError("BAD_KID", f"kid {kid!r} does not belong to {iss}")
    kid, public_key = _caller_key(parsed, iss, kid, resolver)                 # 6
    try:                                                                      # 7
        verify_signature(parsed, public_key)
    except JWSError as exc:
        raise AuthError(exc.code, exc.reason) from None
    if not _audience_ok(claims.get("aud"), our_did):                          # 8
        raise AuthError("WRONG_AUDIENCE", f"aud {claims.get('aud')!r} is not {our_did}")
    iat, exp = _check_times(claims, now, leeway, max_lifetime)                # 9
    jti = claims.get("jti")                                                   # 10
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise AuthError("MISSING_CLAIM", "jti must be a non-empty string")
    if not replay.insert(iss, jti, exp + leeway):
        raise AuthError("REPLAY", f"jti {jti} from {iss} was already used")
    caller_token = claims.get("token")
    if caller_token is not None and not isinstance(caller_token, str):
        raise AuthError("MALFORMED", "claim 'token' must be a string")
    caller = VerifiedCaller(iss, kid, jti, iat, exp, participant, caller_token)
    if counterparty is not None:                                              # 12
        check_counterparty(caller, counterparty)
    return caller


def check_counterparty(caller: VerifiedCaller, counterparty: str) -> None:
    """Step 12: on process endpoints the authenticated DID must be the process counterparty (else a DSP 404)."""
    if caller.did != counterparty:
        raise AuthError("NOT_COUNTERPARTY", f"{caller.did} is not the counterparty of this process")


def _caller_key(parsed: ParsedJWS, iss: str, kid: str | None, resolver: DidResolver):
    try:
        doc = resolver.resolve(iss)
        if doc.id != iss:
            raise AuthError("DID_MISMATCH", f"document id {doc.id} is not {iss}")
        if kid is None:
            return doc.sole_key("capabilityInvocation")
        if kid not in doc.relationships.get("capabilityInvocation", ()):
            # A key we have not seen may be a rotation: refetch (the resolver rate-limits this) and look again.
            doc = resolver.resolve(iss, refresh=True)
        return kid, doc.key(kid, "capabilityInvocation")
    except IdentityError as exc:
        code = exc.code if isinstance(exc, DIDError) and exc.code in AUTH_CODES else "UNRESOLVABLE"
        raise AuthError(code, exc.reason) from None


def _check_times(claims: dict[str, Any], now: float, leeway: int, max_lifetime: int) -> tuple[int, int]:
    iat, exp, nbf = claims.get("iat"), claims.get("exp"), claims.get("nbf")
    if iat is None or exp is None:
        raise AuthError("MISSING_CLAIM", "iat and exp are required")
    if exp <= now - leeway:
        raise AuthError("EXPIRED", f"token expired at {exp} (now {int(now)}, leeway {leeway} s)")
    if iat > now + leeway:
        raise AuthError("ISSUED_IN_FUTURE", f"token issued at {iat}, after now {int(now)} + {leeway} s")
    if nbf is not None and nbf > now + leeway:
        raise AuthError("NOT_YET_VALID", f"token not valid before {nbf}")
    if exp - iat > max_lifetime or exp < iat:
        raise AuthError("LIFETIME_TOO_LONG", f"token lifetime {exp - iat} s, limit {max_lifetime} s")
    return iat, exp


# --- the ``token`` claim: access to our credential service, bound to one verifier and its scopes ---------------

@dataclass(frozen=True)
class AccessGrant:
    verifier: str
    scopes: tuple[str, ...]
    exp: int


def issue_access_token(key: SigningKey, verifier_did: str, scopes: list[str] | tuple[str, ...], now: float, *,
                       lifetime: int = MAX_ACCESS_TOKEN_LIFETIME) -> str:
    """What a caller puts in its SI token's ``token`` claim so that ``verifier_did`` may query our ``/cs``."""
    if not 0 < lifetime <= MAX_ACCESS_TOKEN_LIFETIME:
        raise ValueError(f"access token lifetime must be 1..{MAX_ACCESS_TOKEN_LIFETIME} s")
    iat = int(now)
    claims = {"iss": key.did, "sub": verifier_did, "aud": key.did, "iat": iat, "exp": iat + lifetime,
              "jti": str(uuid.uuid4()), "scope": list(scopes)}
    return sign_compact({"typ": ACCESS_TOKEN_TYP, "kid": key.kid}, claims, key.private_key)


def verify_access_token(token: Any, key: SigningKey, verifier_did: str, now: float, *,
                        leeway: int = LEEWAY) -> AccessGrant:
    """Our credential service checks that it minted ``token`` for this verifier and that it is still valid."""
    try:
        parsed = parse_compact(token, typ=ACCESS_TOKEN_TYP, typ_required=True, max_bytes=MAX_HEADER_BYTES)
        if parsed.kid != key.kid:
            raise AuthError("UNKNOWN_KEY", "access token was not signed with our current key")
        verify_signature(parsed, key.public_key)
    except JWSError as exc:
        raise AuthError(exc.code, f"access token: {exc.reason}") from None
    claims = parsed.payload
    if claims.get("iss") != key.did or claims.get("aud") != key.did:
        raise AuthError("WRONG_AUDIENCE", "access token was not minted by and for this node")
    if claims.get("sub") != verifier_did:
        raise AuthError("WRONG_AUDIENCE", f"access token is bound to {claims.get('sub')!r}, not {verifier_did}")
    iat, exp = _check_times(claims, now, leeway, MAX_ACCESS_TOKEN_LIFETIME)
    scopes = claims.get("scope")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise AuthError("MALFORMED", "access token scope must be a list of strings")
    return AccessGrant(verifier_did, tuple(scopes), exp)
