"""Bitstring status list: encoding, the signed list credential, and the cache with injected clocks."""

from __future__ import annotations

import base64
import gzip

import pytest

from connector.identity import (MIN_BITS, CachePolicy, SigningKey, StatusList, StatusListError,
                                generate_key, issue_status_list_credential, status_entry,
                                verify_status_list_credential)
from connector.identity.jws import b64url_encode


def test_bits_round_trip_and_herd_size():
    bits = StatusList()
    assert bits.size == MIN_BITS == 131_072
    for i in (0, 7, 8, 94_567, MIN_BITS - 1):
        bits.set(i)
    bits.set(7, False)
    decoded = StatusList.decode(bits.encode())
    assert [i for i in (0, 7, 8, 94_567, MIN_BITS - 1) if decoded.get(i)] == [0, 8, 94_567, MIN_BITS - 1]
    assert not decoded.get(1)
    raw = gzip.decompress(base64.urlsafe_b64decode(bits.encode()[1:] + "=="))
    assert len(raw) == 16 * 1024 and raw[0] == 0x80  # bit 0 is the left-most bit
    with pytest.raises(StatusListError):
        bits.get(MIN_BITS)
    with pytest.raises(ValueError):
        StatusList(1024)


@pytest.mark.parametrize("encoded", [
    "u" + b64url_encode(gzip.compress(bytes(1024))),              # too few bits
    b64url_encode(gzip.compress(bytes(16384))),                    # no multibase prefix
    "u" + b64url_encode(b"not gzip at all"),
    "u" + b64url_encode(gzip.compress(bytes(16384))[:-10]),        # truncated
    "u" + b64url_encode(gzip.compress(bytes(20 * 1024 * 1024))),   # decompression bomb: 20 MiB from ~20 KiB
    "u!!", None,
])
def test_decode_refuses_bad_lists(encoded):
    with pytest.raises(StatusListError):
        StatusList.decode(encoded)


def test_list_credential_round_trip(world):
    bits = StatusList()
    bits.set(42)
    token = issue_status_list_credential(world.hub.issuer, world.STATUS_URL, bits, world.NOW)
    verified = verify_status_list_credential(token, world.anchor, url=world.STATUS_URL, now=world.NOW + 60)
    assert verified.purpose == "revocation" and verified.bits.get(42) and not verified.bits.get(41)
    with pytest.raises(StatusListError) as err:
        verify_status_list_credential(token, world.anchor, url=world.STATUS_URL + "x", now=world.NOW)
    assert err.value.code == "BAD_LIST"
    with pytest.raises(StatusListError) as err:
        verify_status_list_credential(token, world.anchor, url=world.STATUS_URL, now=world.NOW + 86_400 + 10)
    assert err.value.code == "LIST_EXPIRED"
    forged = issue_status_list_credential(SigningKey(world.hub.issuer.kid, generate_key()), world.STATUS_URL,
                                          StatusList(), world.NOW)
    with pytest.raises(StatusListError) as err:
        verify_status_list_credential(forged, world.anchor, url=world.STATUS_URL, now=world.NOW)
    assert err.value.code == "LIST_BAD_SIGNATURE"


def test_cache_policy_bounds():
    policy = CachePolicy()
    assert policy.is_fresh(0, 599) and not policy.is_fresh(0, 600)
    assert policy.is_usable(0, 86_400) and not policy.is_usable(0, 86_401)
    for bad in (dict(ttl=601), dict(ttl=0), dict(max_age=86_401), dict(ttl=600, max_age=300)):
        with pytest.raises(ValueError):
            CachePolicy(**bad)


def test_cache_refetches_after_ttl_and_sees_revocations(world):
    cache = world.status_cache()
    entry = status_entry(world.STATUS_URL, 7)
    assert cache.is_revoked(entry, world.NOW) is False and world.status_fetches == 1
    world.status.set(7)
    assert cache.is_revoked(entry, world.NOW + 599) is False and world.status_fetches == 1  # still cached
    world.clock.now = world.NOW + 600
    assert cache.is_revoked(entry, world.NOW + 600) is True and world.status_fetches == 2


def test_cache_keeps_last_good_copy_then_fails_closed(world):
    cache = world.status_cache()
    entry = status_entry(world.STATUS_URL, 7)
    cache.is_revoked(entry, world.NOW)
    world.status_down = True
    assert cache.is_revoked(entry, world.NOW + 3_600) is False           # stale but usable
    assert cache.is_revoked(entry, world.NOW + 86_400) is False          # exactly 24 h old
    with pytest.raises(StatusListError) as err:
        cache.is_revoked(entry, world.NOW + 86_401)
    assert err.value.code == "STATUS_UNAVAILABLE"
    world.status_down = False
    world.clock.now = world.NOW + 86_500
    assert cache.is_revoked(entry, world.NOW + 86_500) is False          # recovers once reachable


def test_cache_without_any_copy_fails_closed(world):
    world.status_down = True
    with pytest.raises(StatusListError) as err:
        world.status_cache().is_revoked(status_entry(world.STATUS_URL, 1), world.NOW)
    assert err.value.code == "STATUS_UNAVAILABLE"


@pytest.mark.parametrize("entry", [
    None, {"type": "StatusList2021Entry"},
    {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": "-1",
     "statusListCredential": "https://hub.atout-france.example.fr/trust/status/1"},
    {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": "²",
     "statusListCredential": "https://hub.atout-france.example.fr/trust/status/1"},
    {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": "1",
     "statusListCredential": "http://169.254.169.254/latest/meta-data"},
    {"type": "BitstringStatusListEntry", "statusPurpose": "suspension", "statusListIndex": "1",
     "statusListCredential": "https://hub.atout-france.example.fr/trust/status/1"},
])
def test_bad_entries_are_refused_without_fetching_elsewhere(world, entry):
    with pytest.raises(StatusListError):
        world.status_cache().is_revoked(entry, world.NOW)
    assert world.status_fetches <= 1
