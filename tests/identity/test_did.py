"""did:web ↔ URL in one canonical spelling, DID documents as built and as checked when fetched."""

from __future__ import annotations

import json

import pytest

from connector.identity import (DID_CONTEXTS, DIDError, build_did_document, did_base_url, did_to_url, generate_key,
                                parse_did_document, parse_did_web, url_to_did)
from connector.identity.keys import raw_public_key


@pytest.mark.parametrize("did, url", [
    ("did:web:hub.atout-france.example.fr", "https://hub.atout-france.example.fr/.well-known/did.json"),
    ("did:web:data.example.fr%3A8443", "https://data.example.fr:8443/.well-known/did.json"),
    ("did:web:host.example.fr:nodes:herault", "https://host.example.fr/nodes/herault/did.json"),
    ("did:web:host.example.fr%3A8443:nodes:herault", "https://host.example.fr:8443/nodes/herault/did.json"),
])
def test_did_to_url_and_back(did, url):
    assert did_to_url(did) == url
    assert url_to_did(url) == did
    assert url_to_did(url.rsplit("/.well-known", 1)[0].removesuffix("/did.json")) == did


def test_loopback_needs_the_insecure_test_flag():
    did = "did:web:127.0.0.1%3A8101"
    with pytest.raises(DIDError) as err:
        did_to_url(did)
    assert err.value.code == "INSECURE_DID"
    assert did_to_url(did, insecure_test=True) == "http://127.0.0.1:8101/.well-known/did.json"
    assert did_base_url("did:web:localhost%3A9000", insecure_test=True) == "http://localhost:9000"
    assert url_to_did("http://127.0.0.1:8101") == did


@pytest.mark.parametrize("did", ["did:web:10.0.0.5", "did:web:169.254.169.254", "did:web:intranet"])
def test_private_ip_literals_and_bare_names_never_resolve(did):
    with pytest.raises(DIDError):
        did_to_url(did, insecure_test=True)


@pytest.mark.parametrize("did", [
    "did:web:Hub.example.fr",              # uppercase host: two spellings of one DID
    "did:web:hub.example.fr%3a8443",       # lowercase escape
    "did:web:hub.example.fr%3A0",          # port 0
    "did:web:hub.example.fr%3A08443",      # leading zero
    "did:web:hub.example.fr%3A70000",
    "did:web:hub.example.fr:nodes:..:etc",  # dot segments
    "did:web:hub.example.fr:%2e%2e",        # escaped dot segments
    "did:web:hub.example.fr:a%2Fb",         # escaped slash
    "did:web:ｈｕｂ.example.fr",            # fullwidth letters
    "did:web:hub.example.fr/path",
    "did:web:hub.example.fr#key-1",
    "did:web:-hub.example.fr",
    "did:web:",
    "did:key:z6Mk",
    "did:web:hub.example.fr:",
    "DID:web:hub.example.fr",
    "did:web:user@hub.example.fr",
    None,
])
def test_non_canonical_dids_are_refused(did):
    with pytest.raises(DIDError) as err:
        parse_did_web(did)
    assert err.value.code == "BAD_DID"


def test_url_to_did_refuses_queries_and_other_schemes():
    for url in ["ftp://hub.example.fr", "https://hub.example.fr/?x=1", "https://hub.example.fr/#f", "hub.example.fr"]:
        with pytest.raises(DIDError):
            url_to_did(url)


def _document(did="did:web:occ.example.fr"):
    auth, audit = generate_key().public_key(), generate_key().public_key()
    return build_did_document(did, auth_keys=[(did + "#key-2026-11", auth)],
                              assertion_keys=[(did + "#audit-2026-11", audit)]), auth, audit


