"""Bitstring Status List (W3C, v1.0): the authority's revocation list, as a VC-JWT, and the verifier's cache.

The bitstring has at least 131,072 bits (16 KiB) so that fetching the list says nothing about which member is being
checked (herd privacy). ``encodedList`` is multibase base64url (prefix ``u``) of the GZIP-compressed bits; bit 0 is
the most significant bit of the first byte. Verifiers cache a list for at most 10 minutes, keep using the last good
copy when the authority is unreachable, and **fail closed** once that copy is older than 24 hours (DESIGN §4).
"""

from __future__ import annotations

import gzip
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from .anchor import TrustAnchor
from .did import did_base_url
from .errors import DIDError, JWSError, StatusListError
from .jws import b64url_decode, b64url_encode, parse_compact, sign_compact, verify_signature
from .keys import SigningKey

__all__ = ["StatusList", "VerifiedStatusList", "CachePolicy", "StatusListCache", "issue_status_list_credential",
           "verify_status_list_credential", "status_entry", "MIN_BITS", "VC_CONTEXT", "rfc3339", "parse_rfc3339"]

MIN_BITS = 131_072
MAX_BITS = 16 * 1024 * 1024 * 8  # 16 MiB uncompressed: far above need, well below a decompression bomb
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
STATUS_PURPOSES = ("revocation", "suspension")
MAX_STATUS_LIST_BYTES = 2 * 1024 * 1024


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: Any) -> int | None:
    """Epoch seconds of an RFC 3339 date-time with an explicit offset, or None when it is not one."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp())


class StatusList:
    """A mutable bitstring; ``True`` at an index means the credential there is revoked (or suspended)."""

    def __init__(self, size: int = MIN_BITS, *, bits: bytes | None = None) -> None:
        if size < MIN_BITS or size % 8:
            raise ValueError(f"a status list has at least {MIN_BITS} bits, a multiple of 8")
        self._bits = bytearray(bits) if bits is not None else bytearray(size // 8)
        if len(self._bits) * 8 != size:
            raise ValueError("bits do not match the size")

    @property
    def size(self) -> int:
        return len(self._bits) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if type(index) is not int or not 0 <= index < self.size:
            raise StatusListError("BAD_INDEX", f"status index {index!r} outside 0..{self.size - 1}")
        return index // 8, 0x80 >> (index % 8)

    def set(self, index: int, value: bool = True) -> None:
        byte, mask = self._locate(index)
        if value:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def get(self, index: int) -> bool:
        byte, mask = self._locate(index)
        return bool(self._bits[byte] & mask)

    def encode(self) -> str:
        return "u" + b64url_encode(gzip.compress(bytes(self._bits), mtime=0))

    @classmethod
    def decode(cls, encoded: Any) -> "StatusList":
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise StatusListError("BAD_LIST", "encodedList must be multibase base64url (prefix 'u')")
        try:
            compressed = b64url_decode(encoded[1:], what="encodedList")
        except JWSError as exc:
            raise StatusListError("BAD_LIST", exc.reason) from None
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(compressed, MAX_BITS // 8 + 1)
        except zlib.error:
            raise StatusListError("BAD_LIST", "encodedList is not GZIP data") from None
        if len(raw) > MAX_BITS // 8 or inflater.unconsumed_tail:
            raise StatusListError("BAD_LIST", "encodedList expands beyond the size limit")
        if not inflater.eof:
            raise StatusListError("BAD_LIST", "encodedList is truncated")
        if len(raw) * 8 < MIN_BITS:
            raise StatusListError("BAD_LIST", f"status list has {len(raw) * 8} bits, at least {MIN_BITS} required")
        return cls(len(raw) * 8, bits=raw)


def status_entry(list_url: str, index: int, *, purpose: str = "revocation") -> dict[str, str]:
    """The ``credentialStatus`` of a credential whose status sits at ``index`` of the list at ``list_url``."""
    return {"id": f"{list_url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
            "statusListIndex": str(index), "statusListCredential": list_url}


def issue_status_list_credential(key: SigningKey, url: str, status_list: StatusList, now: float, *,
                                 purpose: str = "revocation", valid_for: int = 86_400) -> str:
    """The authority's ``BitstringStatusListCredential`` for ``GET /trust/status/{n}``, valid one day."""
    if purpose not in STATUS_PURPOSES:
        raise ValueError(f"status purpose must be one of {STATUS_PURPOSES}")
    credential = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": key.did,
        "validFrom": rfc3339(now),
        "validUntil": rfc3339(now + valid_for),
        "credentialSubject": {"id": url + "#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": status_list.encode()},
    }
    return sign_compact({"typ": "vc+jwt", "cty": "vc", "kid": key.kid}, credential, key.private_key)


@dataclass(frozen=True)
class VerifiedStatusList:
    url: str
    purpose: str
    bits: StatusList
    valid_from: int
    valid_until: int


