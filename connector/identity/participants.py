"""The authority-signed participant list, and the only DID resolver of the node.

The list is DCP's "secure list of participant DIDs" (trust.md §1.2): a JWS by the authority's issuer key holding
``{iss, iat, version, participants: [{did, legalName, roles, status, url?}]}``. A DID is resolved only if it is on
the last good list with status ``active``; that check runs before any network call, which removes SSRF through
attacker-chosen DIDs. Fetched documents are cached (5 min), and a refetch forced by an unknown key id happens at
most once a minute per DID.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .anchor import TrustAnchor
from .did import DidDocument, did_to_url, parse_did_document, parse_did_web
from .errors import DIDError, IdentityError, JWSError, RegistryError
from .jws import parse_compact, sign_compact, verify_signature
from .keys import SigningKey

__all__ = ["Participant", "ParticipantList", "sign_participant_list", "verify_participant_list",
           "ParticipantResolver", "ROLES", "STATUSES", "PARTICIPANT_LIST_TYP"]

ROLES = ("regional_node", "departmental_node", "private_provider", "national_hub", "auditor")
STATUSES = ("active", "suspended", "revoked")
PARTICIPANT_LIST_TYP = "participants+jwt"
MAX_PARTICIPANTS = 10_000
MAX_LIST_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Participant:
    did: str
    legal_name: str
    roles: tuple[str, ...]
    status: str = "active"
    url: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"did": self.did, "legalName": self.legal_name, "roles": list(self.roles),
                               "status": self.status}
        if self.url is not None:
            out["url"] = self.url
        return out

    @classmethod
    def from_json(cls, entry: Any, where: str) -> "Participant":
        problems = []
        if not isinstance(entry, dict):
            raise RegistryError("BAD_LIST", f"{where} is not an object")
        try:
            parse_did_web(entry.get("did"))
        except DIDError as exc:
            problems.append(f"did: {exc.reason}")
        if not isinstance(entry.get("legalName"), str) or not entry["legalName"].strip():
            problems.append("legalName must be a non-empty string")
        roles = entry.get("roles")
        if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
            problems.append(f"roles must be a non-empty list of {', '.join(ROLES)}")
        if entry.get("status") not in STATUSES:
            problems.append(f"status must be one of {', '.join(STATUSES)}")
        if "url" in entry and not isinstance(entry["url"], str):
            problems.append("url must be a string")
        if problems:
            raise RegistryError("BAD_LIST", f"{where}: " + "; ".join(problems))
        return cls(entry["did"], entry["legalName"], tuple(roles), entry["status"], entry.get("url"))


@dataclass(frozen=True)
class ParticipantList:
    """A verified list. ``get`` and ``is_active`` make it the registry the token pipeline takes."""

    issuer: str
    iat: int
    version: int
    participants: Mapping[str, Participant]

    def get(self, did: str) -> Participant | None:
        return self.participants.get(did)

    def is_active(self, did: str) -> bool:
        found = self.participants.get(did)
        return found is not None and found.active


def sign_participant_list(key: SigningKey, participants: Iterable[Participant], *, version: int, now: int) -> str:
    """The authority signs the list (``GET /trust/participants`` serves the result as is)."""
    entries = [p.to_json() for p in participants]
    dids = [e["did"] for e in entries]
    if len(set(dids)) != len(dids):
        raise RegistryError("BAD_LIST", "a DID appears twice in the participant list")
    for i, entry in enumerate(entries):
        Participant.from_json(entry, f"participants[{i}]")
    payload = {"iss": key.did, "iat": int(now), "version": int(version), "participants": entries}
    return sign_compact({"typ": PARTICIPANT_LIST_TYP, "kid": key.kid}, payload, key.private_key)


def verify_participant_list(token: str, anchor: TrustAnchor, *, now: int | float | None = None,
                            current: ParticipantList | None = None, leeway: int = 5) -> ParticipantList:
    """Verify a fetched list with the authority's key; refuse a rollback to an older version than ``current``."""
    try:
        parsed = parse_compact(token, typ=PARTICIPANT_LIST_TYP, typ_required=True, max_bytes=MAX_LIST_BYTES)
        verify_signature(parsed, anchor.key(parsed.kid))
    except (JWSError, DIDError) as exc:
        raise RegistryError(f"LIST_{exc.code}", f"participant list: {exc.reason}") from None
    body = parsed.payload
    if body.get("iss") != anchor.did:
        raise RegistryError("BAD_LIST", f"participant list issued by {body.get('iss')!r}, not {anchor.did}")
    version, iat = body.get("version"), body.get("iat")
    if type(version) is not int or version < 0 or type(iat) is not int:
        raise RegistryError("BAD_LIST", "participant list needs integer 'version' and 'iat'")
    if now is not None and iat > now + leeway:
        raise RegistryError("BAD_LIST", "participant list is issued in the future")
    entries = body.get("participants")
    if not isinstance(entries, list) or len(entries) > MAX_PARTICIPANTS:
        raise RegistryError("BAD_LIST", f"participants must be a list of at most {MAX_PARTICIPANTS}")
    participants: dict[str, Participant] = {}
    for i, entry in enumerate(entries):
        participant = Participant.from_json(entry, f"participants[{i}]")
        if participant.did in participants:
            raise RegistryError("BAD_LIST", f"{participant.did} appears twice")
        participants[participant.did] = participant
    if current is not None and (version < current.version or (version == current.version and iat < current.iat)):
        raise RegistryError("LIST_ROLLBACK", f"list version {version} is older than the one held ({current.version})")
    return ParticipantList(anchor.did, iat, version, participants)


