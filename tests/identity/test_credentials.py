"""Membership VC-JWT and VP-JWT: issuance, verification, each refusal, and the DCP presentation query flow."""

from __future__ import annotations

from datetime import date

import pytest

from connector.identity import (MEMBERSHIP_SCOPE, CredentialError, InMemoryReplayStore, MembershipSubject,
                                SigningKey, fetch_membership, generate_key, issue_access_token,
                                issue_membership_credential, issue_presentation, issue_self_token,
                                parse_compact, parse_presentation_query, parse_presentation_response,
                                presentation_query, presentation_response, sign_compact, verify_access_token,
                                verify_membership_credential, verify_presentation, verify_request)


def check_vp(world, vp, *, holder=None, now=None, **kw):
    return verify_presentation(vp, holder_did=holder or world.OCC, our_did=world.HUB,
                               now=world.NOW if now is None else now, resolver=world.resolver(),
                               anchor=world.anchor, status=world.status_cache(), **kw)


def refused(world, vp, **kw) -> str:
    with pytest.raises(CredentialError) as err:
        check_vp(world, vp, **kw)
    return err.value.code


def test_credential_shape(world):
    vc = parse_compact(world.membership(world.occ))
    assert vc.header["typ"] == "vc+jwt" and vc.header["cty"] == "vc" and vc.kid == world.hub.issuer.kid
    body = vc.payload
    assert body["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                "https://hub.atout-france.example.fr/ns/tourisme-ds/v1"]
    assert body["type"] == ["VerifiableCredential", "TourismDataSpaceMembershipCredential"]
    assert body["issuer"] == world.HUB and body["id"].startswith("urn:uuid:")
    assert body["validFrom"] == "2026-11-18T11:06:40Z" and body["validUntil"] == "2027-11-18T11:06:40Z"
    subject = body["credentialSubject"]
    assert subject == {"id": world.OCC, "legalName": "CRT Occitanie", "siren": "130000000",
                       "roles": ["regional_node"], "territory": ["REG-76"], "memberSince": "2026-01-15",
                       "rulebook": {"version": "1.2", "sha256": "a" * 64}}
    assert body["credentialStatus"] == {
        "id": world.STATUS_URL + "#7", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": "7", "statusListCredential": world.STATUS_URL}


def test_presentation_happy_path(world):
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ)], world.NOW)
    header = parse_compact(vp)
    assert header.header["typ"] == "vp+jwt" and header.payload["verifiableCredential"][0]["id"].startswith(
        "data:application/vc+jwt,eyJ")
    membership = check_vp(world, vp, now=world.NOW + 30)
    assert membership.did == world.OCC and membership.roles == ("regional_node",)
    assert membership.territory == ("REG-76",) and membership.legal_name == "CRT Occitanie"
    assert membership.siren == "130000000" and membership.issuer == world.HUB
    assert membership.policy_claims() == {"membershipRole": ["regional_node"], "territory": ["REG-76"],
                                          "organisation": "CRT Occitanie", "siren": "130000000"}


def test_revoked_credential(world):
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ, index=99)], world.NOW)
    world.status.set(99)
    assert refused(world, vp) == "REVOKED"


def test_status_list_unavailable_fails_closed(world):
    world.status_down = True
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ)], world.NOW)
    assert refused(world, vp) == "STATUS_UNAVAILABLE"


def test_foreign_issued_credentials(world):
    rogue = SigningKey("did:web:rogue-authority.example.fr#issuer-2026-11", generate_key())
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ, issuer=rogue)], world.NOW)
    assert refused(world, vp) == "FOREIGN_ISSUER"
    # claims the hub as issuer, with a key the anchor does not pin
    impostor = SigningKey(world.HUB + "#issuer-2099-01", generate_key())
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ, issuer=impostor)], world.NOW)
    assert refused(world, vp) == "FOREIGN_ISSUER"
    # the hub's pinned kid, a different private key
    forged = SigningKey(world.hub.issuer.kid, generate_key())
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ, issuer=forged)], world.NOW)
    assert refused(world, vp) == "VC_BAD_SIGNATURE"
    # the hub's auth key is not an issuer key
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ, issuer=world.hub.auth)], world.NOW)
    assert refused(world, vp) == "FOREIGN_ISSUER"


