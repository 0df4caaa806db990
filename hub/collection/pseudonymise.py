"""Keyed pseudonyms (HMAC-SHA256) computed once per distinct value.

A pseudonym is ``<namespace letter><key version>:<base32(HMAC-SHA256(key, namespace 0x1f version 0x1f value))[:26]>``
(130 bits), e.g. ``b1:MZXW6YTBOI3DGNBVGY3TQOJQGE``. The namespace keeps a campsite and a booking with the same raw
identifier unlinkable; the key version is both shown (which key made it) and hashed (a new version never links to
the old pseudonyms, even if a key were reused). Values are stripped of surrounding spaces before hashing.
The HMAC is RFC 2104 over SHA-256 with the inner and outer states precomputed once (tested against ``hmac``):
it is the hot loop of ingestion and the precomputed form costs half of ``hmac.digest`` per value.
"""

from __future__ import annotations

import hashlib
import re
from itertools import repeat

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Pseudonymiser", "KeyError_", "MIN_KEY_BYTES"]

MIN_KEY_BYTES = 32
_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)
_VERSION = re.compile(r"^[0-9]{1,6}$")


class KeyError_(ValueError):
    """A missing or weak pseudonymisation key (we fail closed: no fallback to a plain hash)."""


def _b32_rows(digests: np.ndarray) -> np.ndarray:
    """First 26 base32 characters (RFC 4648 alphabet) of each digest row, vectorised: 3 groups of 5 bytes give 24
    characters, the next 10 bits the last 2."""
    d = digests[:, :17].astype(np.uint64)
    out = np.empty((len(d), 26), dtype=np.uint8)
    for g in range(3):
        w = np.zeros(len(d), dtype=np.uint64)
        for j in range(5):
            w = (w << np.uint64(8)) | d[:, 5 * g + j]
        for i in range(8):
            out[:, 8 * g + i] = (w >> np.uint64(35 - 5 * i)) & np.uint64(31)
    w = (d[:, 15] << np.uint64(8)) | d[:, 16]
    out[:, 24] = (w >> np.uint64(11)) & np.uint64(31)
    out[:, 25] = (w >> np.uint64(6)) & np.uint64(31)
    return _B32[out]


class _Namespace:
    """The pseudonyms already computed for one namespace: value -> slot, slot -> pseudonym bytes."""

    def __init__(self, prefix: bytes, inner, outer) -> None:
        self.prefix = prefix
        self.inner, self.outer = inner, outer
        self.slots: dict[str, int] = {}
        self.store = np.empty((1024, len(prefix) + 26), dtype=np.uint8)

    def slots_for(self, values: list[str]) -> np.ndarray:
        """Global slot of each value, computing the HMAC of the unseen ones (once each)."""
        slots = self.slots
        out = np.fromiter(map(slots.get, values, repeat(-1)), dtype=np.int64, count=len(values))
        new = np.flatnonzero(out < 0)
        if len(new):
            fresh = list(dict.fromkeys(values[i] for i in new))
            start, n = len(slots), len(fresh)
            ic, oc = self.inner.copy, self.outer.copy

            def mac(v: str) -> bytes:
                h = ic()
                h.update(v.encode("utf-8"))
                o = oc()
                o.update(h.digest())
                return o.digest()

            digests = np.frombuffer(b"".join(map(mac, fresh)), dtype=np.uint8).reshape(n, 32)
            slots.update(zip(fresh, range(start, start + n)))
            need = start + n
            if need > len(self.store):
                grown = np.empty((max(need, 2 * len(self.store)), self.store.shape[1]), dtype=np.uint8)
                grown[:start] = self.store[:start]
                self.store = grown
            rows = self.store[start:need]
            rows[:, : len(self.prefix)] = np.frombuffer(self.prefix, dtype=np.uint8)
            rows[:, len(self.prefix):] = _b32_rows(digests)
            if n == len(new):
                out[new] = np.arange(start, need)
            else:
                out[new] = [slots[values[i]] for i in new]
        return out

    def pseudonyms(self, slots: np.ndarray) -> pa.Array:
        width = self.store.shape[1]
        data = np.ascontiguousarray(self.store[slots]).tobytes()
        offsets = np.arange(0, (len(slots) + 1) * width, width, dtype=np.int32)
        return pa.Array.from_buffers(pa.string(), len(slots), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


class Pseudonymiser:
    """Replaces identifier columns by keyed pseudonyms; one HMAC per distinct value per namespace."""

    def __init__(self, key: bytes, key_version: str | int) -> None:
        if not isinstance(key, (bytes, bytearray)) or len(key) < MIN_KEY_BYTES:
            raise KeyError_(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} random bytes; refusing to "
                            "ingest without it")
        key_version = str(key_version)
        if not _VERSION.match(key_version):
            raise KeyError_(f"key version must be 1-6 digits, got {key_version!r}")
        self.key_version = key_version
        block = bytes(key) if len(key) <= 64 else hashlib.sha256(key).digest()
        block = block.ljust(64, b"\0")
        self._ipad = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._opad = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._spaces: dict[str, _Namespace] = {}

    def _space(self, namespace: str) -> _Namespace:
        ns = self._spaces.get(namespace)
        if ns is None:
            inner = self._ipad.copy()
            inner.update(namespace.encode("utf-8") + b"\x1f" + self.key_version.encode() + b"\x1f")
            ns = _Namespace(f"{namespace[0]}{self.key_version}:".encode(), inner, self._opad.copy())
            self._spaces[namespace] = ns
        return ns

    def one(self, namespace: str, value: str) -> str:
        """The pseudonym of a single value (for tests and look-ups)."""
        return self.column(namespace, pa.array([value]))[0].as_py()

    def distinct_count(self, namespace: str) -> int:
        ns = self._spaces.get(namespace)
        return len(ns.slots) if ns else 0

    def column(self, namespace: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Pseudonyms for a string column (values stripped of surrounding spaces; nulls stay null)."""
        codes, slots = self.codes(namespace, values)
        out = self._space(namespace).pseudonyms(slots)
        return out.take(codes)

    def codes(self, namespace: str, values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
        """(per-row index into the batch's distinct values, global slot of each distinct value)."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        enc = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
        d = enc.dictionary
        if d.null_count or pc.any(pc.not_equal(d, pc.utf8_trim_whitespace(d))).as_py():
            uniques = [v.strip() if v is not None else "" for v in d.to_pylist()]
        else:  # the usual case: no surrounding spaces to normalise, no per-value Python work
            uniques = d.to_pylist()
        return enc.indices, self._space(namespace).slots_for(uniques)

    def pseudonyms(self, namespace: str, slots: np.ndarray) -> pa.Array:
        """The pseudonyms of global slots (as returned by ``codes``)."""
        return self._space(namespace).pseudonyms(slots)

    def global_ids(self, namespace: str, values: pa.Array) -> np.ndarray:
        """Per-row global slot (a dense integer per distinct value) for duplicate detection."""
        idx, slots = self.codes(namespace, values)
        return slots[idx.to_numpy(zero_copy_only=False)]
