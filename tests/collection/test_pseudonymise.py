import base64
import hashlib
import hmac
import random
import stat

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connector.commands.publish_file import describe, load_pseudonymisation_key, publish_file
from hub.collection import KeyError_, Pseudonymiser, ingest
from hub.collection import pseudonymise

KEY = bytes(range(32))


def test_pseudonym_is_rfc2104_hmac_sha256_with_namespace_and_version():
    p = Pseudonymiser(KEY, 3)
    mac = hmac.new(KEY, b"booking\x1f3\x1fBK42", "sha256").digest()
    assert p.one("booking", "BK42") == "b3:" + base64.b32encode(mac).decode()[:26]
    long_key = bytes(100)  # longer than the SHA-256 block: hashed first, as RFC 2104 says
    mac = hmac.new(long_key, b"campsite\x1f1\x1fx", "sha256").digest()
    assert Pseudonymiser(long_key, 1).one("campsite", " x ") == "c1:" + base64.b32encode(mac).decode()[:26]


_HMAC_PATHS = {"batched": (True, pseudonymise.SHA256), "loop-builtin-sha256": (False, pseudonymise.SHA256),
               "loop-openssl-sha256": (False, hashlib.sha256)}


@pytest.mark.parametrize("path", sorted(_HMAC_PATHS))
def test_every_pseudonym_of_a_block_is_the_hmac_on_every_path(path, monkeypatch):
    """Thousands of values at once (past one slice of the loop), through the C extension and through the loop
    with the interpreter's SHA-256 and with OpenSSL's: each pseudonym is base32(HMAC-SHA256)[:26] of the stripped
    value. ``make test`` builds the extension, so the batched case fails rather than skips where it is missing."""
    batched, sha256 = _HMAC_PATHS[path]
    monkeypatch.setattr(pseudonymise, "SHA256", sha256)
    rnd = random.Random(4)
    values = [f"BK{rnd.getrandbits(40)}" for _ in range(3000)] + ["", " é ", "x" * 64, "réservation ß 予約"]
    key = bytes(rnd.getrandbits(8) for _ in range(48))
    got = Pseudonymiser(key, 123456, batched=batched).column("booking", pa.array(values)).to_pylist()
    want = ["b123456:" + base64.b32encode(hmac.new(key, b"booking\x1f123456\x1f" + v.strip().encode(),
                                                   "sha256").digest()).decode()[:26] for v in values]
    assert got == want


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "loop"])
def test_hmac_reads_sliced_large_and_empty_arrays(batched):
    """Arrow arrays that start inside their buffers, 64-bit offsets, and values that are all empty (no data
    buffer) give the HMAC of exactly their own values."""
    p = Pseudonymiser(KEY, 1, batched=batched)
    ns = p._space("booking")
    values = pa.array([f"v{i}" for i in range(100)])
    for arr, plain in [(values.slice(37, 20), [f"v{i}" for i in range(37, 57)]),
                       (pa.array(["a", "bc"], pa.large_string()), ["a", "bc"]),
                       (pa.array(["", ""]), ["", ""])]:
        got = [bytes(row) for row in ns._mac_all(arr)]
        assert got == [hmac.new(KEY, b"booking\x1f1\x1f" + v.encode(), "sha256").digest() for v in plain]


def test_batched_hmac_refuses_offsets_outside_its_data():
    from hub.collection import _hmac
    import numpy as np
    out = np.empty((1, 32), np.uint8)
    with pytest.raises(ValueError, match="offsets"):
        _hmac.mac_strings(bytes(64), b"", np.array([0, 9], np.int32), b"abc", out)
    with pytest.raises(ValueError, match="64 bytes"):
        _hmac.mac_strings(bytes(32), b"", np.array([0, 3], np.int32), b"abc", out)


def test_deterministic_per_key_and_changes_with_key_or_version():
    a, b = Pseudonymiser(KEY, 1), Pseudonymiser(KEY, 1)
    assert a.one("booking", "BK1") == b.one("booking", "BK1")
    assert a.one("booking", "BK1") != a.one("campsite", "BK1")  # namespaces are unlinkable
    v2 = Pseudonymiser(KEY, 2).one("booking", "BK1")
    assert v2.startswith("b2:") and v2[3:] != a.one("booking", "BK1")[3:]
    assert Pseudonymiser(bytes(32), 1).one("booking", "BK1") != a.one("booking", "BK1")


def test_hmac_computed_once_per_distinct_value():
    p = Pseudonymiser(KEY, 1)
    col = pa.array(["A", "B", "A", None, "C", "A"] * 1000)
    out = p.column("booking", col)
    assert p.distinct_count("booking") == 3
    p.column("booking", pa.array(["C", "B", "D"]))
    assert p.distinct_count("booking") == 4  # only D was new
    assert out[0] == out[2] and out[3].as_py() is None


@pytest.mark.parametrize("key,version", [(b"short", 1), (None, 1), (KEY, "v1"), (KEY, "")])
def test_weak_key_or_bad_version_fails_closed(key, version, tmp_path):
    with pytest.raises(KeyError_):
        Pseudonymiser(key, version)


def test_same_file_same_pseudonyms_new_version_new_pseudonyms(kit, tmp_path):
    src = kit.write_csv(tmp_path / "a.csv", kit.good_rows())
    r1 = ingest(src, "campsite-bookings", tmp_path / "o1", tmp_path / "q", KEY, 1)
    r2 = ingest(src, "campsite-bookings", tmp_path / "o2", tmp_path / "q", KEY, 1)
    r3 = ingest(src, "campsite-bookings", tmp_path / "o3", tmp_path / "q", KEY, 2)
    ids = [pq.read_table(r.output_path).column("booking_pid").to_pylist() for r in (r1, r2, r3)]
    assert ids[0] == ids[1] and r1.output_sha256 == r2.output_sha256
    assert not set(ids[0]) & set(ids[2]) and r3.output_path.name.endswith("-k2.parquet")


def test_key_file_loading_and_publish_helper(kit, tmp_path):
    key = tmp_path / "pseudonymisation.key"
    key.write_bytes(KEY)
    key.chmod(0o644)
    with pytest.raises(KeyError_, match="chmod 600"):
        load_pseudonymisation_key(key)
    key.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert load_pseudonymisation_key(key) == KEY
    with pytest.raises(KeyError_, match="missing"):
        load_pseudonymisation_key(tmp_path / "nope.key")
    ok = publish_file(kit.write_csv(tmp_path / "ok.csv", kit.good_rows()), "campsite-bookings", tmp_path / "node",
                      KEY, 1, original_name="export semaine 25.csv")
    assert ok.ok and ok.output_path.parent == tmp_path / "node" / "datasets" / "campsite-bookings"
    assert describe(ok) == [ok.message]
    rows = kit.good_rows()
    rows[2]["nights"] = "x"
    bad = publish_file(kit.write_csv(tmp_path / "bad.csv", rows), "campsite-bookings", tmp_path / "node", KEY, 1)
    lines = describe(bad)
    assert lines[0].startswith("rejected: 1 problems") and "row 4, nights: not an integer ('x') [type]" in lines[1]
    assert bad.quarantine_path.parent == tmp_path / "node" / "quarantine"
