"""The request verification pipeline: the happy path and each refusal, with nothing stored by a refused request."""

from __future__ import annotations

import json
import threading

import pytest

from connector.identity import (AUTH_CODES, AuthError, InMemoryReplayStore, Participant, SigningKey,
                                b64url_encode, check_counterparty, generate_key, issue_access_token,
                                issue_self_token, sign_compact, verify_access_token, verify_request)


def verify(world, authorization, replay, *, our_did=None, now=None, registry=None, **kw):
    return verify_request(authorization, our_did=our_did or world.HUB, now=world.NOW if now is None else now,
                          registry=registry or world.participants(), resolver=world.resolver(registry),
                          replay=replay, **kw)


def refused(world, authorization, replay, **kw) -> AuthError:
    before = len(replay)
    with pytest.raises(AuthError) as err:
        verify(world, authorization, replay, **kw)
    assert err.value.code in AUTH_CODES
    if err.value.code not in ("REPLAY", "NOT_COUNTERPARTY"):
        assert len(replay) == before, "a refused token must not consume a jti"
    return err.value


def bearer(token: str) -> str:
    return "Bearer " + token


def signed(key: SigningKey, claims: dict, header: dict | None = None) -> str:
    return bearer(sign_compact({"typ": "JWT", "kid": key.kid, **(header or {})}, claims, key.private_key))


def claims(world, **over):
    base = {"iss": world.OCC, "sub": world.OCC, "aud": world.HUB, "iat": world.NOW, "exp": world.NOW + 120,
            "jti": "6f1c2f0e-4d7b-4c5e-9d7e-0c6a1b2c3d4e"}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_happy_path(world, replay):
    access = issue_access_token(world.occ.auth, world.HUB, ["membership"], world.NOW)
    token = issue_self_token(world.occ.auth, world.HUB, world.NOW, token=access)
    caller = verify(world, bearer(token), replay)
    assert caller.did == world.OCC and caller.kid == world.occ.auth.kid
    assert caller.exp - caller.iat == 120 and caller.participant.roles == ("regional_node",)
    assert caller.token == access and len(replay) == 1
    assert verify(world, "bearer " + issue_self_token(world.occ.auth, world.HUB, world.NOW), replay).did == world.OCC


def test_path_did_caller(world, replay):
    caller = verify(world, bearer(issue_self_token(world.her.auth, world.HUB, world.NOW)), replay)
    assert caller.did == world.HER


@pytest.mark.parametrize("header, code", [
    (None, "NO_TOKEN"), ("", "NO_TOKEN"), ("Basic dXNlcjpwdw==", "MALFORMED"), ("Bearer", "MALFORMED"),
    ("Bearer a b", "MALFORMED"), ("Bearer " + "a" * 9000, "OVERSIZE"), ("Bearer not.a.jwt", "NON_CANONICAL"),
])
def test_missing_or_malformed_authorization(world, replay, header, code):
    assert refused(world, header, replay).code == code


def test_bad_signature(world, replay):
    forged = SigningKey(world.occ.auth.kid, generate_key())  # right kid, wrong private key
    err = refused(world, signed(forged, claims(world)), replay)
    assert err.code == "BAD_SIGNATURE" and err.http_status == 401


def test_tampered_payload(world, replay):
    h, _, s = issue_self_token(world.occ.auth, world.HUB, world.NOW).split(".")
    other = b64url_encode(json.dumps(claims(world, aud=world.HER)).encode())
    assert refused(world, bearer(f"{h}.{other}.{s}"), replay).code == "BAD_SIGNATURE"


def test_wrong_audience(world, replay):
    token = bearer(issue_self_token(world.occ.auth, world.HER, world.NOW))
    assert refused(world, token, replay).code == "WRONG_AUDIENCE"
    assert refused(world, signed(world.occ.auth, claims(world, aud=[world.HUB, world.HER])), replay).code == \
        "WRONG_AUDIENCE"
    assert verify(world, signed(world.occ.auth, claims(world, aud=[world.HUB])), replay).did == world.OCC


def test_expired_token_with_leeway(world, replay):
    token = bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW))
    assert refused(world, token, replay, now=world.NOW + 125).code == "EXPIRED"
    assert verify(world, token, replay, now=world.NOW + 124).did == world.OCC


