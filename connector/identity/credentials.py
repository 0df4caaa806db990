"""Membership credentials (VC 2.0 as VC-JWT, ``typ: vc+jwt``) and presentations (VP-JWT, ``typ: vp+jwt``).

Profile ``vc20-bssl/jwt`` of DCP: the JWT payload *is* the credential, secured by the authority's issuer key. A
credential service answers with a VP-JWT signed by the holder (iss = holder, aud = verifier, jti, exp ≤ 300 s) that
envelopes the VC-JWTs as ``data:application/vc+jwt,<jwt>``. Verifiers treat everything as plain JSON: contexts are
compared as strings, never fetched.

``verify_presentation`` returns a ``Membership``: the claims the policy evaluator needs (roles, territory,
organisation), and only after holder binding, issuer pinning, both signatures, validity and revocation hold.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Sequence

from .anchor import TrustAnchor
from .did import did_base_url, parse_did_web
from .errors import CredentialError, DIDError, JWSError, StatusListError
from .jws import parse_compact, sign_compact, verify_signature
from .keys import SigningKey
from .participants import ROLES
from .status_list import VC_CONTEXT, StatusListCache, parse_rfc3339, rfc3339, status_entry
from .tokens import DidResolver, ReplayStore

__all__ = ["MembershipSubject", "Membership", "issue_membership_credential", "verify_membership_credential",
           "issue_presentation", "verify_presentation", "membership_context", "MEMBERSHIP_TYPE", "MEMBERSHIP_SCOPE",
           "ENVELOPE_PREFIX", "MAX_VP_LIFETIME"]

MEMBERSHIP_TYPE = "TourismDataSpaceMembershipCredential"
MEMBERSHIP_SCOPE = "org.eclipse.dspace.dcp.vc.type:" + MEMBERSHIP_TYPE
ENVELOPE_PREFIX = "data:application/vc+jwt,"
MAX_VP_LIFETIME = 300
MAX_VC_VALIDITY = 366 * 86_400
MAX_CREDENTIALS_PER_VP = 8
_SIREN = re.compile(r"[0-9]{9}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def membership_context(issuer_did: str, *, insecure_test: bool = False) -> str:
    """Our own context URL (``https://<hub>/ns/tourisme-ds/v1``): a name only, never fetched."""
    return did_base_url(issuer_did, insecure_test=insecure_test) + "/ns/tourisme-ds/v1"


@dataclass(frozen=True)
class MembershipSubject:
    """What the authority asserts about a member when it enrols it."""

    did: str
    legal_name: str
    siren: str
    roles: tuple[str, ...]
    territory: tuple[str, ...]
    member_since: date
    rulebook_version: str
    rulebook_sha256: str
    audit_scope: tuple[str, ...] | None = None

    def problems(self) -> list[str]:
        from policies.territory import parse_code  # imported here: identity must load even while policies changes

        out = []
        try:
            parse_did_web(self.did)
        except DIDError as exc:
            out.append(f"did: {exc.reason}")
        if not self.legal_name.strip():
            out.append("legalName is empty")
        if not _SIREN.fullmatch(self.siren):
            out.append("siren must be 9 digits")
        if not self.roles or any(r not in ROLES for r in self.roles):
            out.append(f"roles must be a non-empty subset of {', '.join(ROLES)}")
        for code in self.territory:
            if parse_code(code) is None:
                out.append(f"territory {code!r} is not an INSEE REG-xx/DEP-xx code")
        if not _SHA256.fullmatch(self.rulebook_sha256):
            out.append("rulebook sha256 must be 64 lowercase hex digits")
        if ("auditor" in self.roles) != (self.audit_scope is not None):
            out.append("auditScope is given exactly when the role auditor is")
        return out


@dataclass(frozen=True)
class Membership:
    """The verified claims of a membership credential, for the policy evaluator (``membershipRole``, ``territory``)."""

    did: str
    issuer: str
    credential_id: str
    legal_name: str
    siren: str
    roles: tuple[str, ...]
    territory: tuple[str, ...]
    member_since: str
    rulebook: dict[str, str]
    valid_until: int
    audit_scope: tuple[str, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def policy_claims(self) -> dict[str, Any]:
        """The verified claims as ``policies.Request.claims`` reads them (``membershipRole``, ``territory``, …)."""
        claims: dict[str, Any] = {"membershipRole": list(self.roles), "territory": list(self.territory),
                                  "organisation": self.legal_name, "siren": self.siren}
        if self.audit_scope is not None:
            claims["auditScope"] = list(self.audit_scope)
        return claims


def issue_membership_credential(key: SigningKey, subject: MembershipSubject, *, status_list_url: str,
                                status_index: int, now: float, valid_for: int = 365 * 86_400,
                                credential_id: str | None = None, insecure_test: bool = False) -> str:
    """The authority signs a member's credential with its issuer key (``#issuer-YYYY-MM``)."""
    problems = subject.problems()
    if not 0 < valid_for <= MAX_VC_VALIDITY:
        problems.append("validity must be at most one year")
    if problems:
        raise CredentialError("BAD_CREDENTIAL", "; ".join(problems))
    claims: dict[str, Any] = {"id": subject.did, "legalName": subject.legal_name, "siren": subject.siren,
                              "roles": list(subject.roles), "territory": list(subject.territory),
                              "memberSince": subject.member_since.isoformat(),
                              "rulebook": {"version": subject.rulebook_version, "sha256": subject.rulebook_sha256}}
    if subject.audit_scope is not None:
        claims["auditScope"] = list(subject.audit_scope)
    credential = {
        "@context": [VC_CONTEXT, membership_context(key.did, insecure_test=insecure_test)],
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", MEMBERSHIP_TYPE],
        "issuer": key.did,
        "validFrom": rfc3339(now),
        "validUntil": rfc3339(now + valid_for),
        "credentialSubject": claims,
        "credentialStatus": status_entry(status_list_url, status_index),
    }
    return sign_compact({"typ": "vc+jwt", "cty": "vc", "kid": key.kid}, credential, key.private_key)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def verify_membership_credential(vc_jwt: Any, *, anchor: TrustAnchor, holder_did: str, now: float,
                                 status: StatusListCache, leeway: int = 5) -> Membership:
    """Issuer pinned to the trust anchor, its signature, holder binding, validity window, revocation."""
    try:
        parsed = parse_compact(vc_jwt, typ="vc+jwt", typ_required=True)
    except JWSError as exc:
        raise CredentialError(f"VC_{exc.code}", f"credential: {exc.reason}") from None
    vc = parsed.payload
    issuer = vc.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer != anchor.did or not (parsed.kid or "").startswith(anchor.did + "#"):
        raise CredentialError("FOREIGN_ISSUER", f"credential issued by {issuer!r} (kid {parsed.kid!r}), "
                                                f"trusted issuer is {anchor.did}")
    try:
        verify_signature(parsed, anchor.key(parsed.kid))
    except JWSError as exc:
        raise CredentialError("VC_BAD_SIGNATURE", f"credential: {exc.reason}") from None
    except DIDError as exc:
        raise CredentialError("FOREIGN_ISSUER", exc.reason) from None
    problems = []
    context = vc.get("@context")
    if not _strings(context) or not context or context[0] != VC_CONTEXT:
        problems.append(f"@context must start with {VC_CONTEXT}")
    types = vc.get("type")
    if not _strings(types) or "VerifiableCredential" not in types or MEMBERSHIP_TYPE not in types:
        problems.append(f"type must hold VerifiableCredential and {MEMBERSHIP_TYPE}")
    if not isinstance(vc.get("id"), str):
        problems.append("id missing")
    subject = vc.get("credentialSubject")
    if not isinstance(subject, dict):
        raise CredentialError("BAD_CREDENTIAL", "credentialSubject is not an object")
    roles, territory = subject.get("roles"), subject.get("territory")
    if not _strings(roles) or not roles or any(r not in ROLES for r in roles):
        problems.append("credentialSubject.roles must be a non-empty list of known roles")
    if not _strings(territory):
        problems.append("credentialSubject.territory must be a list of codes")
    if not isinstance(subject.get("legalName"), str) or not isinstance(subject.get("siren"), str):
        problems.append("credentialSubject.legalName and siren are required")
    rulebook = subject.get("rulebook")
    if not isinstance(rulebook, dict) or not all(isinstance(rulebook.get(k), str) for k in ("version", "sha256")):
        problems.append("credentialSubject.rulebook needs version and sha256")
    audit_scope = subject.get("auditScope")
    if audit_scope is not None and not _strings(audit_scope):
        problems.append("credentialSubject.auditScope must be a list of DIDs")
    valid_from, valid_until = parse_rfc3339(vc.get("validFrom")), parse_rfc3339(vc.get("validUntil"))
    if valid_from is None or valid_until is None:
        problems.append("validFrom and validUntil must be RFC 3339 date-times")
    if problems:
        raise CredentialError("BAD_CREDENTIAL", "; ".join(problems))
    assert valid_from is not None and valid_until is not None
    if subject.get("id") != holder_did:
        raise CredentialError("HOLDER_MISMATCH", f"credential subject {subject.get('id')!r} is not {holder_did}")
    if valid_from > now + leeway:
        raise CredentialError("VC_NOT_YET_VALID", f"credential valid from {vc.get('validFrom')}")
    if valid_until <= now - leeway:
        raise CredentialError("VC_EXPIRED", f"credential expired at {vc.get('validUntil')}")
    try:
        if status.is_revoked(vc.get("credentialStatus"), now):
            raise CredentialError("REVOKED", f"credential {vc.get('id')} of {holder_did} is revoked")
    except StatusListError as exc:
        raise CredentialError(exc.code, exc.reason) from None
    return Membership(holder_did, anchor.did, vc["id"], subject["legalName"], subject["siren"], tuple(roles),
                      tuple(territory), str(subject.get("memberSince", "")), dict(rulebook), valid_until,
                      tuple(audit_scope) if audit_scope is not None else None, vc)


def issue_presentation(key: SigningKey, aud: str, credentials: Sequence[str], now: float, *, lifetime: int = 120,
                       jti: str | None = None) -> str:
    """The holder's VP-JWT for one verifier, enveloping VC-JWTs."""
    if not 0 < lifetime <= MAX_VP_LIFETIME:
        raise ValueError(f"presentation lifetime must be 1..{MAX_VP_LIFETIME} s")
    iat = int(now)
    vp = {
        "@context": [VC_CONTEXT],
        "type": ["VerifiablePresentation"],
        "holder": key.did,
        "verifiableCredential": [{"@context": [VC_CONTEXT], "id": ENVELOPE_PREFIX + c,
                                  "type": "EnvelopedVerifiableCredential"} for c in credentials],
        "iss": key.did, "aud": aud, "iat": iat, "exp": iat + lifetime, "jti": jti or str(uuid.uuid4()),
    }
    return sign_compact({"typ": "vp+jwt", "cty": "vp", "kid": key.kid}, vp, key.private_key)


def verify_presentation(vp_jwt: Any, *, holder_did: str, our_did: str, now: float, resolver: DidResolver,
                        anchor: TrustAnchor, status: StatusListCache, replay: ReplayStore | None = None,
                        leeway: int = 5) -> Membership:
    """Check a VP-JWT from ``holder_did``'s credential service and return its verified membership."""
    try:
        parsed = parse_compact(vp_jwt, typ="vp+jwt", typ_required=True)
    except JWSError as exc:
        raise CredentialError(f"VP_{exc.code}", f"presentation: {exc.reason}") from None
    vp = parsed.payload
    if vp.get("iss") != holder_did or vp.get("holder", holder_did) != holder_did:
        raise CredentialError("HOLDER_MISMATCH", f"presentation from {vp.get('iss')!r}, expected {holder_did}")
    kid = parsed.kid
    if not isinstance(kid, str) or not kid.startswith(holder_did + "#"):
        raise CredentialError("VP_BAD_KID", f"presentation kid {kid!r} does not belong to {holder_did}")
    try:
        verify_signature(parsed, resolver.resolve(holder_did).key(kid, "authentication"))
    except JWSError as exc:
        raise CredentialError("VP_BAD_SIGNATURE", f"presentation: {exc.reason}") from None
    except DIDError as exc:
        raise CredentialError("VP_UNKNOWN_KEY", exc.reason) from None
    aud = vp.get("aud")
    if aud != our_did and aud != [our_did]:
        raise CredentialError("WRONG_AUDIENCE", f"presentation is for {aud!r}, not {our_did}")
    iat, exp, jti = vp.get("iat"), vp.get("exp"), vp.get("jti")
    if iat is None or exp is None or not isinstance(jti, str) or not jti:
        raise CredentialError("BAD_PRESENTATION", "presentation needs iat, exp and jti")
    if exp <= now - leeway or iat > now + leeway:
        raise CredentialError("VP_EXPIRED", "presentation is outside its validity period")
    if exp - iat > MAX_VP_LIFETIME or exp < iat:
        raise CredentialError("BAD_PRESENTATION", f"presentation lifetime exceeds {MAX_VP_LIFETIME} s")
    if replay is not None and not replay.insert(holder_did, "vp:" + jti, exp + leeway):
        raise CredentialError("REPLAY", f"presentation {jti} was already used")
    types = vp.get("type")
    envelopes = vp.get("verifiableCredential")
    if not _strings(types) or "VerifiablePresentation" not in types or not isinstance(envelopes, list):
        raise CredentialError("BAD_PRESENTATION", "not a VerifiablePresentation with verifiableCredential")
    if len(envelopes) > MAX_CREDENTIALS_PER_VP:
        raise CredentialError("BAD_PRESENTATION", f"more than {MAX_CREDENTIALS_PER_VP} credentials")
    found: list[Membership] = []
    for i, env in enumerate(envelopes):
        if (not isinstance(env, dict) or env.get("type") != "EnvelopedVerifiableCredential"
                or not isinstance(env.get("id"), str) or not env["id"].startswith(ENVELOPE_PREFIX)):
            raise CredentialError("BAD_PRESENTATION", f"verifiableCredential[{i}] is not an enveloped VC-JWT")
        membership = verify_membership_credential(env["id"][len(ENVELOPE_PREFIX):], anchor=anchor,
                                                  holder_did=holder_did, now=now, status=status, leeway=leeway)
        found.append(membership)
    if not found:
        raise CredentialError("MISSING_CREDENTIAL", f"no {MEMBERSHIP_TYPE} in the presentation")
    return found[0]