def verify_status_list_credential(token: Any, anchor: TrustAnchor, *, url: str, now: float,
                                  leeway: int = 5) -> VerifiedStatusList:
    try:
        parsed = parse_compact(token, typ="vc+jwt", typ_required=True, max_bytes=MAX_STATUS_LIST_BYTES)
        verify_signature(parsed, anchor.key(parsed.kid))
    except (JWSError, DIDError) as exc:
        raise StatusListError(f"LIST_{exc.code}", f"status list {url}: {exc.reason}") from None
    vc = parsed.payload
    problems = []
    if vc.get("issuer") != anchor.did:
        problems.append(f"issuer {vc.get('issuer')!r} is not {anchor.did}")
    if vc.get("id") != url:
        problems.append(f"id {vc.get('id')!r} is not the URL it was fetched from")
    types = vc.get("type")
    if not isinstance(types, list) or "BitstringStatusListCredential" not in types:
        problems.append("type lacks BitstringStatusListCredential")
    subject = vc.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        problems.append("credentialSubject is not a BitstringStatusList")
        subject = {}
    purpose = subject.get("statusPurpose")
    if purpose not in STATUS_PURPOSES:
        problems.append(f"statusPurpose {purpose!r} unknown")
    valid_from, valid_until = parse_rfc3339(vc.get("validFrom")), parse_rfc3339(vc.get("validUntil"))
    if valid_from is None or valid_until is None:
        problems.append("validFrom and validUntil must be RFC 3339 date-times")
    if problems:
        raise StatusListError("BAD_LIST", f"status list {url}: " + "; ".join(problems))
    assert valid_from is not None and valid_until is not None
    if valid_from > now + leeway or valid_until <= now - leeway:
        raise StatusListError("LIST_EXPIRED", f"status list {url} is outside its validity period")
    return VerifiedStatusList(url, purpose, StatusList.decode(subject.get("encodedList")), valid_from, valid_until)


@dataclass(frozen=True)
class CachePolicy:
    """How long a fetched list is trusted: refetch after ``ttl`` (≤ 10 min), refuse after ``max_age`` (≤ 24 h)."""

    ttl: float = 600.0
    max_age: float = 86_400.0

    def __post_init__(self) -> None:
        if not 0 < self.ttl <= 600 or not self.ttl <= self.max_age <= 86_400:
            raise ValueError("status list cache: 0 < ttl ≤ 600 s and ttl ≤ max_age ≤ 86,400 s")

    def is_fresh(self, fetched_at: float, now: float) -> bool:
        return now - fetched_at < self.ttl

    def is_usable(self, fetched_at: float, now: float) -> bool:
        return now - fetched_at <= self.max_age


class StatusListCache:
    """Fetches, verifies and caches the authority's status lists; answers "is this credential revoked?".

    Only URLs under the authority's own base URL are fetched (they come from credentials it signed, and this makes
    sure of it). ``fetch(url) -> bytes | str`` is the injected I/O.
    """

    def __init__(self, fetch: Callable[[str], bytes | str], anchor: TrustAnchor, *,
                 policy: CachePolicy = CachePolicy(), insecure_test: bool = False) -> None:
        self._fetch = fetch
        self._anchor = anchor
        self._policy = policy
        self._prefix = did_base_url(anchor.did, insecure_test=insecure_test) + "/"
        self._cache: dict[str, tuple[VerifiedStatusList, float]] = {}
        self._lock = threading.Lock()

    def get(self, url: str, now: float) -> VerifiedStatusList:
        if not isinstance(url, str) or not url.startswith(self._prefix) or len(url) > 2048:
            raise StatusListError("BAD_ENTRY", f"status list URL {url!r} is not served by the authority")
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and self._policy.is_fresh(cached[1], now):
            return cached[0]
        try:
            data = self._fetch(url)
            token = data.decode("ascii") if isinstance(data, (bytes, bytearray)) else data
            verified = verify_status_list_credential(token.strip(), self._anchor, url=url, now=now)
        except Exception as exc:  # unreachable or refused: keep the last good copy while it is usable
            if cached is not None and self._policy.is_usable(cached[1], now):
                return cached[0]
            reason = exc.reason if isinstance(exc, StatusListError) else f"{type(exc).__name__}: {exc}"
            raise StatusListError("STATUS_UNAVAILABLE", f"no usable status list {url}: {reason}") from None
        with self._lock:
            self._cache[url] = (verified, now)
        return verified

    def is_revoked(self, entry: Any, now: float) -> bool:
        """True if the ``credentialStatus`` entry's bit is set; raises (fail closed) when it cannot be told."""
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            raise StatusListError("BAD_ENTRY", "credentialStatus is not a BitstringStatusListEntry")
        index = entry.get("statusListIndex")
        if not isinstance(index, str) or not (index.isascii() and index.isdigit()) or len(index) > 10:
            raise StatusListError("BAD_ENTRY", "statusListIndex must be a decimal string")
        verified = self.get(entry.get("statusListCredential"), now)
        if entry.get("statusPurpose") != verified.purpose:
            raise StatusListError("BAD_ENTRY", "statusPurpose differs from the list's")
        return verified.bits.get(int(index))
