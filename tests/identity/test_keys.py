"""Key files are created 0600 (never widened then narrowed), round-trip, and refuse what they should."""

from __future__ import annotations

import os
import stat
from datetime import date, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from connector.identity import (DIDError, KeyFileError, generate_key, jwk_to_public_key, key_fragment,
                                load_private_key, public_jwk, public_key_sha256, write_private_key)
from connector.identity.keys import raw_public_key


@pytest.fixture
def open_umask():
    """Prove the mode comes from os.open, not from a lucky umask."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_key_file_is_0600_and_round_trips(tmp_path, open_umask):
    key = generate_key()
    path = write_private_key(tmp_path / "auth.pem", key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert raw_public_key(load_private_key(path).public_key()) == raw_public_key(key.public_key())


def test_encrypted_key_file(tmp_path):
    key = generate_key()
    path = write_private_key(tmp_path / "k.pem", key, passphrase=b"s3cret")
    assert b"ENCRYPTED" in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert raw_public_key(load_private_key(path, passphrase=b"s3cret").public_key()) == raw_public_key(key.public_key())
    with pytest.raises(KeyFileError) as err:
        load_private_key(path, passphrase=b"wrong")
    assert err.value.code == "KEY_INVALID"


def test_existing_key_is_not_overwritten(tmp_path):
    path = write_private_key(tmp_path / "k.pem", generate_key())
    before = path.read_bytes()
    with pytest.raises(KeyFileError) as err:
        write_private_key(path, generate_key())
    assert err.value.code == "KEY_EXISTS" and path.read_bytes() == before
    write_private_key(path, generate_key(), overwrite=True)
    assert path.read_bytes() != before and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_refuses_readable_missing_and_foreign_keys(tmp_path):
    path = write_private_key(tmp_path / "k.pem", generate_key())
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError) as err:
        load_private_key(path)
    assert err.value.code == "KEY_PERMISSIONS" and "0644" in err.value.reason
    load_private_key(path, require_private_mode=False)
    with pytest.raises(KeyFileError) as err:
        load_private_key(tmp_path / "absent.pem")
    assert err.value.code == "KEY_MISSING"
    ec = generate_private_key(SECP256R1()).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
    fd = os.open(tmp_path / "ec.pem", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, ec)
    os.close(fd)
    with pytest.raises(KeyFileError) as err:
        load_private_key(tmp_path / "ec.pem")
    assert err.value.code == "KEY_INVALID" and "Ed25519" in err.value.reason
    (tmp_path / "junk.pem").write_bytes(b"not a key")
    os.chmod(tmp_path / "junk.pem", 0o600)
    with pytest.raises(KeyFileError):
        load_private_key(tmp_path / "junk.pem")


def test_jwk_round_trip_and_refusals():
    pub = generate_key().public_key()
    jwk = public_jwk(pub)
    assert set(jwk) == {"kty", "crv", "x"} and len(jwk["x"]) == 43
    assert raw_public_key(jwk_to_public_key(jwk)) == raw_public_key(pub)
    assert len(public_key_sha256(pub)) == 64
    for bad in [{**jwk, "crv": "X25519"}, {**jwk, "kty": "EC"}, {**jwk, "d": jwk["x"]}, {**jwk, "x": jwk["x"] + "="},
                {**jwk, "x": jwk["x"][:-2]}, {"kty": "OKP", "crv": "Ed25519"}, "jwk"]:
        with pytest.raises(DIDError):
            jwk_to_public_key(bad)


def test_dated_key_fragments():
    assert key_fragment("key", date(2026, 11, 3)) == "key-2026-11"
    assert key_fragment("audit", datetime(2027, 1, 1)) == "audit-2027-01"
    assert key_fragment("issuer", date(2026, 11, 1)) == "issuer-2026-11"
    with pytest.raises(ValueError):
        key_fragment("signing", date(2026, 1, 1))
