"""The node's trust service: the identity package wired to the database, the clock and peers over HTTP.

Everything a blueprint needs about identity goes through :class:`Trust`: the DID document, outgoing self-issued
tokens, the verification of incoming requests (token pipeline, then membership through the caller's credential
service), the node's own credential service, and on the authority the membership registry, the signed participant
list and the revocation status list.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from connector.identity.anchor import TrustAnchor
from connector.identity.did import build_did_document
from connector.identity.errors import AuthError, CredentialError, IdentityError
from connector.identity.keys import SigningKey
from connector.identity.participants import (Participant, ParticipantList, ParticipantResolver,
                                             sign_participant_list, verify_participant_list)
from connector.identity.tokens import (MAX_ACCESS_TOKEN_LIFETIME, VerifiedCaller, issue_access_token,
                                       issue_self_token, verify_access_token, verify_request)
from connector.node import Node
from connector.peers import PeerClient, PeerError, did_web_url
from connector.store.models import DenialRecord, Member, OwnCredential, SeenJti, TrustDocument
from connector.store.raw import Statement

__all__ = ["Trust", "Caller", "TokenUse", "EnrolmentError", "MEMBERSHIP_SCOPE"]

from connector.identity.credentials import MEMBERSHIP_SCOPE  # noqa: E402  (DCP's scope for our credential type)
PARTICIPANTS_TTL = 300.0       # nodes poll the list every 5 min
UNKNOWN_REFRESH_GAP = 2.0      # an unknown caller triggers at most one early refresh per 2 s
STATUS_TTL = 600.0             # status list cached at most 10 min
STATUS_MAX_AGE = 24 * 3600.0   # fail closed when no fresh copy for 24 h
MEMBERSHIP_CACHE = 60.0        # positive membership result per caller


class EnrolmentError(Exception):
    pass


@dataclass(frozen=True)
class Caller:
    """A request's authenticated sender and the claims of its verified membership credential."""

    did: str
    roles: tuple[str, ...]
    territory: tuple[str, ...]
    organisation: str
    credential_id: str
    status_entry: Any = None
    audit_scope: tuple[str, ...] | None = None  # auditors only: the node DIDs they may audit

    def claims(self) -> dict[str, Any]:
        return {"membershipRole": list(self.roles), "territory": list(self.territory),
                "organisation": self.organisation}


# one INSERT on the primary key (iss, jti): the database decides the single winner (rowcount 1), on the driver's
# cursor because every authenticated request runs it
_INSERT_JTI = Statement("INSERT INTO seen_jti (iss, jti, expires_at) VALUES (:iss, :jti, :expires_at) "
                        "ON CONFLICT DO NOTHING")


@dataclass(frozen=True)
class TokenUse:
    """A verified token's id, still to be consumed (step 10): in the transaction of the change it authorises, so
    that a request rolled back leaves its token unspent (trust.md §1.2)."""

    iss: str
    jti: str
    expires_at: int

    def consume(self, conn: Any) -> None:
        """Record the id in ``conn``'s transaction; :class:`AuthError` ``REPLAY`` if it was seen before."""
        if _INSERT_JTI.count(conn, {"iss": self.iss, "jti": self.jti, "expires_at": int(self.expires_at)}) != 1:
            raise AuthError("REPLAY", f"jti {self.jti} from {self.iss} was already used")


class _DbReplayStore:
    """Token ids consumed at once, each in a transaction of the node's group commit (``Node.writes``)."""

    def __init__(self, node: Node):
        self.node = node

    def insert(self, iss: str, jti: str, expires_at: int) -> bool:
        try:
            with self.node.writes.transaction() as conn:
                TokenUse(iss, jti, int(expires_at)).consume(conn)
        except AuthError:
            return False
        return True


class _DeferredReplay:
    """Remembers the (iss, jti, expiry) the pipeline would insert, so the insert can come after membership."""

    def __init__(self) -> None:
        self.pending: tuple[str, str, int] | None = None

    def insert(self, iss: str, jti: str, expires_at: int) -> bool:
        self.pending = (iss, jti, expires_at)
        return True