def test_time_claims(world, replay):
    key = world.occ.auth
    assert refused(world, signed(key, claims(world, iat=world.NOW + 6, exp=world.NOW + 100)), replay).code == \
        "ISSUED_IN_FUTURE"
    assert refused(world, signed(key, claims(world, nbf=world.NOW + 30)), replay).code == "NOT_YET_VALID"
    assert refused(world, signed(key, claims(world, exp=world.NOW + 601)), replay).code == "LIFETIME_TOO_LONG"
    assert refused(world, signed(key, claims(world, exp=None)), replay).code == "MISSING_CLAIM"
    assert refused(world, signed(key, claims(world, exp=world.NOW + 1.5)), replay).code == "BAD_CLAIM_TYPE"
    assert refused(world, signed(key, claims(world, jti=None)), replay).code == "MISSING_CLAIM"
    assert refused(world, signed(key, claims(world, jti="")), replay).code == "MISSING_CLAIM"
    # EDC-style 600 s tokens are accepted
    assert verify(world, signed(key, claims(world, exp=world.NOW + 600)), replay).exp == world.NOW + 600


def test_replayed_jti(world, replay):
    token = bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW))
    verify(world, token, replay)
    assert refused(world, token, replay, now=world.NOW + 10).code == "REPLAY"
    assert len(replay) == 1


def test_replay_store_is_per_issuer(world, replay):
    verify(world, signed(world.occ.auth, claims(world, jti="same")), replay)
    her = claims(world, iss=world.HER, sub=world.HER, jti="same")
    verify(world, signed(world.her.auth, her), replay)
    assert len(replay) == 2


def test_unknown_or_inactive_participant_is_refused_before_any_fetch(world, replay):
    stranger = SigningKey("did:web:stranger.example.fr#key-2026-11", generate_key())
    token = bearer(issue_self_token(stranger, world.HUB, world.NOW))
    assert refused(world, token, replay).code == "UNKNOWN_PARTICIPANT"
    revoked = world.participants(Participant(world.OCC, "CRT", ("regional_node",), status="revoked"))
    token = bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW))
    assert refused(world, token, replay, registry=revoked).code == "UNKNOWN_PARTICIPANT"
    assert world.fetched == []


def test_iss_sub_and_did_syntax(world, replay):
    key = world.occ.auth
    assert refused(world, signed(key, claims(world, sub=world.HER)), replay).code == "ISS_SUB_MISMATCH"
    assert refused(world, signed(key, claims(world, iss=None, sub=None)), replay).code == "ISS_SUB_MISMATCH"
    bad = "did:web:donnees.tourisme-occitanie.example.fr%2F..%2Fadmin"
    assert refused(world, signed(key, claims(world, iss=bad, sub=bad)), replay).code == "BAD_DID"


def test_kid_must_belong_to_the_caller_and_invoke_capabilities(world, replay):
    borrowed = SigningKey(world.her.auth.kid, world.occ.auth.private_key)
    assert refused(world, signed(borrowed, claims(world)), replay).code == "BAD_KID"
    audit = world.occ.audit  # listed in the DID document, but only under assertionMethod
    assert refused(world, signed(audit, claims(world)), replay).code == "UNKNOWN_KEY"


def test_token_without_kid_uses_the_sole_capability_key(world, replay):
    token = bearer(sign_compact({"typ": "JWT"}, claims(world), world.occ.auth.private_key))
    assert verify(world, token, replay).kid == world.occ.auth.kid


@pytest.mark.parametrize("header, code", [
    ({"jwk": {"kty": "OKP"}}, "FORBIDDEN_HEADER"), ({"jku": "https://evil.example/keys"}, "FORBIDDEN_HEADER"),
    ({"x5u": "https://evil.example/c"}, "FORBIDDEN_HEADER"), ({"x5c": ["MII"]}, "FORBIDDEN_HEADER"),
    ({"crit": ["exp"]}, "FORBIDDEN_HEADER"), ({"alg": "HS256"}, "BAD_ALG"), ({"alg": "none"}, "BAD_ALG"),
    ({"typ": "vc+jwt"}, "BAD_TYP"), ({"pad": "x" * 9000}, "OVERSIZE"),
])
def test_forbidden_header_fields_and_algorithms(world, replay, header, code):
    h = b64url_encode(json.dumps({"alg": "EdDSA", "kid": world.occ.auth.kid, **header}).encode())
    p = b64url_encode(json.dumps(claims(world)).encode())
    sig = b64url_encode(world.occ.auth.private_key.sign(f"{h}.{p}".encode()))
    assert refused(world, bearer(f"{h}.{p}.{sig}"), replay).code == code


def test_non_canonical_and_duplicate_keys(world, replay):
    token = issue_self_token(world.occ.auth, world.HUB, world.NOW)
    h, p, s = token.split(".")
    assert refused(world, bearer(f"{h}.{p}=.{s}"), replay).code == "NON_CANONICAL"
    dup = json.dumps(claims(world))[:-1] + f',"aud":"{world.HER}"}}'
    p2 = b64url_encode(dup.encode())
    s2 = b64url_encode(world.occ.auth.private_key.sign(f"{h}.{p2}".encode()))
    assert refused(world, bearer(f"{h}.{p2}.{s2}"), replay).code == "DUPLICATE_KEY"


