"""A strict compact JWS (RFC 7515) for Ed25519 only, on top of ``cryptography``.

Why hand-written: the profile (trust.md §1.2) needs less than any JOSE library offers and refuses more. We emit
``alg: EdDSA`` (what EDC/Nimbus verify today) and accept ``EdDSA`` or the fully-specified ``Ed25519`` (RFC 9864);
nothing else, so there is no algorithm confusion to get wrong. Headers that point at keys elsewhere (``jku``,
``x5u``, ``x5c``, ``jwk``) or demand extensions (``crit``) are refused: keys come only from DID documents resolved
through the participant list. Base64url must be canonical and unpadded, JSON must not repeat keys, the numeric
dates must be integers, and the signature must be exactly 64 bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import JWSError
from .strict_json import dumps_compact, loads_object

__all__ = ["ParsedJWS", "sign_compact", "parse_compact", "verify_signature", "verify_compact", "b64url_encode",
           "b64url_decode", "EMITTED_ALG", "ACCEPTED_ALGS", "FORBIDDEN_HEADERS", "MAX_HEADER_BYTES",
           "MAX_TOKEN_BYTES"]

EMITTED_ALG = "EdDSA"
ACCEPTED_ALGS = frozenset({"EdDSA", "Ed25519"})
FORBIDDEN_HEADERS = ("jku", "x5u", "x5c", "jwk", "crit")
MAX_HEADER_BYTES = 8 * 1024
MAX_TOKEN_BYTES = 256 * 1024  # a VP carrying a few VC-JWTs; the Authorization header has its own 8 KiB limit
NUMERIC_DATES = ("exp", "iat", "nbf")
_MAX_NUMERIC_DATE = 2**53 - 1
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Last character allowed when 2 or 3 characters remain: its unused low bits must be zero (RFC 4648 §3.5), so that
# exactly one string encodes each byte sequence.
_CANONICAL_LAST = {2: frozenset(_ALPHABET[::16]), 3: frozenset(_ALPHABET[::4])}


def b64url_decode(text: str, *, what: str = "segment") -> bytes:
    """Decode canonical unpadded base64url; anything else (padding, other alphabets, stray bits) is refused."""
    if not isinstance(text, str) or _B64URL.fullmatch(text) is None or len(text) % 4 == 1:
        raise JWSError("NON_CANONICAL", f"{what} is not unpadded base64url")
    rest = len(text) % 4
    if rest and text[-1] not in _CANONICAL_LAST[rest]:
        raise JWSError("NON_CANONICAL", f"{what} is not canonical base64url (non-zero trailing bits)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - the checks above admit only decodable text
        raise JWSError("NON_CANONICAL", f"{what} is not base64url") from None


@dataclass(frozen=True)
class ParsedJWS:
    """A structurally valid JWS whose signature has not been checked yet: do not trust ``payload`` before that."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str | None:
        return self.header.get("kid")


def sign_compact(header: dict[str, Any], payload: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """Sign ``payload`` (a JSON object) with ``key``; ``alg`` is always set to ``EdDSA`` first in the header."""
    for name in FORBIDDEN_HEADERS:
        if name in header:
            raise JWSError("FORBIDDEN_HEADER", f"header field {name!r} is never emitted")
    full = {"alg": EMITTED_ALG, **{k: v for k, v in header.items() if k != "alg"}}
    signing_input = (b64url_encode(dumps_compact(full)) + "." + b64url_encode(dumps_compact(payload))).encode("ascii")
    return signing_input.decode("ascii") + "." + b64url_encode(key.sign(signing_input))


def parse_compact(token: str, *, typ: str | None = None, typ_required: bool = False,
                  max_bytes: int = MAX_TOKEN_BYTES) -> ParsedJWS:
    """Parse and check everything but the signature.

    ``typ``: when given, a ``typ`` header must equal it (case-insensitively, ``application/`` prefix allowed, as
    RFC 7515 §4.1.9 says); ``typ_required`` also refuses its absence.
    """
    if not isinstance(token, str):
        raise JWSError("MALFORMED", "token is not a string")
    if len(token) > max_bytes:
        raise JWSError("OVERSIZE", f"token is {len(token)} bytes, limit {max_bytes}")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSError("MALFORMED", f"compact JWS has {len(parts)} parts, expected 3")
    h64, p64, s64 = parts
    if len(h64) > MAX_HEADER_BYTES:
        raise JWSError("OVERSIZE", f"header is {len(h64)} bytes, limit {MAX_HEADER_BYTES}")
    header = _json(b64url_decode(h64, what="header"), "header")
    _check_header(header, typ, typ_required)
    payload = _json(b64url_decode(p64, what="payload"), "payload")
    for name in NUMERIC_DATES:
        if name in payload:
            value = payload[name]
            if type(value) is not int or not 0 <= value <= _MAX_NUMERIC_DATE:
                raise JWSError("BAD_CLAIM_TYPE", f"claim {name!r} must be an integer number of seconds")
    signature = b64url_decode(s64, what="signature")
    if len(signature) != 64:
        raise JWSError("MALFORMED", f"signature is {len(signature)} bytes, Ed25519 needs 64")
    return ParsedJWS(header, payload, (h64 + "." + p64).encode("ascii"), signature)


def verify_signature(parsed: ParsedJWS, public_key: Ed25519PublicKey) -> None:
    """Raise ``JWSError('BAD_SIGNATURE')`` unless ``public_key`` signed ``parsed``."""
    try:
        public_key.verify(parsed.signature, parsed.signing_input)
    except InvalidSignature:
        raise JWSError("BAD_SIGNATURE", "signature does not verify with the key") from None


def verify_compact(token: str, public_key: Ed25519PublicKey, *, typ: str | None = None,
                   typ_required: bool = False, max_bytes: int = MAX_TOKEN_BYTES) -> ParsedJWS:
    """Parse, then verify with a key already known (pinned trust anchor, own key)."""
    parsed = parse_compact(token, typ=typ, typ_required=typ_required, max_bytes=max_bytes)
    verify_signature(parsed, public_key)
    return parsed


def _json(raw: bytes, what: str) -> dict[str, Any]:
    value, code, reason = loads_object(raw, what=what, max_bytes=MAX_TOKEN_BYTES)
    if value is None:
        raise JWSError(code, reason)
    return value


def _normal_typ(value: str) -> str:
    value = value.lower()
    return value[len("application/"):] if value.startswith("application/") else value


def _check_header(header: dict[str, Any], typ: str | None, typ_required: bool) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ACCEPTED_ALGS:
        raise JWSError("BAD_ALG", f"alg {alg!r} refused; accepted: EdDSA, Ed25519")
    forbidden = [name for name in FORBIDDEN_HEADERS if name in header]
    if forbidden:
        raise JWSError("FORBIDDEN_HEADER", f"header fields {', '.join(forbidden)} are refused")
    if "b64" in header:
        raise JWSError("FORBIDDEN_HEADER", "header field 'b64' is refused")
    for name in ("kid", "typ", "cty"):
        if name in header and not isinstance(header[name], str):
            raise JWSError("MALFORMED", f"header field {name!r} must be a string")
    if typ is not None:
        got = header.get("typ")
        if got is None:
            if typ_required:
                raise JWSError("BAD_TYP", f"header typ missing, expected {typ!r}")
        elif _normal_typ(got) != _normal_typ(typ):
            raise JWSError("BAD_TYP", f"header typ {got!r}, expected {typ!r}")