@dataclass
class _Entry:
    document: DidDocument
    fetched_at: float


class ParticipantResolver:
    """Resolves DIDs of active participants only; thread-safe; I/O through the injected ``fetch(url) -> bytes``.

    ``fetch`` must not follow redirects and should time out after 2 s (``connector.identity.fetch.http_fetcher``
    does both). ``participants`` is the current list or a callable returning it (the list is refreshed elsewhere).
    """

    def __init__(self, participants: ParticipantList | Callable[[], ParticipantList],
                 fetch: Callable[[str], bytes], clock: Callable[[], float], *, insecure_test: bool = False,
                 ttl: float = 300.0, refetch_interval: float = 60.0, max_entries: int = 256) -> None:
        self._participants = participants if callable(participants) else (lambda: participants)
        self._fetch = fetch
        self._clock = clock
        self._insecure_test = insecure_test
        self._ttl = ttl
        self._refetch_interval = refetch_interval
        self._max_entries = max_entries
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def resolve(self, did: str, *, refresh: bool = False) -> DidDocument:
        """The DID document of an active participant; ``refresh`` asks for a refetch (rate-limited)."""
        participant = self._participants().get(did)
        if participant is None or not participant.active:
            raise DIDError("UNKNOWN_PARTICIPANT", f"{did!r} is not an active participant; not resolved")
        now = self._clock()
        with self._lock:
            entry = self._cache.get(did)
        if entry is not None:
            age = now - entry.fetched_at
            if age < self._ttl and not (refresh and age >= self._refetch_interval):
                return entry.document
        url = did_to_url(did, insecure_test=self._insecure_test)
        try:
            data = self._fetch(url)
        except IdentityError:
            raise
        except Exception as exc:  # the fetcher is I/O: any failure means "unresolvable"
            raise DIDError("UNRESOLVABLE", f"fetching {url} failed: {type(exc).__name__}: {exc}") from None
        document = parse_did_document(data, did)
        with self._lock:
            if len(self._cache) >= self._max_entries and did not in self._cache:
                oldest = min(self._cache, key=lambda k: self._cache[k].fetched_at)
                del self._cache[oldest]
            self._cache[did] = _Entry(document, now)
        return document

    def forget(self, did: str) -> None:
        with self._lock:
            self._cache.pop(did, None)
