"""RFC 6962 tree hashing and proofs against published test vectors.

Vectors: transparency-dev/merkle, ``testdata/inclusion/{0..4}/*.json`` and ``testdata/consistency/{0..4}/*.json``
(the reference test data of the Go RFC 6962 implementation used by Certificate Transparency logs), copied below as
data with their file names. They are proofs over the classic 8-leaf RFC 6962 test tree whose leaves are listed in
``CT_LEAVES`` (the leaf inputs of the certificate-transparency reference implementations' tree tests); the roots of
its prefixes are the ``root``/``root1``/``root2`` values of the vectors. The vector suite also derives every
"wantErr" case from a happy path by a named mutation; those mutations are applied here to every happy path too.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.audit.merkle import (EMPTY_ROOT, CompactRange, MerkleTree, ProofError, leaf_hash, root_of,
                                    verify_consistency, verify_inclusion)

CT_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
             bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]

# Roots of the prefixes of CT_LEAVES (sizes 1..8), as they appear in the vectors below (base64).
ROOTS_B64 = {
    1: "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
    2: "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=",
    3: "rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=",
    5: "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=",
    6: "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=",
    7: "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw=",
    8: "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
}

INCLUSION: dict[str, dict[str, Any]] = {
    "inclusion/0/happy-path.json": {"leafIdx": 0, "treeSize": 1, "root": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "leafHash": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": None, "wantErr": False},
    "inclusion/1/happy-path.json": {"leafIdx": 0, "treeSize": 8, "root": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "leafHash": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="], "wantErr": False},
    "inclusion/2/happy-path.json": {"leafIdx": 5, "treeSize": 8, "root": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "leafHash": "QnGia+DYqE8L1UyMMC58s6O10fpngKQLzOKHNHfatlg=", "proof": ["vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "wantErr": False},
    "inclusion/3/happy-path.json": {"leafIdx": 2, "treeSize": 3, "root": "rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=", "leafHash": "ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=", "proof": ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="], "wantErr": False},
    "inclusion/4/happy-path.json": {"leafIdx": 1, "treeSize": 5, "root": "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=", "leafHash": "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "proof": ["bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="], "wantErr": False},
    "inclusion/0/empty-root.json": {"leafIdx": 0, "treeSize": 1, "root": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "leafHash": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": None, "wantErr": True},
    "inclusion/1/modified-proof[1]-bit-3.json": {"leafIdx": 0, "treeSize": 8, "root": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "leafHash": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Vwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="], "wantErr": True},
    "inclusion/2/wrong-leaf.json": {"leafIdx": 5, "treeSize": 8, "root": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "leafHash": "V3JvbmdMZWFm", "proof": ["vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "wantErr": True},
    "inclusion/2/inserted-component.json": {"leafIdx": 5, "treeSize": 8, "root": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "leafHash": "QnGia+DYqE8L1UyMMC58s6O10fpngKQLzOKHNHfatlg=", "proof": ["vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=", "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "wantErr": True},
    "inclusion/3/treeSize-div-2.json": {"leafIdx": 2, "treeSize": 1, "root": "rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=", "leafHash": "ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=", "proof": ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="], "wantErr": True},
    "inclusion/4/leafIdx-+-1.json": {"leafIdx": 2, "treeSize": 5, "root": "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=", "leafHash": "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "proof": ["bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="], "wantErr": True},
}

CONSISTENCY: dict[str, dict[str, Any]] = {
    "consistency/0/happy-path.json": {"size1": 1, "size2": 1, "root1": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "root2": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": None, "wantErr": False},
    "consistency/1/happy-path.json": {"size1": 1, "size2": 8, "root1": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="], "wantErr": False},
    "consistency/2/happy-path.json": {"size1": 6, "size2": 8, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "wantErr": False},
    "consistency/3/happy-path.json": {"size1": 2, "size2": 5, "root1": "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=", "root2": "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=", "proof": ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="], "wantErr": False},
    "consistency/4/happy-path.json": {"size1": 6, "size2": 7, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "wantErr": False},
    "consistency/1/empty-proof.json": {"size1": 1, "size2": 8, "root1": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": [], "wantErr": True},
    "consistency/1/wrong-root2.json": {"size1": 1, "size2": 8, "root1": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "root2": "V3JvbmdSb290", "proof": ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="], "wantErr": True},
    "consistency/2/preceding-garbage.json": {"size1": 6, "size2": 8, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["", "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "wantErr": True},
    "consistency/2/truncated-proof.json": {"size1": 6, "size2": 8, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA="], "wantErr": True},
    "consistency/3/swapped-roots.json": {"size1": 2, "size2": 5, "root1": "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=", "root2": "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=", "proof": ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="], "wantErr": True},
    "consistency/3/size2-div-2.json": {"size1": 2, "size2": 2, "root1": "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=", "root2": "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=", "proof": ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="], "wantErr": True},
    "consistency/4/trailing-garbage.json": {"size1": 6, "size2": 7, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=", ""], "wantErr": True},
}


def _b(s: str) -> bytes:
    return base64.b64decode(s)


def _proof(v: dict[str, Any]) -> list[bytes]:
    return [_b(h) for h in (v["proof"] or [])]


def _check_inclusion(v: dict[str, Any]) -> None:
    verify_inclusion(v["leafIdx"], v["treeSize"], _b(v["leafHash"]), _proof(v), _b(v["root"]))


def _check_consistency(v: dict[str, Any]) -> None:
    verify_consistency(v["size1"], v["size2"], _b(v["root1"]), _b(v["root2"]), _proof(v))


@pytest.mark.parametrize("name", sorted(INCLUSION))
def test_published_inclusion_vectors(name: str) -> None:
    v = INCLUSION[name]
    if v["wantErr"]:
        with pytest.raises(ProofError):
            _check_inclusion(v)
    else:
        _check_inclusion(v)


@pytest.mark.parametrize("name", sorted(CONSISTENCY))
def test_published_consistency_vectors(name: str) -> None:
    v = CONSISTENCY[name]
    if v["wantErr"]:
        with pytest.raises(ProofError):
            _check_consistency(v)
    else:
        _check_consistency(v)


def _flip(h: str, bit: int) -> str:
    raw = bytearray(_b(h))
    raw[bit // 8] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(raw)).decode()


def _inclusion_mutations(v: dict[str, Any]) -> dict[str, dict[str, Any]]:
    proof = v["proof"] or []
    out = {
        "leafIdx + 1": {**v, "leafIdx": v["leafIdx"] + 1},
        "treeSize * 2": {**v, "treeSize": v["treeSize"] * 2},
        "wrong leaf": {**v, "leafHash": base64.b64encode(b"WrongLeaf").decode()},
        "empty root": {**v, "root": base64.b64encode(EMPTY_ROOT).decode()},
        "random root": {**v, "root": base64.b64encode(b"\x01" * 32).decode()},
        "preceding garbage": {**v, "proof": [base64.b64encode(b"garbage").decode(), *proof]},
        "trailing garbage": {**v, "proof": [*proof, base64.b64encode(b"garbage").decode()]},
        "preceding root": {**v, "proof": [v["root"], *proof]},
        "trailing root": {**v, "proof": [*proof, v["root"]]},
    }
    if v["leafIdx"] > 0:
        out["leafIdx - 1"] = {**v, "leafIdx": v["leafIdx"] - 1}
    if v["treeSize"] > 1:
        out["treeSize div 2"] = {**v, "treeSize": v["treeSize"] // 2}
    for i, h in enumerate(proof):
        out[f"modified proof[{i}] bit 3"] = {**v, "proof": [*proof[:i], _flip(h, 3), *proof[i + 1:]]}
        out[f"removed component {i}"] = {**v, "proof": proof[:i] + proof[i + 1:]}
    return out


def _consistency_mutations(v: dict[str, Any]) -> dict[str, dict[str, Any]]:
    proof = v["proof"] or []
    out = {
        "size2 * 2": {**v, "size2": v["size2"] * 2},
        "wrong root1": {**v, "root1": base64.b64encode(b"WrongRoot").decode()},
        "wrong root2": {**v, "root2": base64.b64encode(b"WrongRoot").decode()},
        "preceding garbage": {**v, "proof": [base64.b64encode(b"garbage").decode(), *proof]},
        "trailing garbage": {**v, "proof": [*proof, base64.b64encode(b"garbage").decode()]},
        "trailing root1": {**v, "proof": [*proof, v["root1"]]},
    }
    if v["root1"] != v["root2"]:
        out["swapped roots"] = {**v, "root1": v["root2"], "root2": v["root1"]}
    if proof:
        out["empty proof"] = {**v, "proof": []}
        out["truncated proof"] = {**v, "proof": proof[:-1]}
    if v["size1"] > 1:
        out["size1 - 1"] = {**v, "size1": v["size1"] - 1}
    for i, h in enumerate(proof):
        out[f"modified proof[{i}] bit 4"] = {**v, "proof": [*proof[:i], _flip(h, 4), *proof[i + 1:]]}
    return out


@pytest.mark.parametrize("name", sorted(k for k, v in INCLUSION.items() if not v["wantErr"]))
def test_every_inclusion_mutation_is_refused(name: str) -> None:
    for desc, mutated in _inclusion_mutations(INCLUSION[name]).items():
        with pytest.raises(ProofError):
            _check_inclusion(mutated)
            pytest.fail(f"{name}: mutation {desc!r} verified")


@pytest.mark.parametrize("name", sorted(k for k, v in CONSISTENCY.items() if not v["wantErr"]))
def test_every_consistency_mutation_is_refused(name: str) -> None:
    for desc, mutated in _consistency_mutations(CONSISTENCY[name]).items():
        with pytest.raises(ProofError):
            _check_consistency(mutated)
            pytest.fail(f"{name}: mutation {desc!r} verified")


def test_roots_of_the_rfc6962_test_tree() -> None:
    leaves = [leaf_hash(x) for x in CT_LEAVES]
    for size, root in ROOTS_B64.items():
        assert root_of(leaves[:size]) == _b(root)
    assert root_of([]) == EMPTY_ROOT == _b("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")


def test_our_proofs_equal_the_published_ones() -> None:
    tree = MerkleTree([leaf_hash(x) for x in CT_LEAVES])
    for name, v in INCLUSION.items():
        if not v["wantErr"]:
            assert tree.inclusion_proof(v["leafIdx"], v["treeSize"]) == _proof(v), name
            assert leaf_hash(CT_LEAVES[v["leafIdx"]]) == _b(v["leafHash"])
    for name, v in CONSISTENCY.items():
        if not v["wantErr"]:
            assert tree.consistency_proof(v["size1"], v["size2"]) == _proof(v), name


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_generated_proofs_verify_at_every_size(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = MerkleTree(leaves)
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    root = root_of(leaves[:size])
    assert tree.root_at(size) == root
    verify_inclusion(index, size, leaves[index], tree.inclusion_proof(index, size), root)
    verify_consistency(old, size, root_of(leaves[:old]), root, tree.consistency_proof(old, size))


def test_compact_range_gives_the_root_at_every_size() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(70)]
    cr = CompactRange()
    for i, leaf in enumerate(leaves):
        cr.append(leaf)
        assert cr.root() == MerkleTree(leaves[:i + 1]).root()
    restored = CompactRange(cr.size, cr.hashes)
    restored.append(leaf_hash(b"next"))
    assert restored.root() == root_of([*leaves, leaf_hash(b"next")])
    with pytest.raises(ValueError):
        CompactRange(3, cr.hashes[:1])