def test_rotated_key_is_found_after_one_refetch(world, replay):
    resolver = world.resolver()
    resolver.resolve(world.OCC)  # cached with the old key
    world.occ.auth = SigningKey(world.OCC + "#key-2027-11", generate_key())
    world.publish(world.occ)
    token = bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW))
    world.clock.now += 61
    caller = verify_request(token, our_did=world.HUB, now=world.NOW, registry=world.participants(),
                            resolver=resolver, replay=replay)
    assert caller.kid.endswith("#key-2027-11") and len(world.fetched) == 2


def test_not_counterparty_is_a_404(world, replay):
    token = bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW))
    err = refused(world, token, replay, counterparty=world.HER)
    assert err.code == "NOT_COUNTERPARTY" and err.http_status == 404
    caller = verify(world, bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW)), replay,
                    counterparty=world.OCC)
    check_counterparty(caller, world.OCC)
    with pytest.raises(AuthError):
        check_counterparty(caller, world.HUB)


def test_replay_check_under_concurrency(world):
    """Threads racing the same token through the whole pipeline: exactly one wins."""
    replay = InMemoryReplayStore()
    token = bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW))
    registry, resolver = world.participants(), world.resolver()
    resolver.resolve(world.OCC)
    barrier = threading.Barrier(16)
    results: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            verify_request(token, our_did=world.HUB, now=world.NOW, registry=registry, resolver=resolver,
                           replay=replay)
            outcome = "ok"
        except AuthError as exc:
            outcome = exc.code
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["REPLAY"] * 15 + ["ok"]


def test_in_memory_store_purges_expired_rows(replay):
    assert replay.insert("did:web:a.example.fr", "1", 100) and replay.insert("did:web:a.example.fr", "2", 200)
    assert not replay.insert("did:web:a.example.fr", "1", 100)
    assert replay.purge(150) == 1 and len(replay) == 1


def test_access_token_for_the_credential_service(world):
    token = issue_access_token(world.occ.auth, world.HUB, ["scope-a"], world.NOW)
    grant = verify_access_token(token, world.occ.auth, world.HUB, world.NOW + 10)
    assert grant.scopes == ("scope-a",) and grant.verifier == world.HUB
    for args, code in [((world.occ.auth, world.HER, world.NOW), "WRONG_AUDIENCE"),
                       ((world.occ.auth, world.HUB, world.NOW + 400), "EXPIRED"),
                       ((world.her.auth, world.HUB, world.NOW), "UNKNOWN_KEY")]:
        with pytest.raises(AuthError) as err:
            verify_access_token(token, *args)
        assert err.value.code == code
    with pytest.raises(AuthError):
        verify_access_token(None, world.occ.auth, world.HUB, world.NOW)
    with pytest.raises(ValueError):
        issue_access_token(world.occ.auth, world.HUB, [], world.NOW, lifetime=301)


def test_unavailable_participant_list_fails_closed(world, replay):
    from connector.identity import RegistryError

    class NoList:
        def get(self, did):
            raise RegistryError("LIST_BAD_SIGNATURE", "participant list does not verify")

    token = bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW))
    with pytest.raises(AuthError) as err:
        verify_request(token, our_did=world.HUB, now=world.NOW, registry=NoList(), resolver=world.resolver(),
                       replay=replay)
    assert err.value.code == "UNKNOWN_PARTICIPANT" and len(replay) == 0 and world.fetched == []


def test_did_fetch_failure_is_unresolvable(world, replay):
    world.documents.clear()
    err = refused(world, bearer(issue_self_token(world.occ.auth, world.HUB, world.NOW)), replay)
    assert err.code == "UNRESOLVABLE"


def test_fuzz_pipeline_raises_only_auth_errors(world):
    """Random Authorization values, including near-valid tokens with mutated characters, end in AuthError."""
    from hypothesis import given, settings, strategies as st

    registry, resolver, replay = world.participants(), world.resolver(), InMemoryReplayStore()
    good = issue_self_token(world.occ.auth, world.HUB, world.NOW)

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(st.text(max_size=200).map(lambda t: "Bearer " + t),
                     st.tuples(st.integers(0, len(good) - 1), st.characters()).map(
                         lambda m: "Bearer " + good[:m[0]] + m[1] + good[m[0] + 1:])))
    def run(header):
        try:
            verify_request(header, our_did=world.HUB, now=world.NOW, registry=registry, resolver=resolver,
                           replay=replay)
        except AuthError:
            pass

    run()