def test_holder_binding(world):
    # Hérault presents Occitanie's credential
    vp = issue_presentation(world.her.auth, world.HUB, [world.membership(world.occ)], world.NOW)
    assert refused(world, vp, holder=world.HER) == "HOLDER_MISMATCH"
    # the VP claims to come from Occitanie while the SI token came from Hérault
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ)], world.NOW)
    assert refused(world, vp, holder=world.HER) == "HOLDER_MISMATCH"


def test_presentation_signature_and_key_relationship(world):
    forged = SigningKey(world.occ.auth.kid, generate_key())
    vp = issue_presentation(forged, world.HUB, [world.membership(world.occ)], world.NOW)
    assert refused(world, vp) == "VP_BAD_SIGNATURE"
    vp = issue_presentation(world.occ.audit, world.HUB, [world.membership(world.occ)], world.NOW)
    assert refused(world, vp) == "VP_UNKNOWN_KEY"


def test_presentation_audience_and_times(world):
    vc = world.membership(world.occ)
    assert refused(world, issue_presentation(world.occ.auth, world.HER, [vc], world.NOW)) == "WRONG_AUDIENCE"
    vp = issue_presentation(world.occ.auth, world.HUB, [vc], world.NOW)
    assert refused(world, vp, now=world.NOW + 126) == "VP_EXPIRED"
    with pytest.raises(ValueError):
        issue_presentation(world.occ.auth, world.HUB, [vc], world.NOW, lifetime=301)
    long = sign_compact({"typ": "vp+jwt", "kid": world.occ.auth.kid},
                        {"type": ["VerifiablePresentation"], "iss": world.OCC, "aud": world.HUB, "iat": world.NOW,
                         "exp": world.NOW + 3600, "jti": "x", "verifiableCredential": []}, world.occ.auth.private_key)
    assert refused(world, long) == "BAD_PRESENTATION"


def test_credential_validity_window(world):
    expired = world.membership(world.occ, valid_for=86_400, now=world.NOW - 2 * 86_400)
    vp = issue_presentation(world.occ.auth, world.HUB, [expired], world.NOW)
    assert refused(world, vp) == "VC_EXPIRED"
    future = world.membership(world.occ, now=world.NOW + 3600)
    vp = issue_presentation(world.occ.auth, world.HUB, [future], world.NOW)
    assert refused(world, vp) == "VC_NOT_YET_VALID"


def test_missing_credential_and_bad_envelopes(world):
    assert refused(world, issue_presentation(world.occ.auth, world.HUB, [], world.NOW)) == "MISSING_CREDENTIAL"
    vp = sign_compact({"typ": "vp+jwt", "kid": world.occ.auth.kid},
                      {"type": ["VerifiablePresentation"], "iss": world.OCC, "aud": world.HUB, "iat": world.NOW,
                       "exp": world.NOW + 60, "jti": "y",
                       "verifiableCredential": [{"type": "EnvelopedVerifiableCredential",
                                                 "id": "https://evil.example/vc.json"}]},
                      world.occ.auth.private_key)
    assert refused(world, vp) == "BAD_PRESENTATION"
    assert refused(world, world.membership(world.occ)) == "VP_BAD_TYP"  # a bare VC is not a presentation


def test_presentation_replay_when_a_store_is_given(world):
    vp = issue_presentation(world.occ.auth, world.HUB, [world.membership(world.occ)], world.NOW)
    store = InMemoryReplayStore()
    check_vp(world, vp, replay=store)
    assert refused(world, vp, replay=store) == "REPLAY"


def test_issuance_refuses_bad_subjects(world):
    for change in (dict(siren="12345"), dict(roles=("emperor",)), dict(territory=("REG-99",)),
                   dict(rulebook_sha256="ABC"), dict(roles=("auditor",)), dict(did="did:web:BAD")):
        subject = MembershipSubject(**{**dict(did=world.OCC, legal_name="CRT", siren="130000000",
                                              roles=("regional_node",), territory=("REG-76",),
                                              member_since=date(2026, 1, 1), rulebook_version="1.2",
                                              rulebook_sha256="b" * 64), **change})
        with pytest.raises(CredentialError) as err:
            issue_membership_credential(world.hub.issuer, subject, status_list_url=world.STATUS_URL,
                                        status_index=1, now=world.NOW)
        assert err.value.code == "BAD_CREDENTIAL"


