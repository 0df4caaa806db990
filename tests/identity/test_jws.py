"""The strict JWS: what it accepts, each thing it refuses, and that random input only ever raises JWSError."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings, strategies as st

from connector.identity import JWSError, b64url_decode, b64url_encode, generate_key, parse_compact, sign_compact
from connector.identity.jws import verify_compact

KEY = generate_key()
OTHER = generate_key()


def enc(obj) -> str:
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode())


def forge(header: dict | str, payload: dict | str, key=KEY) -> str:
    """A token with arbitrary header/payload segments (already-encoded strings pass through)."""
    h = header if isinstance(header, str) else enc(header)
    p = payload if isinstance(payload, str) else enc(payload)
    return f"{h}.{p}.{b64url_encode(key.sign(f'{h}.{p}'.encode()))}"


def code_of(token: str, **kw) -> str:
    with pytest.raises(JWSError) as err:
        verify_compact(token, KEY.public_key(), **kw)
    return err.value.code


def test_round_trip_emits_eddsa_first():
    token = sign_compact({"typ": "JWT", "kid": "did:web:a.example#key-2026-11", "alg": "none"}, {"iat": 1}, KEY)
    parsed = verify_compact(token, KEY.public_key(), typ="JWT")
    assert list(parsed.header) == ["alg", "typ", "kid"] and parsed.header["alg"] == "EdDSA"
    assert parsed.payload == {"iat": 1} and len(parsed.signature) == 64
    assert "=" not in token


def test_fully_specified_ed25519_alg_is_accepted():
    verify_compact(forge({"alg": "Ed25519"}, {"a": 1}), KEY.public_key())


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "RS256", "eddsa", "", None, 1, ["EdDSA"]])
def test_other_algorithms_are_refused(alg):
    header = {"alg": alg} if alg is not None else {}
    assert code_of(forge(header, {"a": 1})) == "BAD_ALG"


@pytest.mark.parametrize("field", ["jku", "x5u", "x5c", "jwk", "crit", "b64"])
def test_forbidden_header_fields(field):
    assert code_of(forge({"alg": "EdDSA", field: "x"}, {"a": 1})) == "FORBIDDEN_HEADER"


@pytest.mark.parametrize("field", ["jku", "x5u", "x5c", "jwk", "crit"])
def test_forbidden_header_fields_are_never_emitted(field):
    with pytest.raises(JWSError) as err:
        sign_compact({field: "x"}, {"a": 1}, KEY)
    assert err.value.code == "FORBIDDEN_HEADER"


def test_bad_signature_and_wrong_key():
    token = sign_compact({}, {"a": 1}, KEY)
    with pytest.raises(JWSError) as err:
        verify_compact(token, OTHER.public_key())
    assert err.value.code == "BAD_SIGNATURE"
    h, p, s = token.split(".")
    tampered = f"{h}.{enc({'a': 2})}.{s}"
    assert code_of(tampered) == "BAD_SIGNATURE"


@pytest.mark.parametrize("mangle", [
    lambda h, p, s: f"{h}=.{p}.{s}",                 # padding
    lambda h, p, s: f"{h}.{p}.{s}==",
    lambda h, p, s: f"{h.replace('J', '+', 1)}.{p}.{s}",  # standard alphabet
    lambda h, p, s: f"{h} .{p}.{s}",                 # whitespace
    lambda h, p, s: f"{h}.{p}.{s[:-1] + ('B' if s[-1] == 'A' else 'A')}",  # non-zero trailing bits / other sig
])
def test_non_canonical_base64_is_refused(mangle):
    h, p, s = sign_compact({}, {"a": 1}, KEY).split(".")
    with pytest.raises(JWSError) as err:
        verify_compact(mangle(h, p, s), KEY.public_key())
    assert err.value.code in ("NON_CANONICAL", "BAD_SIGNATURE")


def test_trailing_bits_must_be_zero():
    # "AB" decodes to one byte 0x00 but sets low bits that canonical encoding ("AA") leaves at zero
    assert b64url_decode("AA") == b"\x00"
    with pytest.raises(JWSError) as err:
        b64url_decode("AB")
    assert err.value.code == "NON_CANONICAL"
    with pytest.raises(JWSError):
        b64url_decode("A")


def test_duplicate_keys_are_refused_in_header_and_payload():
    dup_header = b64url_encode(b'{"alg":"EdDSA","alg":"EdDSA"}')
    assert code_of(forge(dup_header, {"a": 1})) == "DUPLICATE_KEY"
    dup_payload = b64url_encode(b'{"aud":"did:web:a.example","aud":"did:web:b.example"}')
    assert code_of(forge({"alg": "EdDSA"}, dup_payload)) == "DUPLICATE_KEY"


def test_oversize_header_is_refused_before_decoding():
    big = {"alg": "EdDSA", "pad": "x" * 9000}
    assert code_of(forge(big, {"a": 1})) == "OVERSIZE"
    with pytest.raises(JWSError) as err:
        parse_compact("a" * 300_000)
    assert err.value.code == "OVERSIZE"


@pytest.mark.parametrize("claims", [{"exp": 1.5}, {"iat": "1"}, {"nbf": True}, {"exp": -1}, {"exp": 2**60},
                                    {"iat": None}])
def test_numeric_dates_must_be_integers(claims):
    assert code_of(forge({"alg": "EdDSA"}, claims)) == "BAD_CLAIM_TYPE"


def test_signature_must_be_64_bytes():
    h, p, _ = sign_compact({}, {"a": 1}, KEY).split(".")
    for n in (0, 63, 65):
        with pytest.raises(JWSError) as err:
            parse_compact(f"{h}.{p}.{b64url_encode(bytes(n))}")
        assert err.value.code == "MALFORMED"


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "...", "eyJ9.e30.AA", 42, None])
def test_structurally_broken_tokens(token):
    with pytest.raises(JWSError):
        parse_compact(token)


@pytest.mark.parametrize("payload", [b"[1,2]", b"NaN", b'{"a":NaN}', b"\xff\xfe", b"{" * 100 + b"}" * 100,
                                     b'{"a":1}x'])
def test_payload_must_be_one_plain_json_object(payload):
    assert code_of(forge({"alg": "EdDSA"}, b64url_encode(payload))) in ("MALFORMED", "DUPLICATE_KEY")


def test_typ_checks():
    token = sign_compact({"typ": "vc+jwt"}, {"a": 1}, KEY)
    verify_compact(token, KEY.public_key(), typ="application/VC+JWT", typ_required=True)
    assert code_of(token, typ="vp+jwt") == "BAD_TYP"
    untyped = sign_compact({}, {"a": 1}, KEY)
    verify_compact(untyped, KEY.public_key(), typ="JWT")
    assert code_of(untyped, typ="vc+jwt", typ_required=True) == "BAD_TYP"
    assert code_of(forge({"alg": "EdDSA", "kid": 7}, {"a": 1})) == "MALFORMED"


# --- fuzzing: the parser raises nothing but JWSError --------------------------------------------------------------

B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. "


def _parse_only_jws_errors(token) -> None:
    try:
        parse_compact(token)
    except JWSError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_random_text(token):
    _parse_only_jws_errors(token)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet=B64_CHARS, max_size=120), min_size=1, max_size=4))
def test_fuzz_random_segments(parts):
    _parse_only_jws_errors(".".join(parts))


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "jwk", "x"]), JSON_VALUES, max_size=4),
       st.one_of(JSON_VALUES, st.binary(max_size=80)), st.binary(max_size=80))
def test_fuzz_structured_segments(header, payload, signature):
    h = b64url_encode(json.dumps(header).encode())
    p = b64url_encode(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    _parse_only_jws_errors(f"{h}.{p}.{b64url_encode(signature)}")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_b64_round_trip(data):
    text = b64url_encode(data)
    assert b64url_decode(text) == data
    assert base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) == data


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=12))
def test_b64_decode_accepts_exactly_the_canonical_strings(text):
    """Every accepted string is the one encoding of its bytes; every refused one is not a canonical encoding."""
    try:
        data = b64url_decode(text)
    except JWSError:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) if len(text) % 4 != 1 else None
        assert raw is None or b64url_encode(raw) != text
    else:
        assert b64url_encode(data) == text