class Trust:
    def __init__(self, node: Node, peers: PeerClient | None = None):
        self.node = node
        self.peers = peers or PeerClient()
        self._lock = threading.Lock()
        self._list: ParticipantList | None = None
        self._list_checked = 0.0
        self._unknown_refresh = 0.0
        self._status: Any = None
        self._membership: dict[str, tuple[float, Caller]] = {}
        self._last_reap = 0.0
        self._access: dict[str, tuple[str, str, float]] = {}   # peer DID → (access token, key id, minted at)
        self._resolver = ParticipantResolver(self.participants, self._fetch_did, self.node.clock.now,
                                             insecure_test=node.config.node.insecure_test_mode)

    # -- keys and documents -------------------------------------------------------------------------------------
    def signing_key(self, name: str = "auth") -> SigningKey:
        return SigningKey(self.node.key_id(name), self.node.private_key(name))

    @property
    def anchor(self) -> TrustAnchor:
        path = self.node.config.resolve(self.node.config.authority.issuer_key)
        return TrustAnchor.from_jwks(self.node.config.authority.did, json.loads(path.read_text()))

    def did_document(self) -> dict[str, Any]:
        auth = self.signing_key("auth")
        assertion = [(self.node.key_id("audit"), self.node.private_key("audit").public_key())]
        if self.node.is_authority:
            assertion.append((self.node.key_id("issuer"), self.node.private_key("issuer").public_key()))
        return build_did_document(self.node.did, auth_keys=[(auth.kid, auth.public_key)], assertion_keys=assertion,
                                  base_url=self.node.public_url)

    def self_issued_token(self, aud: str, *, ttl: int = 120, with_access: bool = True) -> str:
        """A token for one request to ``aud``; it carries an access token so ``aud`` may query our /cs."""
        now = self.node.clock.now()
        key = self.signing_key()
        access = self._access_token(key, aud, now) if with_access else None
        return issue_self_token(key, aud, now, lifetime=ttl, token=access)

    def _access_token(self, key: SigningKey, aud: str, now: float) -> str:
        """The access token handed to ``aud``, minted again once half its lifetime has passed: a bearer token for
        our /cs, reusable like any (only the self-issued token around it is single-use), so a peer we send many
        messages to costs one signature per message instead of two, and always holds one valid for minutes."""
        held = self._access.get(aud)
        if held is not None and held[1] == key.kid and held[2] <= now < held[2] + MAX_ACCESS_TOKEN_LIFETIME / 2:
            return held[0]
        token = issue_access_token(key, aud, [MEMBERSHIP_SCOPE], now)
        self._access[aud] = (token, key.kid, now)
        return token

    def peer_url(self, did: str) -> str:
        return did_web_url(did, insecure=self.node.config.node.insecure_test_mode)

    def _fetch_did(self, url: str) -> bytes:
        status, body = self.peers.request("GET", url, expect_json=False)
        if status != 200:
            raise PeerError(f"GET {url} → {status}", status)
        return body.encode() if isinstance(body, str) else body

    # -- participant list and status list -----------------------------------------------------------------------
    def participants(self) -> ParticipantList:
        """The current verified participant list (authority: straight from its registry)."""
        now = self.node.clock.now()
        if self.node.is_authority:
            return self._authority_list(now)
        with self._lock:
            if self._list is not None and now - self._list_checked < PARTICIPANTS_TTL:
                return self._list
        stored = self._load_doc("participants")
        if stored is not None and now - stored[1] < PARTICIPANTS_TTL:
            lst = verify_participant_list(stored[0], self.anchor)
            with self._lock:
                self._list, self._list_checked = lst, stored[1]
            return lst
        try:
            return self._refresh_participants(now)
        except (PeerError, IdentityError):
            if stored is not None:  # keep the last good copy when the authority is unreachable
                lst = verify_participant_list(stored[0], self.anchor)
                with self._lock:
                    self._list, self._list_checked = lst, now
                return lst
            raise

    def _refresh_participants(self, now: float) -> ParticipantList:
        status, body = self.peers.request("GET", self.node.config.authority.url.rstrip("/") + "/trust/participants",
                                          expect_json=False)
        if status != 200:
            raise PeerError(f"authority answered {status} for the participant list", status)
        with self._lock:
            current = self._list
        lst = verify_participant_list(body, self.anchor, now=now, current=current)
        self._store_doc("participants", body, now)
        with self._lock:
            self._list, self._list_checked = lst, now
        return lst

    def _authority_list(self, now: float) -> ParticipantList:
        with self.node.session() as s:
            members = s.exec(select(Member)).all()
        entries = {m.did: Participant(m.did, m.legal_name, tuple(m.roles),
                                      "active" if m.status == "active" else "revoked") for m in members}
        return ParticipantList(self.node.did, int(now), len(members), entries)

    def status_cache(self) -> Any:
        """The authority's revocation lists, cached ≤ 10 min and failing closed past 24 h (identity package)."""
        from connector.identity.status_list import StatusListCache
        with self._lock:
            if self._status is None:
                self._status = StatusListCache(self._fetch_status, self.anchor,
                                               insecure_test=self.node.config.node.insecure_test_mode)
            return self._status

    def _fetch_status(self, url: str) -> str:
        if self.node.is_authority and url == self.status_list_url():
            return self.status_list_jws()
        status, body = self.peers.request("GET", url, expect_json=False)
        if status != 200:
            raise PeerError(f"authority answered {status} for the status list", status)
        return body

    def refresh(self, force: bool = True) -> dict[str, Any]:
        now = self.node.clock.now()
        with self._lock:
            self._membership.clear()
            if self.node.is_authority:
                self._status = None
        if self.node.is_authority:
            lst = self.participants()
            return {"participants": len(lst.participants), "version": lst.version}
        lst = self._refresh_participants(now)
        with self._lock:
            self._status = None
        self.status_cache().get(self.status_list_url(), now)
        return {"participants": len(lst.participants), "version": lst.version}

    def _load_doc(self, name: str) -> tuple[str, float] | None:
        with self.node.session() as s:
            doc = s.get(TrustDocument, name)
            return (doc.body, float(doc.fetched_at)) if doc else None

    def _store_doc(self, name: str, body: str, now: float) -> None:
        from sqlalchemy import update
        for _ in range(2):  # two workers may fetch at once: insert, or update when the other one won
            with self.node.session() as s:
                if s.get(TrustDocument, name) is None:
                    s.add(TrustDocument(name=name, body=body, fetched_at=int(now)))
                else:
                    s.execute(update(TrustDocument).where(TrustDocument.name == name)
                              .values(body=body, fetched_at=int(now)))
                try:
                    s.commit()
                    return
                except IntegrityError:
                    s.rollback()

    # -- verifying incoming requests ----------------------------------------------------------------------------
    def _registry(self) -> Any:
        trust = self

        class _Registry:
            def get(self, did: str) -> Participant | None:
                lst = trust.participants()
                found = lst.get(did)
                now = trust.node.clock.now()
                # a participant enrolled since our last poll: refresh early, at most once per gap
                if found is None and not trust.node.is_authority and now - trust._unknown_refresh > UNKNOWN_REFRESH_GAP:
                    trust._unknown_refresh = now
                    try:
                        found = trust._refresh_participants(now).get(did)
                    except (PeerError, IdentityError):
                        return None
                return found

        return _Registry()

    def authenticate_participant(self, authorization: str | None, path: str) -> VerifiedCaller:
        """Token pipeline only (steps 1–10): for the credential service and credential issuance."""
        now = self.node.clock.now()
        self._reap(now)
        return verify_request(authorization, our_did=self.node.did, now=now, registry=self._registry(),
                              resolver=self._resolver, replay=_DbReplayStore(self.node))

    def authenticate(self, authorization: str | None, path: str) -> Caller:
        """Token pipeline, then membership (step 11), and only then the token id is consumed.

        Consuming the jti last means a request refused for its membership changes nothing; the atomic insert
        still lets exactly one of several identical requests through.
        """
        caller, use = self.authenticate_for_change(authorization, path)
        with self.node.writes.transaction() as conn:
            use.consume(conn)
        return caller

    def authenticate_for_change(self, authorization: str | None, path: str) -> tuple[Caller, TokenUse]:
        """As :meth:`authenticate`, but the token id is left for the change the request makes to consume in its
        own transaction (:meth:`TokenUse.consume`, first thing): one transaction fewer per protocol message, and
        a request whose change is rolled back leaves its token unspent."""
        now = self.node.clock.now()
        self._reap(now)
        deferred = _DeferredReplay()
        verified = verify_request(authorization, our_did=self.node.did, now=now, registry=self._registry(),
                                  resolver=self._resolver, replay=deferred)
        caller = self.verify_membership(verified)
        assert deferred.pending is not None
        return caller, TokenUse(*deferred.pending)

    def verify_membership(self, verified: VerifiedCaller) -> Caller:
        now = self.node.clock.now()
        with self._lock:
            cached = self._membership.get(verified.did)
        if cached is not None and now - cached[0] < MEMBERSHIP_CACHE:
            caller = cached[1]
            # the cached positive result still honours a revocation seen in a fresher status list
            if caller.status_entry is not None and self.status_cache().is_revoked(caller.status_entry, now):
                with self._lock:
                    self._membership.pop(verified.did, None)
                raise AuthError("REVOKED", "membership credential revoked")
            return caller
        if verified.token is None:
            raise AuthError("NO_MEMBERSHIP", "the token carries no access token for the caller's credential service")
        from connector.identity.credentials import verify_presentation
        doc = self._resolver.resolve(verified.did)
        endpoints = doc.service_endpoints("CredentialService")
        if not endpoints:
            raise AuthError("NO_MEMBERSHIP", f"{verified.did} publishes no credential service")
        cs = endpoints[0].rstrip("/")
        if self.peer_url(verified.did).split("/")[2] != cs.split("/")[2]:
            raise AuthError("NO_MEMBERSHIP", "credential service is not on the DID's host")
        token = issue_self_token(self.signing_key(), verified.did, now, token=verified.token)
        try:
            status, body = self.peers.request("POST", cs + "/presentations/query", token=token, json={
                "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"], "type": "PresentationQueryMessage",
                "scope": [MEMBERSHIP_SCOPE]})
        except PeerError as e:
            raise AuthError("NO_MEMBERSHIP", f"credential service unreachable: {e}") from None
        if status != 200 or not isinstance(body, dict) or not body.get("presentation"):
            raise AuthError("NO_MEMBERSHIP", f"credential service answered {status}")
        m = verify_presentation(body["presentation"][0], holder_did=verified.did, our_did=self.node.did, now=now,
                                resolver=self._resolver, anchor=self.anchor, status=self.status_cache())
        caller = Caller(verified.did, tuple(m.roles), tuple(m.territory), m.legal_name, m.credential_id,
                        m.raw.get("credentialStatus"), m.audit_scope)
        with self._lock:
            self._membership[verified.did] = (now, caller)
        return caller

    def _reap(self, now: float) -> None:
        if now - self._last_reap < 60:
            return
        self._last_reap = now
        with self.node.writes.transaction() as conn:
            conn.execute(delete(SeenJti).where(SeenJti.expires_at < int(now)))  # type: ignore[arg-type]

    def record_denial(self, path: str, err: IdentityError, authorization: str | None = None) -> None:
        """Keep a refused request: in the operator's denial list and, as ``auth.rejected``, in the exchange log
        (the token's hash, never the token; the same transaction for both)."""
        from connector.audit_service import ensure_log, token_digest
        from connector.audit import append
        ensure_log(self.node)
        auth: dict[str, Any] = {"reason_code": err.code[:64]}
        digest = token_digest(authorization)
        if digest:
            auth["token_sha256"] = digest
        with self.node.session() as s:
            s.add(DenialRecord(at=self.node.clock.utcnow(), caller=None, path=path[:512],
                               code=err.code[:64], reason=err.reason[:2000]))
            append(s, "auth.rejected", {"actor": {"did": self.node.did, "role": "verifier"}, "auth": auth,
                                        "http": {"method": _method(), "route": path[:256], "status": 401}},
                   self.node.clock.utcnow())
            s.commit()

    def recent_denials(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.node.session() as s:
            rows = s.exec(select(DenialRecord).order_by(DenialRecord.id.desc()).limit(limit)).all()  # type: ignore
        return [{"at": r.at.isoformat(), "path": r.path, "code": r.code, "reason": r.reason} for r in rows]

    # -- the node's own credential service ----------------------------------------------------------------------
    def answer_presentation_query(self, authorization: str | None, path: str, body: dict[str, Any]) -> str:
        from connector.identity.credentials import issue_presentation
        verifier = self.authenticate_participant(authorization, path)
        now = self.node.clock.now()
        grant = verify_access_token(verifier.token, self.signing_key(), verifier.did, now)
        if MEMBERSHIP_SCOPE not in grant.scopes or MEMBERSHIP_SCOPE not in body.get("scope", [MEMBERSHIP_SCOPE]):
            raise AuthError("SCOPE", "scope not granted")
        with self.node.session() as s:
            creds = s.exec(select(OwnCredential).where(OwnCredential.kind == "membership")).all()
        if not creds:
            raise CredentialError("NO_CREDENTIAL", "this node holds no membership credential yet")
        latest = max(creds, key=lambda c: c.issued_at)
        return issue_presentation(self.signing_key(), verifier.did, [latest.jwt], now)

    # -- authority ----------------------------------------------------------------------------------------------
    def enrol(self, *, did: str, legal_name: str, siren: str, roles: list[str], territory: list[str],
              audit_scope: list[str] | None = None) -> dict[str, Any]:
        from connector.config import MEMBER_ROLES
        from connector.identity.did import parse_did_web
        from policies.territory import parse_code
        try:
            parse_did_web(did)
        except IdentityError as e:
            raise EnrolmentError(f"did: {e.reason}") from None
        bad_roles = [r for r in roles if r not in MEMBER_ROLES]
        bad_terr = [t for t in territory if parse_code(t) is None]
        if not roles or bad_roles:
            raise EnrolmentError(f"roles: expected some of {list(MEMBER_ROLES)}, got {roles}")
        if bad_terr:
            raise EnrolmentError(f"territory: unknown INSEE code(s) {bad_terr} (expected REG-xx or DEP-xx; "
                                 "national members have no territory)")
        if not (len(siren) == 9 and siren.isdigit()):
            raise EnrolmentError("siren: expected 9 digits")
        if ("auditor" in roles) != (audit_scope is not None):
            raise EnrolmentError("audit_scope: the list of node DIDs to audit is given exactly when the role "
                                 "auditor is")
        if audit_scope is not None and (not isinstance(audit_scope, list) or not audit_scope
                                        or not all(isinstance(d, str) for d in audit_scope)):
            raise EnrolmentError("audit_scope: expected a non-empty list of node DIDs")
        for node_did in audit_scope or []:
            try:
                parse_did_web(node_did)
            except IdentityError as e:
                raise EnrolmentError(f"audit_scope: {e.reason}") from None
        with self.node.session() as s:
            existing = s.get(Member, did)
            if existing is not None:
                raise EnrolmentError(f"{did} is already a member ({existing.status})")
            used = s.exec(select(Member.status_index)).all()
            index = _free_index(set(used), did)
            member = Member(did=did, legal_name=legal_name, siren=siren, roles=roles, territory=territory,
                            status="active", status_index=index,
                            enrolled_at=self.node.clock.utcnow())
            s.add(member)
            if audit_scope is not None:
                from connector.audit_node import MemberAuditScope
                s.add(MemberAuditScope(did=did, scope=list(audit_scope)))
            s.commit()
        return _member_json(member)

    def revoke(self, did: str) -> bool:
        with self.node.session() as s:
            member = s.get(Member, did)
            if member is None:
                return False
            member.status = "revoked"
            member.revoked_at = self.node.clock.utcnow()
            s.add(member)
            s.commit()
        with self._lock:
            self._membership.pop(did, None)
        return True

    def list_members(self) -> list[dict[str, Any]]:
        if not self.node.is_authority:
            return []
        with self.node.session() as s:
            return [_member_json(m) for m in s.exec(select(Member).order_by(Member.enrolled_at)).all()]

    def participant_list_jws(self) -> str:
        now = self.node.clock.now()
        lst = self._authority_list(now)
        return sign_participant_list(self.signing_key("issuer"), lst.participants.values(), version=int(now),
                                     now=int(now))

    def status_list_jws(self) -> str:
        from connector.identity.status_list import StatusList, issue_status_list_credential
        bits = StatusList()
        with self.node.session() as s:
            for m in s.exec(select(Member).where(Member.status == "revoked")).all():
                bits.set(m.status_index)
        return issue_status_list_credential(self.signing_key("issuer"), self.status_list_url(), bits,
                                            self.node.clock.now())

    def status_list_url(self) -> str:
        return self.node.config.authority.url.rstrip("/") + "/trust/status/1"

    def issue_membership(self, caller: VerifiedCaller) -> str | None:
        import uuid
        from connector.identity.credentials import MembershipSubject, issue_membership_credential
        with self.node.session() as s:
            member = s.get(Member, caller.did)
            if member is None or member.status != "active":
                return None
            cred_id = f"urn:uuid:{uuid.uuid4()}"
            version, digest = rulebook()
            from connector.audit_node import MemberAuditScope
            scope = s.get(MemberAuditScope, member.did)
            subject = MembershipSubject(member.did, member.legal_name, member.siren, tuple(member.roles),
                                        tuple(member.territory), member.enrolled_at.date(), version, digest,
                                        tuple(scope.scope) if scope is not None else None)
            jwt = issue_membership_credential(self.signing_key("issuer"), subject,
                                              status_list_url=self.status_list_url(),
                                              status_index=member.status_index, now=self.node.clock.now(),
                                              credential_id=cred_id,
                                              insecure_test=self.node.config.node.insecure_test_mode)
            member.credential_id = cred_id
            s.add(member)
            s.commit()
        return jwt

    # -- membership of this node --------------------------------------------------------------------------------
    def obtain_membership(self) -> dict[str, Any]:
        """Ask the authority for this node's membership credential and keep it for the credential service."""
        from connector.identity.credentials import verify_membership_credential
        authority = self.node.config.authority
        token = self.self_issued_token(authority.did, with_access=False)
        status, body = self.peers.request("POST", authority.url.rstrip("/") + "/trust/credentials", token=token,
                                          json={})
        if status != 200 or not isinstance(body, dict) or "credential" not in body:
            detail = body.get("message") if isinstance(body, dict) else body
            raise PeerError(f"authority refused the credential request ({status}): {detail}", status, body)
        jwt = body["credential"]
        now = self.node.clock.now()
        m = verify_membership_credential(jwt, anchor=self.anchor, holder_did=self.node.did, now=now,
                                         status=self.status_cache())
        with self.node.session() as s:
            s.add(OwnCredential(id=m.credential_id, kind="membership", jwt=jwt,
                                issued_at=datetime.fromtimestamp(now, timezone.utc),
                                valid_until=datetime.fromtimestamp(m.valid_until, timezone.utc)))
            s.commit()
        return self.membership_summary()

    def membership_summary(self) -> dict[str, Any]:
        with self.node.session() as s:
            creds = s.exec(select(OwnCredential).where(OwnCredential.kind == "membership")).all()
        if not creds:
            return {"status": "none", "status_fr": "Aucune attestation d'adhésion pour l'instant."}
        latest = max(creds, key=lambda c: c.issued_at)
        return {"status": "member", "credential_id": latest.id, "valid_until": latest.valid_until.isoformat(),
                "status_fr": f"Membre — attestation {latest.id}, valable jusqu'au {latest.valid_until:%d/%m/%Y}."}

    # -- peers --------------------------------------------------------------------------------------------------
    def check_peer(self, did: str) -> dict[str, Any]:
        """Call a peer's catalogue endpoint: the peer verifies our token and membership; we check who answered."""
        from contracts.schemas import DSP_CONTEXT
        try:
            if self.participants().get(did) is None and not self.node.is_authority:
                self._refresh_participants(self.node.clock.now())
            if self.participants().get(did) is None:
                return {"did": did, "ok": False, "detail": "not on the participant list"}
            t0 = time.perf_counter()
            status, body = self.peers.request(
                "POST", self.peer_url(did) + "/dsp/2025-1/catalog/request", token=self.self_issued_token(did),
                json={"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []})
            ms = (time.perf_counter() - t0) * 1000
        except (PeerError, IdentityError) as e:
            return {"did": did, "ok": False, "detail": str(e)}
        if status != 200:
            return {"did": did, "ok": False, "detail": f"peer answered {status}: {body}"}
        if not isinstance(body, dict) or body.get("participantId") != did:
            return {"did": did, "ok": False, "detail": "the answer does not come from that participant"}
        return {"did": did, "ok": True, "detail": f"verified in {ms:.0f} ms"}


def _method() -> str:
    from flask import has_request_context, request
    return request.method if has_request_context() else "POST"


def rulebook() -> tuple[str, str]:
    """The data-space rulebook members sign: its version and the sha256 of its text, carried in credentials."""
    import hashlib
    from importlib import resources
    text = resources.files("connector").joinpath("rulebook.md").read_bytes()
    return "1.0", hashlib.sha256(text).hexdigest()


def _free_index(used: set[int], did: str) -> int:
    """A status-list slot not derived from enrolment order, so the list leaks nothing about who joined when."""
    import hashlib
    size = 131072
    i = int.from_bytes(hashlib.sha256(did.encode()).digest()[:4], "big") % size
    while i in used:
        i = (i + 1) % size
    return i


def _member_json(m: Member) -> dict[str, Any]:
    return {"did": m.did, "legal_name": m.legal_name, "siren": m.siren, "roles": list(m.roles),
            "territory": list(m.territory), "status": m.status, "credential_id": m.credential_id,
            "enrolled_at": m.enrolled_at.isoformat()}
