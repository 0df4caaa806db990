"""``did:web`` identifiers, their URLs, and DID documents (trust.md §1.2 "Identifiers", "DID document content").

Only one spelling of a DID is accepted (lowercase host, ``%3A`` before a port, plain path segments), so equality of
DIDs is string equality and a DID cannot smuggle ``..``, other percent-escapes or look-alike characters into the
URL it maps to. ``http://`` is produced only for loopback hosts when the caller passes ``insecure_test=True``; in
every other case loopback and IP-literal hosts are refused, which closes the obvious SSRF targets even before the
participant-list check.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Sequence
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import DIDError
from .keys import jwk_to_public_key, public_jwk
from .strict_json import loads_object

__all__ = ["DidWeb", "DidDocument", "parse_did_web", "did_to_url", "did_base_url", "url_to_did", "is_loopback_host",
           "build_did_document", "parse_did_document", "DID_CONTEXTS", "MAX_DID_DOCUMENT_BYTES", "MAX_METHODS",
           "RELATIONSHIPS"]

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"]
MAX_DID_DOCUMENT_BYTES = 64 * 1024
MAX_METHODS = 16
MAX_DID_LENGTH = 512
RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation",
                 "keyAgreement")

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DID_WEB = re.compile(rf"did:web:(?P<host>{_LABEL}(?:\.{_LABEL})*)(?:%3A(?P<port>[0-9]{{1,5}}))?"
                      r"(?P<path>(?::[A-Za-z0-9._~-]+)*)")
_FRAGMENT = re.compile(r"[A-Za-z0-9._~-]{1,128}")


@dataclass(frozen=True)
class DidWeb:
    """A parsed ``did:web``: host, optional port, path segments."""

    did: str
    host: str
    port: int | None
    path: tuple[str, ...]

    @property
    def netloc(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"


def parse_did_web(did: Any) -> DidWeb:
    """Parse a ``did:web`` in its one canonical spelling; anything else raises ``DIDError('BAD_DID')``."""
    if not isinstance(did, str) or len(did) > MAX_DID_LENGTH:
        raise DIDError("BAD_DID", "DID is not a string of reasonable length")
    return _parse_did_web(did)


@lru_cache(maxsize=1024)  # the same few dozen participant DIDs are parsed on every request
def _parse_did_web(did: str) -> DidWeb:
    match = _DID_WEB.fullmatch(did)
    if match is None:
        raise DIDError("BAD_DID", f"{did!r} is not a canonical did:web (lowercase host, %3A before a port, "
                                  "path segments of letters, digits and ._~-)")
    host = match["host"]
    if len(host) > 253:
        raise DIDError("BAD_DID", "DID host is longer than 253 characters")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 1 <= port <= 65535 or (match["port"] or "").startswith("0"):
        raise DIDError("BAD_DID", f"DID port {match['port']!r} is not a port number")
    path = tuple(match["path"].split(":")[1:]) if match["path"] else ()
    if any(seg in (".", "..") for seg in path):
        raise DIDError("BAD_DID", "DID path segments '.' and '..' are refused")
    return DidWeb(did, host, port, path)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def did_base_url(did: str, *, insecure_test: bool = False) -> str:
    """``https://host[:port][/path]``: where the node behind ``did`` serves its endpoints.

    Loopback hosts are allowed only with ``insecure_test`` and then use ``http``; other IP literals never are.
    """
    parsed = parse_did_web(did)
    loopback = is_loopback_host(parsed.host)
    if loopback and not insecure_test:
        raise DIDError("INSECURE_DID", f"{did} is a loopback DID; allowed only in insecure test mode")
    if not loopback and (_is_ip_literal(parsed.host) or "." not in parsed.host):
        raise DIDError("BAD_DID", f"{did} does not name a public host")
    scheme = "http" if loopback else "https"
    path = "".join("/" + seg for seg in parsed.path)
    return f"{scheme}://{parsed.netloc}{path}"


def did_to_url(did: str, *, insecure_test: bool = False) -> str:
    """The DID document URL: ``/.well-known/did.json`` without a path, ``/<path>/did.json`` with one."""
    base = did_base_url(did, insecure_test=insecure_test)
    return base + ("/did.json" if parse_did_web(did).path else "/.well-known/did.json")


def url_to_did(url: str) -> str:
    """The ``did:web`` of a node's base URL (``https://host:8443/nodes/herault`` → ``did:web:host%3A8443:nodes:herault``).

    A trailing ``/.well-known/did.json`` or ``/did.json`` is dropped, so a DID document URL works too.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError, AttributeError):
        raise DIDError("BAD_DID", f"{url!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise DIDError("BAD_DID", f"{url!r} is not an http(s) URL without query or fragment")
    path = parts.path
    for suffix in ("/.well-known/did.json", "/did.json"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    segments = [seg for seg in path.split("/") if seg]
    did = "did:web:" + parts.hostname.lower()
    if port is not None:
        did += f"%3A{port}"
    did += "".join(":" + seg for seg in segments)
    return parse_did_web(did).did


def _kid_for(did: str, kid: str) -> str:
    if not kid.startswith(did + "#") or _FRAGMENT.fullmatch(kid[len(did) + 1:]) is None:
        raise DIDError("BAD_KID", f"key id {kid!r} must be {did}#<fragment>")
    return kid


def build_did_document(did: str, *, auth_keys: Sequence[tuple[str, Ed25519PublicKey]],
                       assertion_keys: Sequence[tuple[str, Ed25519PublicKey]] = (),
                       base_url: str | None = None, insecure_test: bool = False) -> dict[str, Any]:
    """The DID document a node serves at ``/.well-known/did.json``.

    ``auth_keys`` (kid, public key) sign SI tokens and VPs: listed under ``authentication`` and
    ``capabilityInvocation``; several during a rotation overlap. ``assertion_keys`` are the audit key and, on the
    hub, the issuer key. Services point at the credential service (``/cs``) and the DSP version endpoint.
    """
    parse_did_web(did)
    base = (base_url or did_base_url(did, insecure_test=insecure_test)).rstrip("/")
    auth = [_kid_for(did, kid) for kid, _ in auth_keys]
    assertion = [_kid_for(did, kid) for kid, _ in assertion_keys]
    if not auth:
        raise DIDError("BAD_KEY", "a DID document needs at least one authentication key")
    seen: dict[str, Ed25519PublicKey] = {}
    methods = []
    for kid, key in [*auth_keys, *assertion_keys]:
        if kid in seen:
            continue
        seen[kid] = key
        methods.append({"id": kid, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": public_jwk(key)})
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": methods,
        "authentication": auth,
        "capabilityInvocation": auth,
        "assertionMethod": assertion,
        "service": [
            {"id": did + "#credential-service", "type": "CredentialService", "serviceEndpoint": base + "/cs"},
            {"id": did + "#dsp", "type": "DataService", "serviceEndpoint": base + "/.well-known/dspace-version"},
        ],
    }


@dataclass(frozen=True)
class DidDocument:
    """A checked DID document: methods by absolute key id, relationships as lists of key ids, services."""

    id: str
    methods: dict[str, dict[str, Any]]
    relationships: dict[str, tuple[str, ...]]
    services: tuple[dict[str, Any], ...]
    raw: dict[str, Any] = field(repr=False, compare=False)
    _keys: dict[str, Ed25519PublicKey] = field(default_factory=dict, repr=False, compare=False)

    def key(self, kid: str, relationship: str) -> Ed25519PublicKey:
        """The Ed25519 key ``kid``, which must be listed under ``relationship``."""
        if kid not in self.relationships.get(relationship, ()):
            raise DIDError("UNKNOWN_KEY", f"{kid} is not a {relationship} key of {self.id}")
        cached = self._keys.get(kid)
        if cached is not None:
            return cached
        method = self.methods.get(kid)
        if method is None:
            raise DIDError("UNKNOWN_KEY", f"{kid} is referenced but not defined in {self.id}")
        if method.get("type") not in ("JsonWebKey2020", "JsonWebKey"):
            raise DIDError("BAD_KEY", f"{kid} is a {method.get('type')!r}, expected JsonWebKey2020")
        key = self._keys[kid] = jwk_to_public_key(method.get("publicKeyJwk"))
        return key

    def sole_key(self, relationship: str) -> tuple[str, Ed25519PublicKey]:
        """The only key under ``relationship`` (DCP: a token without ``kid`` needs exactly one)."""
        kids = self.relationships.get(relationship, ())
        if len(kids) != 1:
            raise DIDError("UNKNOWN_KEY", f"{self.id} has {len(kids)} {relationship} keys and the token names none")
        return kids[0], self.key(kids[0], relationship)

    def keys(self, relationship: str) -> dict[str, Ed25519PublicKey]:
        """Every usable Ed25519 key under ``relationship`` (others are skipped)."""
        out = {}
        for kid in self.relationships.get(relationship, ()):
            try:
                out[kid] = self.key(kid, relationship)
            except DIDError:
                continue
        return out

    def service_endpoints(self, type_: str) -> list[str]:
        return [s["serviceEndpoint"] for s in self.services
                if (s.get("type") == type_ or (isinstance(s.get("type"), list) and type_ in s["type"]))
                and isinstance(s.get("serviceEndpoint"), str)]


def parse_did_document(data: bytes | dict[str, Any], expected_did: str) -> DidDocument:
    """Check a fetched DID document: ≤ 64 KiB, strict JSON, ``id`` equal to the DID, ≤ 16 methods."""
    if isinstance(data, (bytes, bytearray)):
        doc, code, reason = loads_object(bytes(data), what="DID document", max_bytes=MAX_DID_DOCUMENT_BYTES)
        if doc is None:
            raise DIDError("BAD_DOCUMENT" if code != "OVERSIZE" else "OVERSIZE", reason)
    elif isinstance(data, dict):
        doc = data
    else:
        raise DIDError("BAD_DOCUMENT", "DID document is neither bytes nor an object")
    problems: list[str] = []
    if doc.get("id") != expected_did:
        raise DIDError("DID_MISMATCH", f"document id {doc.get('id')!r} is not {expected_did}")
    context = doc.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    if first != DID_CONTEXTS[0]:
        problems.append(f"@context must start with {DID_CONTEXTS[0]}")
    methods: dict[str, dict[str, Any]] = {}
    count = 0

    def add_method(entry: Any, where: str) -> str | None:
        nonlocal count
        count += 1
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            problems.append(f"{where}: verification method without an id")
            return None
        kid = expected_did + entry["id"] if entry["id"].startswith("#") else entry["id"]
        if not kid.startswith(expected_did + "#"):
            problems.append(f"{where}: method {kid!r} belongs to another DID")
            return None
        if entry.get("controller", expected_did) != expected_did:
            problems.append(f"{where}: method {kid!r} has controller {entry.get('controller')!r}")
            return None
        if kid in methods and methods[kid] != entry:
            problems.append(f"{where}: method {kid!r} defined twice")
            return None
        methods[kid] = entry
        return kid

    vms = doc.get("verificationMethod", [])
    if not isinstance(vms, list):
        problems.append("verificationMethod is not a list")
        vms = []
    for i, vm in enumerate(vms):
        add_method(vm, f"verificationMethod[{i}]")
    relationships: dict[str, tuple[str, ...]] = {}
    for rel in RELATIONSHIPS:
        entries = doc.get(rel, [])
        if not isinstance(entries, list):
            problems.append(f"{rel} is not a list")
            continue
        kids = []
        for i, entry in enumerate(entries):
            if isinstance(entry, str):
                kids.append(expected_did + entry if entry.startswith("#") else entry)
            else:
                kid = add_method(entry, f"{rel}[{i}]")
                if kid:
                    kids.append(kid)
        relationships[rel] = tuple(kids)
    if count > MAX_METHODS:
        raise DIDError("OVERSIZE", f"DID document has {count} verification methods, limit {MAX_METHODS}")
    services = doc.get("service", [])
    if not isinstance(services, list) or not all(isinstance(s, dict) for s in services):
        problems.append("service is not a list of objects")
        services = []
    if problems:
        raise DIDError("BAD_DOCUMENT", "; ".join(problems))
    return DidDocument(expected_did, methods, relationships, tuple(services), doc)