def test_auditor_credential_carries_its_scope(world):
    subject = MembershipSubject(world.OCC, "Cabinet d'audit", "552100554", ("auditor",), (), date(2026, 1, 1),
                                "1.2", "c" * 64, audit_scope=(world.HER,))
    vc = issue_membership_credential(world.hub.issuer, subject, status_list_url=world.STATUS_URL, status_index=3,
                                     now=world.NOW)
    m = verify_membership_credential(vc, anchor=world.anchor, holder_did=world.OCC, now=world.NOW,
                                     status=world.status_cache())
    assert m.roles == ("auditor",) and m.audit_scope == (world.HER,) and m.territory == ()


def test_presentation_query_messages():
    query = presentation_query()
    assert query["type"] == "PresentationQueryMessage" and parse_presentation_query(query) == [MEMBERSHIP_SCOPE]
    for bad, code in [({"type": "Other"}, "BAD_QUERY"),
                      ({"type": "PresentationQueryMessage", "scope": []}, "BAD_QUERY"),
                      ({"type": "PresentationQueryMessage", "presentationDefinition": {}}, "UNSUPPORTED_QUERY"),
                      ({"type": "PresentationQueryMessage", "presentationDefinition": {}, "scope": ["a"]},
                       "BAD_QUERY")]:
        with pytest.raises(CredentialError) as err:
            parse_presentation_query(bad)
        assert err.value.code == code
    assert parse_presentation_response(presentation_response(["a.b.c"])) == ["a.b.c"]
    with pytest.raises(CredentialError):
        parse_presentation_response({"type": "PresentationResponseMessage", "presentation": "a.b.c"})


def test_fetch_membership_end_to_end(world, replay):
    """Occitanie calls the hub; the hub runs steps 1–10, then step 11 against Occitanie's credential service."""
    occ_vc = world.membership(world.occ)
    registry, resolver = world.participants(), world.resolver()
    calls = []

    def occitanie_cs(url: str, authorization: str, body: dict) -> dict:
        """Occitanie's /cs route: the hub's SI token, whose `token` claim Occitanie minted for the hub."""
        calls.append(url)
        verifier = verify_request(authorization, our_did=world.OCC, now=world.NOW, registry=registry,
                                  resolver=resolver, replay=InMemoryReplayStore())
        grant = verify_access_token(verifier.token, world.occ.auth, verifier.did, world.NOW)
        assert set(parse_presentation_query(body)) <= set(grant.scopes)
        return presentation_response([issue_presentation(world.occ.auth, verifier.did, [occ_vc], world.NOW)])

    access = issue_access_token(world.occ.auth, world.HUB, [MEMBERSHIP_SCOPE], world.NOW)
    header = "Bearer " + issue_self_token(world.occ.auth, world.HUB, world.NOW, token=access)
    caller = verify_request(header, our_did=world.HUB, now=world.NOW, registry=registry, resolver=resolver,
                            replay=replay)
    membership = fetch_membership(caller, our_key=world.hub.auth, now=world.NOW, resolver=resolver,
                                  anchor=world.anchor, status=world.status_cache(), post=occitanie_cs)
    assert membership.roles == ("regional_node",) and membership.territory == ("REG-76",)
    assert calls == ["https://donnees.tourisme-occitanie.example.fr/cs/presentations/query"]

    def down(url, authorization, body):
        raise ConnectionError("refused")

    with pytest.raises(CredentialError) as err:
        fetch_membership(caller, our_key=world.hub.auth, now=world.NOW, resolver=resolver, anchor=world.anchor,
                         status=world.status_cache(), post=down)
    assert err.value.code == "CREDENTIAL_SERVICE_FAILED"


def test_credential_service_must_be_on_the_dids_origin(world, replay):
    import json
    from connector.identity import credential_service_url, parse_did_document
    doc = world.occ.document()
    doc["service"][0]["serviceEndpoint"] = "https://169.254.169.254/cs"
    with pytest.raises(CredentialError) as err:
        credential_service_url(parse_did_document(json.loads(json.dumps(doc)), world.OCC))
    assert err.value.code == "NO_CREDENTIAL_SERVICE"
