"""Requests between real nodes over loopback HTTP: who is let in, who is refused, and that a refusal changes
nothing. Runs on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from connector.clock import FixedClock
from connector.identity.credentials import MEMBERSHIP_SCOPE
from connector.identity.keys import SigningKey, generate_key
from connector.identity.tokens import issue_self_token
from connector.store.models import DenialRecord, OwnCredential
from connector.testing import LiveSpace
from contracts.schemas import DSP_CONTEXT, validation_errors

CATALOG_REQUEST = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}


@pytest.fixture
def space(tmp_path: Path, db_factory) -> Iterator[LiveSpace]:  # type: ignore[no-untyped-def]
    import time
    s = LiveSpace(tmp_path, FixedClock(time.time()), db_factory)
    s.add("hub", role="hub", enrol=False)
    s.enrol("hub")
    s.add("occitanie", territory=["REG-76"])
    s.add("bretagne", territory=["REG-53"])
    yield s
    s.stop()


def _post_catalog(target: Any, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(target.url + "/dsp/2025-1/catalog/request", json=CATALOG_REQUEST, headers=headers, timeout=30)


def _snapshot(live: Any) -> dict[str, list[Any]]:
    """Every row of every table but the records of the refusal itself (denial list, exchange log) and the cache of
    the authority's signed public documents: what a refused request must leave untouched."""
    out = {}
    with live.node.engine.connect() as c:
        from sqlmodel import SQLModel
        for name in sorted(SQLModel.metadata.tables):
            if name in ("denial", "trust_document", "audit_entry", "audit_head"):
                continue
            out[name] = sorted(map(repr, c.execute(text(f'SELECT * FROM "{name}"')).all()))
    return out


def _token(space: LiveSpace, caller: str, aud: str, **kw: Any) -> str:
    return space.nodes[caller].trust.self_issued_token(aud, **kw)


def test_members_verify_each_other(space: LiveSpace) -> None:
    occ, bre = space.nodes["occitanie"], space.nodes["bretagne"]
    r = _post_catalog(bre, _token(space, "occitanie", bre.did))
    assert r.status_code == 200
    assert r.json()["participantId"] == bre.did
    assert validation_errors(r.json(), "Catalog") == []
    check = occ.api("POST", "/api/peers/check", {"did": bre.did}).json()
    assert check["ok"], check


def _refused(space: LiveSpace, target: str, token: str | None, code: str) -> None:
    live = space.nodes[target]
    before = _snapshot(live)
    r = _post_catalog(live, token)
    assert r.status_code == 401
    assert r.json()["@type"] == "CatalogError" and validation_errors(r.json(), "CatalogError") == []
    # the same token on a negotiation or transfer path is a DSP 404, not a 401/403
    for path in ("/dsp/2025-1/negotiations/urn:uuid:x", "/dsp/2025-1/transfers/urn:uuid:x"):
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        r2 = httpx.get(live.url + path, headers=headers, timeout=30)
        assert r2.status_code == 404, path
    assert _snapshot(live) == before, "a refused request changed the node's state"
    with live.node.session() as s:
        codes = [d.code for d in s.exec(select(DenialRecord)).all()]
    assert code in codes, codes
    from connector.audit import query
    with live.node.session() as s:
        logged = [e for e in query(s, kind="auth.rejected")]
    assert any(code in str(e) for e in logged), logged


def test_no_token(space: LiveSpace) -> None:
    _refused(space, "bretagne", None, "NO_TOKEN")


def test_bad_signature(space: LiveSpace) -> None:
    occ = space.nodes["occitanie"]
    forged = SigningKey(occ.node.key_id("auth"), generate_key())  # right kid, wrong private key
    token = issue_self_token(forged, space.nodes["bretagne"].did, space.clock.now())
    _refused(space, "bretagne", token, "BAD_SIGNATURE")


def test_wrong_audience(space: LiveSpace) -> None:
    _refused(space, "bretagne", _token(space, "occitanie", space.nodes["hub"].did), "WRONG_AUDIENCE")