def test_built_document_has_the_profile_shape():
    doc, auth, _ = _document()
    did = "did:web:occ.example.fr"
    assert doc["@context"] == DID_CONTEXTS and doc["id"] == did
    assert [m["type"] for m in doc["verificationMethod"]] == ["JsonWebKey2020", "JsonWebKey2020"]
    assert doc["authentication"] == doc["capabilityInvocation"] == [did + "#key-2026-11"]
    assert doc["assertionMethod"] == [did + "#audit-2026-11"]
    assert {s["type"]: s["serviceEndpoint"] for s in doc["service"]} == {
        "CredentialService": "https://occ.example.fr/cs",
        "DataService": "https://occ.example.fr/.well-known/dspace-version"}
    parsed = parse_did_document(json.dumps(doc).encode(), did)
    assert raw_public_key(parsed.key(did + "#key-2026-11", "capabilityInvocation")) == raw_public_key(auth)
    assert parsed.sole_key("authentication")[0] == did + "#key-2026-11"
    assert parsed.service_endpoints("CredentialService") == ["https://occ.example.fr/cs"]


def test_key_relationship_is_enforced():
    doc, _, _ = _document()
    parsed = parse_did_document(doc, "did:web:occ.example.fr")
    with pytest.raises(DIDError) as err:
        parsed.key("did:web:occ.example.fr#audit-2026-11", "capabilityInvocation")
    assert err.value.code == "UNKNOWN_KEY"
    with pytest.raises(DIDError):
        parsed.key("did:web:occ.example.fr#key-1999-01", "authentication")


def test_fetched_document_limits():
    doc, _, _ = _document()
    did = "did:web:occ.example.fr"
    with pytest.raises(DIDError) as err:
        parse_did_document(json.dumps(doc).encode(), "did:web:other.example.fr")
    assert err.value.code == "DID_MISMATCH"
    padded = dict(doc, padding="x" * 70_000)
    with pytest.raises(DIDError) as err:
        parse_did_document(json.dumps(padded).encode(), did)
    assert err.value.code == "OVERSIZE"
    many = dict(doc, verificationMethod=[
        {"id": f"{did}#k{i}", "type": "JsonWebKey2020", "controller": did,
         "publicKeyJwk": doc["verificationMethod"][0]["publicKeyJwk"]} for i in range(17)])
    with pytest.raises(DIDError) as err:
        parse_did_document(many, did)
    assert err.value.code == "OVERSIZE"
    raw = json.dumps(doc).encode()
    with pytest.raises(DIDError) as err:
        parse_did_document(raw[:-1] + b',"id":"did:web:occ.example.fr"}', did)
    assert "duplicate" in err.value.reason


def test_foreign_methods_and_embedded_methods():
    doc, _, _ = _document()
    did = "did:web:occ.example.fr"
    foreign = json.loads(json.dumps(doc))
    foreign["verificationMethod"][0]["id"] = "did:web:evil.example.fr#key-1"
    with pytest.raises(DIDError) as err:
        parse_did_document(foreign, did)
    assert err.value.code == "BAD_DOCUMENT"
    embedded = json.loads(json.dumps(doc))
    method = embedded["verificationMethod"].pop(0)
    embedded["capabilityInvocation"] = [dict(method, id="#key-2026-11")]
    parsed = parse_did_document(embedded, did)
    parsed.key(did + "#key-2026-11", "capabilityInvocation")
    with pytest.raises(DIDError):
        parse_did_document(dict(doc, **{"@context": "https://example.org/evil"}), did)


def test_path_did_document_endpoints():
    did = "did:web:data.herault.example.fr:nodes:herault"
    doc = build_did_document(did, auth_keys=[(did + "#key-2026-11", generate_key().public_key())])
    assert doc["service"][0]["serviceEndpoint"] == "https://data.herault.example.fr/nodes/herault/cs"
    with pytest.raises(DIDError):
        build_did_document(did, auth_keys=[("did:web:other.example.fr#key-1", generate_key().public_key())])


@pytest.mark.parametrize("url", ["http://[::1", "https://hub.example.fr:99999/", "https://hub.example.fr:x/", 7])
def test_url_to_did_refuses_broken_urls(url):
    with pytest.raises(DIDError):
        url_to_did(url)
