"""The authority-signed participant list and the resolver that only ever fetches listed, active DIDs."""

from __future__ import annotations

import httpx
import pytest

from connector.identity import (DIDError, Participant, ParticipantResolver, RegistryError, SigningKey, TrustAnchor,
                                generate_key, http_fetcher, sign_participant_list, verify_participant_list)


def test_list_round_trip(world):
    lst = world.participants()
    assert lst.version == 1 and lst.issuer == world.HUB
    assert lst.is_active(world.OCC) and lst.get(world.HER).roles == ("departmental_node",)
    assert lst.get("did:web:stranger.example.fr") is None


def test_list_signed_by_another_key_is_refused(world):
    impostor = SigningKey(world.HUB + "#issuer-2026-11", generate_key())
    token = sign_participant_list(impostor, [Participant(world.OCC, "X", ("regional_node",))], version=2,
                                  now=world.NOW)
    with pytest.raises(RegistryError) as err:
        verify_participant_list(token, world.anchor)
    assert err.value.code == "LIST_BAD_SIGNATURE"
    rogue = SigningKey("did:web:rogue.example.fr#issuer-2026-11", generate_key())
    token = sign_participant_list(rogue, [Participant(world.OCC, "X", ("regional_node",))], version=2, now=world.NOW)
    with pytest.raises(RegistryError) as err:
        verify_participant_list(token, world.anchor)
    assert err.value.code == "LIST_UNKNOWN_KEY"


def test_rollback_and_future_lists_are_refused(world):
    current = world.participants(version=5)
    old = sign_participant_list(world.hub.issuer, [Participant(world.OCC, "X", ("regional_node",))], version=4,
                                now=world.NOW)
    with pytest.raises(RegistryError) as err:
        verify_participant_list(old, world.anchor, current=current)
    assert err.value.code == "LIST_ROLLBACK"
    future = sign_participant_list(world.hub.issuer, [], version=6, now=world.NOW + 3600)
    with pytest.raises(RegistryError):
        verify_participant_list(future, world.anchor, now=world.NOW)


@pytest.mark.parametrize("entry", [
    {"did": "did:web:Bad.example.fr", "legalName": "X", "roles": ["regional_node"], "status": "active"},
    {"did": "did:web:ok.example.fr", "legalName": "", "roles": ["regional_node"], "status": "active"},
    {"did": "did:web:ok.example.fr", "legalName": "X", "roles": ["king"], "status": "active"},
    {"did": "did:web:ok.example.fr", "legalName": "X", "roles": ["regional_node"], "status": "maybe"},
])
def test_bad_entries_are_named(entry):
    with pytest.raises(RegistryError) as err:
        Participant.from_json(entry, "participants[0]")
    assert err.value.code == "BAD_LIST" and err.value.reason.startswith("participants[0]")


def test_duplicate_dids_are_refused(world):
    p = Participant(world.OCC, "X", ("regional_node",))
    with pytest.raises(RegistryError):
        sign_participant_list(world.hub.issuer, [p, p], version=1, now=world.NOW)


def test_resolver_never_fetches_unlisted_or_inactive_dids(world):
    suspended = world.participants(Participant(world.OCC, "CRT", ("regional_node",), status="suspended"))
    resolver = world.resolver(suspended)
    for did in (world.OCC, "did:web:169.254.169.254", "did:web:attacker.example.fr"):
        with pytest.raises(DIDError) as err:
            resolver.resolve(did)
        assert err.value.code == "UNKNOWN_PARTICIPANT"
    assert world.fetched == []


def test_resolver_caches_and_rate_limits_refetch(world):
    resolver = world.resolver()
    doc = resolver.resolve(world.OCC)
    assert doc.id == world.OCC and len(world.fetched) == 1
    resolver.resolve(world.OCC)
    resolver.resolve(world.OCC, refresh=True)          # asked again within a minute: the cache answers
    assert len(world.fetched) == 1
    world.clock.now += 61
    resolver.resolve(world.OCC, refresh=True)
    assert len(world.fetched) == 2
    world.clock.now += 300
    resolver.resolve(world.OCC)                        # TTL elapsed
    assert len(world.fetched) == 3
    assert world.fetched[0] == "https://donnees.tourisme-occitanie.example.fr/.well-known/did.json"
    resolver.resolve(world.HER)
    assert world.fetched[-1] == "https://data.herault.example.fr/nodes/herault/did.json"


def test_resolver_maps_fetch_failures(world):
    del world.documents["https://donnees.tourisme-occitanie.example.fr/.well-known/did.json"]
    with pytest.raises(DIDError) as err:
        world.resolver().resolve(world.OCC)
    assert err.value.code == "UNRESOLVABLE"
    world.documents["https://donnees.tourisme-occitanie.example.fr/.well-known/did.json"] = \
        world.documents["https://hub.atout-france.example.fr/.well-known/did.json"]
    with pytest.raises(DIDError) as err:
        world.resolver().resolve(world.OCC)
    assert err.value.code == "DID_MISMATCH"


def test_resolver_takes_the_list_as_a_callable(world):
    holder = {"list": world.participants(Participant(world.HUB, "Atout France", ("national_hub",)))}
    resolver = ParticipantResolver(lambda: holder["list"], world.fetch, world.clock)
    with pytest.raises(DIDError):
        resolver.resolve(world.OCC)
    holder["list"] = world.participants()
    assert resolver.resolve(world.OCC).id == world.OCC


def test_trust_anchor_from_did_document_takes_issuer_keys_only(world):
    from connector.identity import parse_did_document
    anchor = TrustAnchor.from_did_document(parse_did_document(world.hub.document(), world.HUB))
    assert list(anchor.keys) == [world.hub.issuer.kid]
    with pytest.raises(DIDError):
        TrustAnchor.from_did_document(parse_did_document(world.occ.document(), world.OCC))


def test_http_fetcher_refuses_redirects_and_oversize_bodies():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/redirect":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/"})
        if request.url.path == "/big":
            return httpx.Response(200, content=b"x" * 70_000)
        if request.url.path == "/chunked":
            return httpx.Response(200, content=iter([b"y" * 40_000, b"y" * 40_000]))
        return httpx.Response(200, json={"ok": True})

    fetch = http_fetcher(httpx.Client(transport=httpx.MockTransport(handler)))
    assert fetch("https://a.example.fr/ok") == b'{"ok":true}'
    for path, code in [("/redirect", "UNRESOLVABLE"), ("/big", "OVERSIZE"), ("/chunked", "OVERSIZE")]:
        with pytest.raises(DIDError) as err:
            fetch("https://a.example.fr" + path)
        assert err.value.code == code


def test_http_fetcher_has_a_total_deadline(monkeypatch):
    import connector.identity.fetch as fetch_module
    ticks = iter([0.0, 0.5, 1.5, 2.5, 3.5])
    monkeypatch.setattr(fetch_module.time, "monotonic", lambda: next(ticks))

    def trickle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"{", b" ", b" ", b"}"]))

    fetch = http_fetcher(httpx.Client(transport=httpx.MockTransport(trickle)), timeout=2.0)
    with pytest.raises(DIDError) as err:
        fetch("https://slow.example.fr/.well-known/did.json")
    assert "longer than" in err.value.reason