def test_expired_token(space: LiveSpace) -> None:
    occ, bre = space.nodes["occitanie"], space.nodes["bretagne"]
    old = issue_self_token(occ.trust.signing_key(), bre.did, space.clock.now() - 3600)
    _refused(space, "bretagne", old, "EXPIRED")


def test_replayed_jti(space: LiveSpace) -> None:
    bre = space.nodes["bretagne"]
    token = _token(space, "occitanie", bre.did)
    assert _post_catalog(bre, token).status_code == 200
    _refused(space, "bretagne", token, "REPLAY")


def test_did_not_on_participant_list(space: LiveSpace) -> None:
    space.add("intrus", enrol=False)
    bre = space.nodes["bretagne"]
    _refused(space, "bretagne", _token(space, "intrus", bre.did), "UNKNOWN_PARTICIPANT")


def test_revoked_membership(space: LiveSpace) -> None:
    occ, bre, hub = space.nodes["occitanie"], space.nodes["bretagne"], space.nodes["hub"]
    assert _post_catalog(bre, _token(space, "occitanie", bre.did)).status_code == 200
    assert hub.api("POST", "/api/members/revoke", {"did": occ.did}).status_code == 200
    # Bretagne learns it from the status list once its cached copy ages out (≤ 10 min): no manual step needed
    space.clock.advance(601)  # type: ignore[attr-defined]
    # a member's request meanwhile (the hub's) lets Bretagne reap expired token ids before the snapshot
    assert _post_catalog(bre, _token(space, "hub", bre.did)).status_code == 200
    _refused(space, "bretagne", _token(space, "occitanie", bre.did), "UNKNOWN_PARTICIPANT")


def test_revoked_credential_refused_even_if_still_listed(space: LiveSpace) -> None:
    """The status list alone must be enough: flip only the credential's bit, keep the DID listed."""
    occ, bre, hub = space.nodes["occitanie"], space.nodes["bretagne"], space.nodes["hub"]
    from connector.store.models import Member
    assert _post_catalog(bre, _token(space, "occitanie", bre.did)).status_code == 200  # list now cached
    with hub.node.session() as s:
        member = s.get(Member, occ.did)
        member.status = "revoked"
        s.add(member)
        s.commit()
    # Bretagne's cached participant list (fresh for 5 min) still shows Occitanie active
    assert bre.trust.participants().get(occ.did).active
    bre.trust._status = None  # a fresh status list shows the revoked bit
    with bre.trust._lock:
        bre.trust._membership.clear()
    _refused(space, "bretagne", _token(space, "occitanie", bre.did), "REVOKED")


def test_foreign_issued_credential(space: LiveSpace, tmp_path: Path) -> None:
    """A credential signed by another 'authority' (not the pinned trust anchor) is refused."""
    from datetime import date
    from connector.identity.credentials import MembershipSubject, issue_membership_credential
    occ, bre = space.nodes["occitanie"], space.nodes["bretagne"]
    # the hub's own key id (dated by the month the node was made), signed with another key
    rogue = SigningKey(space.nodes["hub"].node.key_id("issuer"), generate_key())
    subject = MembershipSubject(occ.did, "Occitanie", "000000000", ("national_hub",), (), date(2026, 1, 1), "1.0",
                                "0" * 64)
    vc = issue_membership_credential(rogue, subject, status_list_url=space.nodes["hub"].trust.status_list_url(),
                                     status_index=1, now=space.clock.now(), insecure_test=True)
    with occ.node.session() as s:
        for c in s.exec(select(OwnCredential)).all():
            c.jwt = vc
            s.add(c)
        s.commit()
    _refused(space, "bretagne", _token(space, "occitanie", bre.did), "VC_BAD_SIGNATURE")


