"""The node's consistency proof from a stored tree edge equals the one built from every leaf (RFC 9162), and the
hub's check accepts it; it reads only the leaves added since the countersigned size."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.audit import CompactRange, MerkleTree, leaf_hash, verify_consistency
from connector.audit_node import proof_from_frontier


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]


LEAVES = _leaves(300)


def _edge(m: int) -> list[bytes]:
    cr = CompactRange()
    cr.extend(LEAVES[:m])
    return cr.hashes


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 300), st.integers(0, 300))
def test_same_proof_as_from_every_leaf(a: int, b: int) -> None:
    m, n = min(a, b), max(a, b)
    proof = proof_from_frontier(_edge(m), m, LEAVES[m:n])
    assert proof == MerkleTree(LEAVES[:n]).consistency_proof(m)
    if 0 < m:
        old_root = CompactRange(m, _edge(m)).root()
        verify_consistency(m, n, old_root, MerkleTree(LEAVES[:n]).subtree_hash(0, n) if n else b"", proof)


def test_every_pair_of_small_sizes() -> None:
    for n in range(1, 40):
        tree = MerkleTree(LEAVES[:n])
        for m in range(0, n + 1):
            assert proof_from_frontier(_edge(m), m, LEAVES[m:n]) == tree.consistency_proof(m), (m, n)
