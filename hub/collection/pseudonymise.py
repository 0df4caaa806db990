"""Keyed pseudonyms (HMAC-SHA256) computed once per distinct value.

A pseudonym is ``<namespace letter><key version>:<base32(HMAC-SHA256(key, namespace 0x1f version 0x1f value))[:26]>``
(130 bits), e.g. ``b1:MZXW6YTBOI3DGNBVGY3TQOJQGE``. The namespace keeps a campsite and a booking with the same raw
identifier unlinkable; the key version is both shown (which key made it) and hashed (a new version never links to
the old pseudonyms, even if a key were reused). Values are stripped of surrounding spaces before hashing.
The HMAC is RFC 2104 over SHA-256 with the inner and outer states precomputed once (tested against ``hmac``):
it is the hot loop of ingestion. Which values are hashed, and when, is decided per block of rows (see
``_Namespace``). A block's values are hashed in one call of the small C extension ``_hmac`` (OpenSSL's SHA-256
with the CPU's SHA instructions, states copied as plain structs, the interpreter lock released): 0.16 µs per value
against 0.65 µs for the loop below, which stays as the fallback where the extension could not be built
(``HMAC_BACKEND`` says which one runs). The fallback uses the interpreter's own SHA-256 (``SHA256``) rather than
``hashlib``'s: each copy of an OpenSSL hash state through ``hashlib`` allocates a context in its provider layer
(four copies per value), which cost more than the hashing.

A block goes through three steps: ``prepare_identifiers`` (its distinct values), ``Pseudonymiser.hash_block`` (the
HMACs of the values the previous block did not have) and ``Pseudonymiser.assemble`` (every value's pseudonym, in
file order). The first two need no state and run in the threads that check blocks, side by side.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:
    from hub.collection import _hmac
except ImportError:  # built without a C compiler or OpenSSL's headers: the loop in Python gives the same bytes
    _hmac = None

__all__ = ["Pseudonymiser", "KeyError_", "MIN_KEY_BYTES", "Hashed", "prepare_identifiers", "HMAC_BACKEND"]

MIN_KEY_BYTES = 32
_MAC_SLICE = 1024
_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)
_B32_PAIRS = _B32[np.arange(1024) >> 5].astype("<u2") | (_B32[np.arange(1024) & 31].astype("<u2") << 8)  # 10 bits
_SHIFTS_W0 = np.array([54, 44, 34, 24, 14, 4], dtype=np.uint64)[:, None]
_SHIFTS_W1 = np.array([48, 38, 28, 18, 8], dtype=np.uint64)[:, None]
_VERSION = re.compile(r"^[0-9]{1,6}$")


def _builtin_sha256() -> Callable[..., "hashlib._Hash"]:
    """The interpreter's built-in SHA-256 constructor (``_sha2`` from Python 3.12, ``_sha256`` before), or
    ``hashlib.sha256`` where the interpreter was built without it."""
    for module in ("_sha2", "_sha256"):
        try:
            return importlib.import_module(module).sha256
        except (ImportError, AttributeError):
            continue
    return hashlib.sha256


SHA256 = _builtin_sha256()  # for the HMACs (see the module doc); any SHA-256 gives the same pseudonyms
HMAC_BACKEND = "openssl" if _hmac is not None else "python"


class KeyError_(ValueError):
    """A missing or weak pseudonymisation key (we fail closed: no fallback to a plain hash)."""


def _b32_into(digests: np.ndarray, out: np.ndarray) -> None:
    """First 26 base32 characters (RFC 4648 alphabet) of each digest row, written into ``out`` (n × 26 bytes, rows
    may be strided). The first 130 bits are two big-endian 64-bit words and 2 bits of byte 16, cut into 13 fields
    of 10 bits, each looked up as a pair of characters: field by field over all rows (contiguous rows of 64-bit
    integers), then one strided copy into ``out`` (character by character took three times as long)."""
    n = len(digests)
    words = np.ascontiguousarray(digests[:, :16]).view(">u8").astype(np.uint64)
    w0, w1 = words[:, 0], words[:, 1]
    fields = np.empty((13, n), dtype=np.intp)
    f = fields.view(np.uint64)
    np.right_shift(w0, _SHIFTS_W0, out=f[:6])  # fields 0-5: bits 0-59
    np.left_shift(w0, np.uint64(6), out=f[6])  # field 6: bits 60-69 (4 bits of w0, 6 of w1)
    f[6] |= w1 >> np.uint64(58)
    np.right_shift(w1, _SHIFTS_W1, out=f[7:12])  # fields 7-11: bits 70-119
    np.left_shift(w1, np.uint64(2), out=f[12])  # field 12: bits 120-129 (8 bits of w1, 2 of byte 16)
    f[12] |= digests[:, 16] >> 6
    np.bitwise_and(f, np.uint64(1023), out=f)
    out.view("<u2")[...] = np.take(_B32_PAIRS, fields).T


@dataclass
class Hashed:
    """The HMAC step of one block: which distinct values the previous block had (``pos``, -1 if not) and the
    pseudonym bytes and 64-bit ids of the others (``new``, positions in the block's distinct values)."""

    previous: pa.Array | None
    pos: np.ndarray
    new: np.ndarray
    rows: np.ndarray
    ids: np.ndarray


class _Namespace:
    """Pseudonyms of one namespace, computed per block of rows for the block's distinct values.

    No file-wide dictionary of raw values is kept (a Python dict of 1.6 M identifiers cost more than the HMACs
    themselves): each block's distinct values are looked up in the previous block's (Arrow's hash join, in C++),
    and only the values not found there are hashed. Exports come grouped by booking, so a value is hashed once;
    a value whose rows are scattered over the file is hashed once per block it appears in (never once per row).
    Each value also gets a 64-bit id (the first 8 bytes of its HMAC) for the duplicate check and the count of
    distinct values.
    """

    def __init__(self, prefix: bytes, key_block: bytes, message_prefix: bytes, batched: bool) -> None:
        self.prefix = prefix
        self.key_block, self.message_prefix = key_block, message_prefix  # padded key; namespace ␟ version ␟
        self.batched = batched
        self.inner = SHA256(bytes(b ^ 0x36 for b in key_block) + message_prefix)  # the fallback's states
        self.outer = SHA256(bytes(b ^ 0x5C for b in key_block))
        self.width = len(prefix) + 26
        self.prev_values: pa.Array | None = None
        self.prev_rows = np.empty((0, self.width), dtype=np.uint8)
        self.prev_ids = np.empty(0, dtype=np.int64)
        self.new_ids: list[np.ndarray] = []
        self._ids_unique = False
        self.hmacs = 0

    def _mac_all(self, values: pa.Array) -> np.ndarray:
        """HMAC of each value (its UTF-8 bytes, taken from Arrow's buffers: no str round trip)."""
        if self.batched:
            raw = values.cast(pa.binary())   # the same buffers, read as bytes
            out = np.empty((len(raw), 32), dtype=np.uint8)
            _, offsets, data = raw.buffers()
            offsets = np.frombuffer(offsets, dtype=np.int32, count=len(raw) + 1, offset=4 * raw.offset)
            _hmac.mac_strings(self.key_block, self.message_prefix, offsets, data or b"", out)
            return out
        return self._mac_loop(values)

    def _mac_loop(self, values: pa.Array) -> np.ndarray:
        """The fallback, 1,024 values at a time: the Python objects of a whole block (values and digests, 3 MB
        for 21,000 values) emptied and freed the interpreter's memory arenas each time, i.e. 20,000 page faults
        per million values, which cost more than the hashing in a busy process."""
        ic, oc = self.inner.copy, self.outer.copy

        def mac(v: bytes) -> bytes:
            h = ic()
            h.update(v)
            o = oc()
            o.update(h.digest())
            return o.digest()

        raw = values.cast(pa.binary())
        out = np.empty((len(values), 32), dtype=np.uint8)
        flat = out.reshape(-1)
        for i in range(0, len(raw), _MAC_SLICE):
            part = b"".join(map(mac, raw.slice(i, _MAC_SLICE).to_pylist()))
            flat[32 * i: 32 * i + len(part)] = np.frombuffer(part, dtype=np.uint8)
        return out

    def hash_block(self, uniques: pa.Array, previous: pa.Array | None) -> Hashed:
        """HMACs of the distinct values of a block that ``previous`` (the block before's) does not hold. Reads no
        state that changes, so blocks are hashed side by side in any thread."""
        k = len(uniques)
        if previous is not None and len(previous):
            pos = pc.index_in(uniques, value_set=previous).fill_null(-1).to_numpy(zero_copy_only=False)
            new = np.flatnonzero(pos < 0)
        else:
            pos, new = np.full(k, -1, dtype=np.int32), np.arange(k)
        rows = np.empty((len(new), self.width), dtype=np.uint8)
        ids = np.empty(len(new), dtype=np.int64)
        if len(new):
            digests = self._mac_all(uniques if len(new) == k else uniques.take(pa.array(new)))
            rows[:, : len(self.prefix)] = np.frombuffer(self.prefix, dtype=np.uint8)
            _b32_into(digests, rows[:, len(self.prefix):])
            ids[:] = np.ascontiguousarray(digests[:, :8]).view(np.int64).ravel()
        return Hashed(previous, pos, new, rows, ids)

    def assemble(self, uniques: pa.Array, hashed: Hashed) -> tuple[np.ndarray, np.ndarray]:
        """(pseudonym bytes, 64-bit id) of each distinct value of the next block in file order: the values the
        previous block had are copied from it, the others come from ``hashed``."""
        if hashed.previous is not self.prev_values:  # hashed against another block than the one before: again
            hashed = self.hash_block(uniques, self.prev_values)
        k = len(uniques)
        rows = np.empty((k, self.width), dtype=np.uint8)
        ids = np.empty(k, dtype=np.int64)
        hit = hashed.pos >= 0
        if hit.any():
            rows[hit] = self.prev_rows[hashed.pos[hit]]
            ids[hit] = self.prev_ids[hashed.pos[hit]]
        if len(hashed.new):
            rows[hashed.new] = hashed.rows
            ids[hashed.new] = hashed.ids
            self.new_ids.append(hashed.ids)
            self._ids_unique = False
            self.hmacs += len(hashed.new)
        self.prev_values, self.prev_rows, self.prev_ids = uniques, rows, ids
        return rows, ids

    def lookup(self, uniques: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(pseudonym bytes, 64-bit id) of each distinct value of the next block (string array without nulls)."""
        return self.assemble(uniques, self.hash_block(uniques, self.prev_values))

    def distinct_count(self) -> int:
        if not self.new_ids:
            return 0
        if len(self.new_ids) > 1 or not self._ids_unique:
            # sort and count changes: np.unique took 3 s for 1.6 M ids (its hash table), this takes 10 ms
            s = np.sort(np.concatenate(self.new_ids))
            self.new_ids = [s[np.r_[True, s[1:] != s[:-1]]]]
            self._ids_unique = True
        return len(self.new_ids[0])

    @staticmethod
    def as_strings(rows: np.ndarray) -> pa.Array:
        n, width = rows.shape
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
        return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                      pa.py_buffer(np.ascontiguousarray(rows).tobytes())])


def prepare_identifiers(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(per-row index, distinct values stripped of surrounding spaces) of an identifier column. Needs no state,
    so it runs in the threads that check batches; only the look-up and the HMACs are done in file order."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    enc = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
    d = enc.dictionary
    if d.null_count:
        d = d.fill_null("")
    if pc.any(pc.not_equal(d, pc.utf8_trim_whitespace(d))).as_py():
        d = pc.utf8_trim_whitespace(d)
    return enc.indices, d


class Pseudonymiser:
    """Replaces identifier columns by keyed pseudonyms; one HMAC per distinct value per namespace."""

    def __init__(self, key: bytes, key_version: str | int, *, batched: bool | None = None) -> None:
        """``batched``: hash with the C extension (default: where it was built); False forces the fallback."""
        if not isinstance(key, (bytes, bytearray)) or len(key) < MIN_KEY_BYTES:
            raise KeyError_(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} random bytes; refusing to "
                            "ingest without it")
        key_version = str(key_version)
        if not _VERSION.match(key_version):
            raise KeyError_(f"key version must be 1-6 digits, got {key_version!r}")
        self.key_version = key_version
        block = bytes(key) if len(key) <= 64 else hashlib.sha256(key).digest()
        self._key_block = block.ljust(64, b"\0")
        if batched and _hmac is None:
            raise RuntimeError("the batched HMAC extension (hub.collection._hmac) was not built")
        self._batched = _hmac is not None if batched is None else batched
        self._spaces: dict[str, _Namespace] = {}
        self._lock = threading.Lock()

    def _space(self, namespace: str) -> _Namespace:
        with self._lock:  # blocks of one file are hashed in several threads
            ns = self._spaces.get(namespace)
            if ns is None:
                message_prefix = namespace.encode("utf-8") + b"\x1f" + self.key_version.encode() + b"\x1f"
                ns = _Namespace(f"{namespace[0]}{self.key_version}:".encode(), self._key_block, message_prefix,
                                self._batched)
                self._spaces[namespace] = ns
            return ns

    def one(self, namespace: str, value: str) -> str:
        """The pseudonym of a single value (for tests and look-ups)."""
        return self.column(namespace, pa.array([value]))[0].as_py()

    def distinct_count(self, namespace: str) -> int:
        """Distinct values pseudonymised so far in ``namespace`` (by their 64-bit ids)."""
        ns = self._spaces.get(namespace)
        return ns.distinct_count() if ns else 0

    def hmac_count(self, namespace: str) -> int:
        """HMACs computed so far in ``namespace`` (equal to the distinct count for a file grouped by value)."""
        ns = self._spaces.get(namespace)
        return ns.hmacs if ns else 0

    def column(self, namespace: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Pseudonyms for a string column (values stripped of surrounding spaces; nulls stay null)."""
        indices, dictionary, _ = self.codes(namespace, values)
        return dictionary.take(indices)

    def codes(self, namespace: str, values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array, np.ndarray]:
        """(per-row index into the block's distinct values, their pseudonyms, their 64-bit ids) of the next block
        in file order."""
        return self.assemble(namespace, *prepare_identifiers(values))

    def hash_block(self, namespace: str, uniques: pa.Array, previous: pa.Array | None) -> Hashed:
        """HMACs of the block's distinct values that ``previous`` (the distinct values of the block before it in
        the file, None for the first) does not hold. Any thread, several blocks at once."""
        return self._space(namespace).hash_block(uniques, previous)

    def assemble(self, namespace: str, indices: pa.Array, uniques: pa.Array,
                 hashed: Hashed | None = None) -> tuple[pa.Array, pa.Array, np.ndarray]:
        """Like ``codes``, from a block's ``prepare_identifiers`` and ``hash_block`` (done now if None); blocks in
        file order."""
        ns = self._space(namespace)
        rows, ids = ns.assemble(uniques, hashed or ns.hash_block(uniques, ns.prev_values))
        return indices, _Namespace.as_strings(rows), ids

    def row_ids(self, namespace: str, values: pa.Array) -> np.ndarray:
        """Per-row 64-bit id of each value (the first 8 bytes of its HMAC), for duplicate detection."""
        idx, _, ids = self.codes(namespace, values)
        return ids[idx.fill_null(0).to_numpy(zero_copy_only=False)]