def test_replay_check_holds_under_concurrent_requests(space: LiveSpace) -> None:
    bre = space.nodes["bretagne"]
    token = _token(space, "occitanie", bre.did)
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def hit() -> None:
        barrier.wait()
        statuses.append(_post_catalog(bre, token).status_code)

    threads = [threading.Thread(target=hit) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [401] * 11


def test_version_and_did_document_are_public(space: LiveSpace) -> None:
    bre = space.nodes["bretagne"]
    v = httpx.get(bre.url + "/.well-known/dspace-version").json()
    assert validation_errors(v, "VersionResponse") == []
    assert v["protocolVersions"][0]["version"] == "2025-1"
    doc = httpx.get(bre.url + "/.well-known/did.json").json()
    assert doc["id"] == bre.did and doc["capabilityInvocation"]


def test_management_api_needs_admin_token(space: LiveSpace) -> None:
    hub = space.nodes["hub"]
    assert httpx.get(hub.url + "/api/members").status_code == 401
    assert httpx.get(hub.url + "/api/members", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert hub.api("GET", "/api/members").status_code == 200
    assert httpx.get(hub.url + "/api/openapi.json").json()["openapi"].startswith("3.")


def test_enrolment_refuses_bad_input_with_reasons(space: LiveSpace) -> None:
    hub = space.nodes["hub"]
    r = hub.api("POST", "/api/members", {"did": "did:web:127.0.0.1%3A9", "legal_name": "x", "roles": ["king"]})
    assert r.status_code == 400 and "roles" in r.json()["message"]
    r = hub.api("POST", "/api/members", {"did": "did:web:127.0.0.1%3A9", "legal_name": "x",
                                         "roles": ["regional_node"], "territory": ["DEP-999"]})
    assert r.status_code == 400 and "DEP-999" in r.json()["message"]


def test_token_command_lets_an_operator_call_a_peer(space: LiveSpace) -> None:
    from click.testing import CliRunner
    from connector.cli import cli
    occ, bre = space.nodes["occitanie"], space.nodes["bretagne"]
    out = CliRunner().invoke(cli, ["token", "--dir", str(occ.node.config.base), "--aud", bre.did])
    assert out.exit_code == 0, out.output
    token = out.output.strip()
    assert token.count(".") == 2
    assert _post_catalog(bre, token).status_code == 200
    assert _post_catalog(bre, token).status_code == 401  # single use


def _access_token_of(token: str) -> str:
    from connector.identity.jws import parse_compact
    return parse_compact(token, typ="JWT").payload["token"]


def test_access_token_is_reused_for_half_its_lifetime(space: LiveSpace) -> None:
    """Each request's self-issued token is new (single use), the access token inside it is minted once per peer and
    half-lifetime: the peer can still use it on our /cs, and a fresh one follows when half its lifetime is gone."""
    occ, bre, hub = space.nodes["occitanie"], space.nodes["bretagne"], space.nodes["hub"]
    first, second = _token(space, "occitanie", bre.did), _token(space, "occitanie", bre.did)
    assert first != second and _access_token_of(first) == _access_token_of(second)
    assert _access_token_of(_token(space, "occitanie", hub.did)) != _access_token_of(first)
    assert _post_catalog(bre, first).status_code == 200 and _post_catalog(bre, second).status_code == 200
    space.clock.advance(149)  # type: ignore[attr-defined]
    reused = _token(space, "occitanie", bre.did)
    assert _access_token_of(reused) == _access_token_of(first)
    # Bretagne queries Occitanie's credential service with the reused access token, as membership checks do
    query = issue_self_token(bre.trust.signing_key(), occ.did, space.clock.now(), token=_access_token_of(reused))
    r = httpx.post(occ.url + "/cs/presentations/query", headers={"Authorization": f"Bearer {query}"}, timeout=30,
                   json={"type": "PresentationQueryMessage", "scope": [MEMBERSHIP_SCOPE]})
    assert r.status_code == 200 and r.json()["presentation"], r.text
    space.clock.advance(1)  # type: ignore[attr-defined]
    assert _access_token_of(_token(space, "occitanie", bre.did)) != _access_token_of(first)
