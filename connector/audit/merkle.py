"""RFC 6962 / RFC 9162 Merkle tree hashing: tree heads, inclusion and consistency proofs.

Hashing (RFC 9162 §2.1.1): a leaf is ``SHA-256(0x00 || entry)``, an interior node ``SHA-256(0x01 || left || right)``,
the empty tree ``SHA-256("")``. A tree of n leaves splits at k, the largest power of two below n.

Two structures serve two needs:

* :class:`CompactRange` holds only the right edge of the tree (the roots of its perfect subtrees, at most log2 n of
  them). Appending a leaf costs one hash amortised and the root of the current size is a fold of that edge, so a
  verifier streams a million leaves once and reads the root at every checkpoint size on the way.
* :class:`MerkleTree` keeps every level for one fixed size, so any number of proofs are lookups, not rebuilds.

In the RFC's recursive split every subtree is either perfect and aligned, or the right edge ``[start, n)`` with
``start`` aligned to a power of two at least ``n - start``. Both are one node of the left-aligned level arrays where
a lone last node is carried up unchanged; that is why the level arrays answer the RFC's proofs exactly.

Verification follows the algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

__all__ = ["ProofError", "leaf_hash", "node_hash", "EMPTY_ROOT", "CompactRange", "MerkleTree", "root_of", "fold",
           "inclusion_proof", "consistency_proof", "verify_inclusion", "verify_consistency",
           "root_from_inclusion_proof"]

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()
_LEAF = b"\x00"
_NODE = b"\x01"


class ProofError(ValueError):
    """A proof does not verify, or its inputs are out of range."""


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(_LEAF + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(_NODE + left + right).digest()


class CompactRange:
    """The right edge of a growing tree: append leaf hashes, read the root of the current size at any time."""

    __slots__ = ("size", "_hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()):
        # hashes are the perfect subtree roots from left (largest) to right, one per set bit of size
        if bin(size).count("1") != len(hashes):
            raise ValueError(f"a compact range of size {size} holds {bin(size).count('1')} hashes, got {len(hashes)}")
        self.size = size
        self._hashes = list(hashes)

    @property
    def hashes(self) -> list[bytes]:
        return list(self._hashes)

    def append(self, leaf: bytes) -> None:
        h = leaf
        size = self.size
        stack = self._hashes
        # each trailing 1 bit of size is a perfect subtree of the same height as the carried one: merge it
        while size & 1:
            h = _sha256(_NODE + stack.pop() + h).digest()
            size >>= 1
        stack.append(h)
        self.size += 1

    def append_subtree(self, root: bytes, height: int) -> None:
        """Append a whole perfect subtree of 2^height leaves; the range's size must be a multiple of it."""
        if self.size & ((1 << height) - 1):
            raise ValueError(f"a subtree of 2^{height} leaves cannot start at {self.size}")
        h = root
        units = self.size >> height
        stack = self._hashes
        while units & 1:
            h = _sha256(_NODE + stack.pop() + h).digest()
            units >>= 1
        stack.append(h)
        self.size += 1 << height

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        return fold(self._hashes)


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root of a tree given its compact range (perfect subtree roots, left to right)."""
    if not hashes:
        return EMPTY_ROOT
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = _sha256(_NODE + left + h).digest()
    return h


def root_of(leaves: Iterable[bytes]) -> bytes:
    """Root of the tree over these leaf hashes."""
    cr = CompactRange()
    cr.extend(leaves)
    return cr.root()


class MerkleTree:
    """All levels of the tree over ``leaves`` (leaf hashes), for serving many proofs at one size."""

    def __init__(self, leaves: Sequence[bytes]):
        self.size = len(leaves)
        levels = [list(leaves)]
        while len(levels[-1]) > 1:
            below = levels[-1]
            above = [_sha256(_NODE + below[i] + below[i + 1]).digest() for i in range(0, len(below) - 1, 2)]
            if len(below) & 1:
                above.append(below[-1])
            levels.append(above)
        self._levels = levels

    def root(self) -> bytes:
        return self._levels[-1][0] if self.size else EMPTY_ROOT

    def subtree_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for an RFC subtree (``start`` aligned to a power of two >= end - start), at any tree
        size up to this one: perfect subtrees are lookups, a right edge is a fold of O(log n) of them."""
        n = end - start
        if n <= 0 or end > self.size:
            raise ProofError(f"subtree [{start}, {end}) is outside a tree of size {self.size}")
        height = (n - 1).bit_length()
        if n == 1 << height or end == self.size:
            # perfect, or the right edge of this very tree: exactly one node of the level arrays
            return self._levels[height][start >> height]
        k = 1 << (height - 1)
        return node_hash(self._levels[height - 1][start >> (height - 1)], self.subtree_hash(start + k, end))

    def root_at(self, size: int) -> bytes:
        return self.subtree_hash(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH(index, D[size]), leaf to root; ``size`` defaults to the whole tree."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ProofError(f"leaf {index} is outside a tree of size {size}")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = 1 << ((end - start - 1).bit_length() - 1)
            if index < start + k:
                proof.append(self.subtree_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree_hash(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF(old_size, D[size]); ``size`` defaults to the whole tree."""
        size = self.size if size is None else size
        if not 0 <= old_size <= size <= self.size:
            raise ProofError(f"cannot prove size {old_size} against a tree of size {size}")
        if old_size == 0 or old_size == size:
            return []
        # iterative SUBPROOF(m, D[start:end], whole): hashes found on the way down come last, innermost first
        tail: list[bytes] = []
        m, start, end, whole = old_size, 0, size, True
        while m != end - start:
            k = 1 << ((end - start - 1).bit_length() - 1)
            if m <= k:
                tail.append(self.subtree_hash(start + k, end))
                end = start + k
            else:
                tail.append(self.subtree_hash(start, start + k))
                start += k
                m -= k
                whole = False
        proof = [] if whole else [self.subtree_hash(start, end)]
        proof.extend(reversed(tail))
        return proof


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    return MerkleTree(leaves).inclusion_proof(index)


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    return MerkleTree(leaves).consistency_proof(old_size)


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` in a tree of ``size`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_lengths(proof)
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows ``leaf`` at ``index`` in the tree of ``size`` with ``root``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root of size {size}")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows the tree (size1, root1) is a prefix of (size2, root2)."""
    if size1 < 0 or size2 < size1:
        raise ProofError(f"sizes out of order: {size1} then {size2}")
    _check_lengths(proof)
    if size1 == size2:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError(f"two different roots for size {size1}")
        return
    if size1 == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is itself the first node of the path
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the root of size {size1}")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the root of size {size2}")


def _check_lengths(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != 32:
            raise ProofError(f"proof hash {i} is {len(h)} bytes, not 32")
