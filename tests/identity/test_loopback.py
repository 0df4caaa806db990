"""The local data space of the demo: loopback did:web over http, allowed only with the insecure-test flag."""

from __future__ import annotations

import json
from datetime import date

import pytest

from connector.identity import (DIDError, InMemoryReplayStore, MembershipSubject, Participant, ParticipantResolver,
                                SigningKey, StatusList, StatusListCache, StatusListError, TrustAnchor, AuthError,
                                build_did_document, generate_key, issue_membership_credential, issue_presentation,
                                issue_self_token, issue_status_list_credential, sign_participant_list,
                                verify_participant_list, verify_presentation, verify_request)

NOW = 1_795_000_000
HUB, OCC = "did:web:127.0.0.1%3A8101", "did:web:127.0.0.1%3A8102"


def test_loopback_space_end_to_end():
    hub_auth, hub_issuer = SigningKey(HUB + "#key-2026-11", generate_key()), SigningKey(HUB + "#issuer-2026-11",
                                                                                        generate_key())
    occ = SigningKey(OCC + "#key-2026-11", generate_key())
    docs = {
        "http://127.0.0.1:8101/.well-known/did.json": build_did_document(
            HUB, auth_keys=[(hub_auth.kid, hub_auth.public_key)],
            assertion_keys=[(hub_issuer.kid, hub_issuer.public_key)], insecure_test=True),
        "http://127.0.0.1:8102/.well-known/did.json": build_did_document(
            OCC, auth_keys=[(occ.kid, occ.public_key)], insecure_test=True),
    }
    assert docs["http://127.0.0.1:8102/.well-known/did.json"]["service"][0]["serviceEndpoint"] == \
        "http://127.0.0.1:8102/cs"
    anchor = TrustAnchor(HUB, {hub_issuer.kid: hub_issuer.public_key})
    registry = verify_participant_list(sign_participant_list(
        hub_issuer, [Participant(HUB, "Atout France", ("national_hub",)),
                     Participant(OCC, "CRT Occitanie", ("regional_node",))], version=1, now=NOW), anchor)
    fetch = lambda url: json.dumps(docs[url]).encode()  # noqa: E731
    status_url = "http://127.0.0.1:8101/trust/status/1"
    status = StatusListCache(lambda url: issue_status_list_credential(hub_issuer, url, StatusList(), NOW), anchor,
                             insecure_test=True)

    secure = ParticipantResolver(registry, fetch, lambda: NOW)
    token = "Bearer " + issue_self_token(occ, HUB, NOW)
    with pytest.raises(AuthError) as err:
        verify_request(token, our_did=HUB, now=NOW, registry=registry, resolver=secure, replay=InMemoryReplayStore())
    assert err.value.code == "UNRESOLVABLE" and "insecure test mode" in err.value.reason

    resolver = ParticipantResolver(registry, fetch, lambda: NOW, insecure_test=True)
    caller = verify_request(token, our_did=HUB, now=NOW, registry=registry, resolver=resolver,
                            replay=InMemoryReplayStore())
    vc = issue_membership_credential(
        hub_issuer, MembershipSubject(OCC, "CRT Occitanie", "130000000", ("regional_node",), ("REG-76",),
                                      date(2026, 1, 1), "1.0", "d" * 64),
        status_list_url=status_url, status_index=5, now=NOW, insecure_test=True)
    membership = verify_presentation(issue_presentation(occ, HUB, [vc], NOW), holder_did=caller.did, our_did=HUB,
                                     now=NOW, resolver=resolver, anchor=anchor, status=status)
    assert membership.territory == ("REG-76",)

    with pytest.raises(DIDError):
        StatusListCache(lambda url: "", anchor)  # the loopback authority needs the flag for its status list too
    with pytest.raises(StatusListError):
        status.is_revoked({"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                           "statusListIndex": "1", "statusListCredential": "http://127.0.0.1:9999/trust/status/1"},
                          NOW)
