"""Tampering with the database or with a bundle is detected and located by the offline verifier (trust.md C1-C4, C8).

The log below has 30 entries with checkpoints signed at 10, 20 and 30. Each attack runs on the database with its
append-only triggers dropped (as someone with database access would), then exports without the audit key, as a node
hiding the change would (with the key, ``checkpoint`` refuses to sign over altered rows), and checks what
``verify_bundle`` reports first.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from connector.audit import (Checkpoint, ForkError, MerkleTree, NoteSigner, Witness, canonical,
                             checkpoint, consistency_proof, export_bundle, leaf_hash, sign_checkpoint, verify_bundle)


def _rows(engine) -> dict[int, dict]:  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return {r[0]: json.loads(r[1]) for r in c.execute(text("SELECT seq, entry_json FROM audit_entry"))}


def _store(c, seq: int, entry: dict) -> None:  # type: ignore[no-untyped-def]
    data = canonical(entry)
    c.execute(text("UPDATE audit_entry SET entry_json = :j, leaf_hash = :h WHERE seq = :s"),
              {"j": data.decode(), "h": hashlib.sha256(b"\x00" + data).hexdigest(), "s": seq})


def _export_and_verify(engine, signer, tmp_path: Path):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        bundle = export_bundle(s, tmp_path / "bundle", now=0)
    return verify_bundle(bundle.path, [signer.vkey])


@pytest.fixture
def log30(engine, signer, kit):  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 30, every=10)
    kit.drop_guards(engine)
    return engine


def test_an_untouched_log_verifies(log30, signer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = _export_and_verify(log30, signer, tmp_path)
    assert report.ok and report.entries == 30 and report.checkpoints == 3
    assert [f.code for f in report.findings] == ["MANIFEST_UNSIGNED"]


@pytest.mark.parametrize("rehash", [False, True], ids=["body-only", "body-and-leaf-hash"])
def test_an_edited_row_is_named(log30, signer, tmp_path: Path, rehash: bool) -> None:  # type: ignore[no-untyped-def]
    entry = _rows(log30)[12]
    entry["data"]["rows"] = 0
    with log30.begin() as c:
        if rehash:
            _store(c, 12, entry)
        else:
            c.execute(text("UPDATE audit_entry SET entry_json = :j WHERE seq = 12"), {"j": canonical(entry).decode()})
    report = _export_and_verify(log30, signer, tmp_path)
    first = report.first_failure
    assert not report.ok and (first.code, first.seq, first.exact) == ("ENTRY_ALTERED", 12, True)
    # the signed roots agree: the stretch from the checkpoint at 10 no longer matches the one signed at 20
    assert any(f.code == "ROOT_MISMATCH" and f.seq == 10 for f in report.errors)


def test_an_edited_last_entry_is_located_to_its_checkpoint_range(log30, signer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    entry = _rows(log30)[29]
    entry["data"]["bytes"] = 1
    with log30.begin() as c:
        _store(c, 29, entry)
    first = _export_and_verify(log30, signer, tmp_path).first_failure
    assert (first.code, first.seq, first.exact) == ("ROOT_MISMATCH", 20, False)


def test_a_rewritten_history_is_located_by_the_signed_roots(log30, signer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # a careful attacker rewrites entry 13 and re-chains everything after it
    rows = _rows(log30)
    rows[13]["data"]["sha256"] = "f" * 64
    with log30.begin() as c:
        for seq in range(13, 30):
            if seq > 13:
                rows[seq]["prev_leaf_hash"] = hashlib.sha256(b"\x00" + canonical(rows[seq - 1])).hexdigest()
            _store(c, seq, rows[seq])
    report = _export_and_verify(log30, signer, tmp_path)
    first = report.first_failure
    assert (first.code, first.seq, first.exact) == ("ROOT_MISMATCH", 10, False)
    assert "entries 10 to 19" in first.message


def test_a_deleted_row_is_named(log30, signer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with log30.begin() as c:
        c.execute(text("DELETE FROM audit_entry WHERE seq = 7"))
    first = _export_and_verify(log30, signer, tmp_path).first_failure
    assert (first.code, first.seq) == ("ENTRY_MISSING", 7)


def test_a_truncated_tail_is_named(log30, signer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with log30.begin() as c:
        c.execute(text("DELETE FROM audit_entry WHERE seq >= 25"))
    report = _export_and_verify(log30, signer, tmp_path)
    assert (report.first_failure.code, report.first_failure.seq) == ("LOG_TRUNCATED", 25)


def test_reordered_rows_are_named(log30, signer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(log30)
    with log30.begin() as c:
        _store(c, 3, rows[5])
        _store(c, 5, rows[3])
    report = _export_and_verify(log30, signer, tmp_path)
    assert (report.first_failure.code, report.first_failure.seq) == ("ENTRY_SEQ", 3)


def test_an_inserted_row_is_named(log30, signer, kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(log30)
    forged = dict(rows[15], event_id="00000000-0000-4000-8000-000000000000", data={"bytes": 1, "rows": 1})
    with log30.begin() as c:
        for seq in range(29, 14, -1):  # make room at 15, highest first so the key never collides
            c.execute(text("UPDATE audit_entry SET seq = seq + 1 WHERE seq = :s"), {"s": seq})
        data = canonical(forged)
        c.execute(text("INSERT INTO audit_entry (seq, ts, kind, entry_json, leaf_hash) VALUES (15, :ts, 'data.pull', "
                       ":j, :h)"), {"ts": forged["ts"], "j": data.decode(),
                                   "h": hashlib.sha256(b"\x00" + data).hexdigest()})
    report = _export_and_verify(log30, signer, tmp_path)
    assert (report.first_failure.code, report.first_failure.seq) == ("ENTRY_INSERTED", 15)


def test_a_checkpoint_signed_by_the_wrong_key_is_refused(engine, kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    impostor = NoteSigner(kit.ORIGIN, kit.OTHER_KEY)  # right name, wrong key
    kit.fill(engine, impostor, 20, every=10)
    with Session(engine) as s:
        bundle = export_bundle(s, tmp_path / "b", signer=impostor, now=0)
    pinned = NoteSigner(kit.ORIGIN, kit.LOG_KEY).vkey
    report = verify_bundle(bundle.path, [pinned])
    codes = [f.code for f in report.errors]
    assert codes.count("CHECKPOINT_INVALID") == 2 and "MANIFEST_SIGNATURE" in codes
    assert report.checkpoints == 0 and not report.ok
    assert all("no signature by a trusted key" in f.message for f in report.errors if f.code == "CHECKPOINT_INVALID")
    assert verify_bundle(bundle.path, [impostor.vkey]).exit_code == 0


def test_the_witness_refuses_a_second_history(engine, signer, witness_signer, kit) -> None:  # type: ignore[no-untyped-def]
    witness = Witness(witness_signer, [signer.verifier()])
    kit.fill(engine, signer, 10, every=10)
    with Session(engine) as s:
        note10 = checkpoint(s, signer, 0)
        witness.cosign(note10, [], 1_772_442_000)
    kit.fill(engine, signer, 5, every=100)
    with Session(engine) as s:
        note15 = checkpoint(s, signer, 0)
        witness.cosign(note15, consistency_proof(s, 10, 15), 1_772_442_060)
        s.commit()
    # the node builds a second history from the same origin and key (entry 3 rewritten) and asks for a cosignature
    # of its size 16: no consistency proof joins it to the size 15 the witness already countersigned
    with Session(engine) as s:
        leaves = [bytes.fromhex(r[0]) for r in s.execute(text("SELECT leaf_hash FROM audit_entry ORDER BY seq"))]
    forged = list(leaves) + [leaf_hash(b"one more")]
    forged[3] = leaf_hash(b"another story")
    tree = MerkleTree(forged)
    fork = sign_checkpoint(Checkpoint(kit.ORIGIN, 16, tree.root()), signer)
    with pytest.raises(ForkError, match="not consistent"):
        witness.cosign(fork, tree.consistency_proof(15), 1_772_442_120)
    with pytest.raises(ForkError, match="older"):
        witness.cosign(note10, [], 1_772_442_180)  # and no rollback to an older head either
    honest = MerkleTree(leaves + [leaf_hash(b"one more")])
    note16 = sign_checkpoint(Checkpoint(kit.ORIGIN, 16, honest.root()), signer)
    assert witness.cosign(note16, honest.consistency_proof(15), 1_772_442_240).startswith("— hub.example.fr/witness ")


# -- altering a bundle -------------------------------------------------------------------------------------------

@pytest.fixture
def bundle(engine, signer, kit, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 30, every=10)
    with Session(engine) as s:
        return export_bundle(s, tmp_path / "bundle", signer=signer, now=0).path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_a_signed_bundle_verifies_cleanly(bundle: Path, signer) -> None:  # type: ignore[no-untyped-def]
    report = verify_bundle(bundle, [signer.vkey])
    assert report.exit_code == 0 and report.findings == []


def test_an_edited_bundle_line_is_named(bundle: Path, signer) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(bundle / "entries.jsonl")
    lines[17] = lines[17].replace(b'"rows":27', b'"rows":2')
    _write(bundle / "entries.jsonl", lines)
    report = verify_bundle(bundle, [signer.vkey])
    assert (report.first_failure.code, report.first_failure.seq) == ("ENTRY_ALTERED", 17)
    assert any(f.code == "BUNDLE_FILE_ALTERED" and "entries.jsonl" in f.message for f in report.errors)


def test_a_non_canonical_line_is_named(bundle: Path, signer) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(bundle / "entries.jsonl")
    lines[4] = json.dumps(json.loads(lines[4]), indent=1).replace("\n", "").encode()
    _write(bundle / "entries.jsonl", lines)
    report = verify_bundle(bundle, [signer.vkey])
    assert any(f.code == "ENTRY_NOT_CANONICAL" and f.seq == 4 for f in report.errors)
    assert report.first_failure.seq == 4


@pytest.mark.parametrize("attack, code, seq", [
    ("drop", "ENTRY_MISSING", 8), ("swap", "ENTRY_SEQ", 8), ("duplicate", "ENTRY_INSERTED", 8),
    ("garbage", "ENTRY_NOT_JSON", 8)])
def test_dropped_swapped_duplicated_or_garbled_lines_are_named(bundle: Path, signer, attack: str, code: str,  # type: ignore[no-untyped-def]
                                                               seq: int) -> None:
    lines = _lines(bundle / "entries.jsonl")
    if attack == "drop":
        del lines[8]
    elif attack == "swap":
        lines[8], lines[9] = lines[9], lines[8]
    elif attack == "duplicate":
        lines.insert(9, lines[8])
    else:
        lines[8] = b'{"v":1,'
    _write(bundle / "entries.jsonl", lines)
    report = verify_bundle(bundle, [signer.vkey])
    assert (report.first_failure.code, report.first_failure.seq) == (code, seq)


def test_an_altered_checkpoint_or_proof_is_refused(bundle: Path, signer) -> None:  # type: ignore[no-untyped-def]
    cps = _lines(bundle / "checkpoints.jsonl")
    item = json.loads(cps[1])
    item["note"] = item["note"].replace("\n20\n", "\n21\n")
    cps[1] = json.dumps(item).encode()
    _write(bundle / "checkpoints.jsonl", cps)
    report = verify_bundle(bundle, [signer.vkey])
    assert any(f.code == "CHECKPOINT_INVALID" and "does not verify" in f.message for f in report.errors)
    assert any(f.code == "BUNDLE_FILE_ALTERED" and "checkpoints.jsonl" in f.message for f in report.errors)


def test_an_altered_consistency_proof_is_refused(bundle: Path, signer) -> None:  # type: ignore[no-untyped-def]
    proofs = _lines(bundle / "proofs.jsonl")
    item = json.loads(proofs[0])
    item["hashes"][0] = item["hashes"][-1]
    proofs[0] = json.dumps(item).encode()
    _write(bundle / "proofs.jsonl", proofs)
    report = verify_bundle(bundle, [signer.vkey])
    assert any(f.code == "CONSISTENCY_FAILED" and f.seq == 10 for f in report.errors)


def test_a_missing_file_is_named(bundle: Path, signer) -> None:  # type: ignore[no-untyped-def]
    (bundle / "checkpoints.jsonl").unlink()
    report = verify_bundle(bundle, [signer.vkey])
    assert [f.code for f in report.errors] == ["BUNDLE_FILE_MISSING"]
    assert "checkpoints.jsonl" in report.errors[0].message


def test_a_selection_with_a_forged_entry_fails_its_inclusion_proof(engine, signer, kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 30, every=10)
    with Session(engine) as s:
        part = export_bundle(s, tmp_path / "part", signer=signer, now=0, dataset="urn:dataset:hotels").path
    assert verify_bundle(part, [signer.vkey]).exit_code == 0
    lines = _lines(part / "entries.jsonl")
    lines[2] = lines[2].replace(b'"bytes":1005', b'"bytes":5')
    _write(part / "entries.jsonl", lines)
    report = verify_bundle(part, [signer.vkey])
    assert (report.first_failure.code, report.first_failure.seq) == ("INCLUSION_FAILED", 5)


@pytest.mark.parametrize("workers", [1, 2])
def test_chunk_boundaries_and_worker_processes_locate_the_same_entry(bundle: Path, signer, monkeypatch,  # type: ignore[no-untyped-def]
                                                                     workers: int) -> None:
    import connector.audit.verify as verify_module
    monkeypatch.setattr(verify_module, "_CHUNK", 8)  # entries 8, 16, 24 start a chunk
    assert verify_bundle(bundle, [signer.vkey], workers=workers).exit_code == 0
    lines = _lines(bundle / "entries.jsonl")
    lines[15] = lines[15].replace(b'"rows":25', b'"rows":3')  # its link sits across a chunk boundary
    lines[23], lines[24] = lines[24], lines[23]
    _write(bundle / "entries.jsonl", lines)
    report = verify_bundle(bundle, [signer.vkey], workers=workers)
    located = {(f.code, f.seq) for f in report.errors if f.exact}
    assert ("ENTRY_ALTERED", 15) in located and ("ENTRY_SEQ", 23) in located
    assert report.first_failure.seq == 15


def test_a_selection_of_consecutive_entries_checks_their_chain(engine, signer, kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 20, every=10)
    with Session(engine) as s:
        part = export_bundle(s, tmp_path / "part", signer=signer, now=0,
                             since=kit.T0 + timedelta(seconds=4), until=kit.T0 + timedelta(seconds=9)).path
    assert verify_bundle(part, [signer.vkey]).exit_code == 0
    lines = _lines(part / "entries.jsonl")
    assert [json.loads(x)["seq"] for x in lines] == [4, 5, 6, 7, 8]
    lines[1] = lines[1].replace(b'"rows":15', b'"rows":1')
    _write(part / "entries.jsonl", lines)
    located = {(f.code, f.seq) for f in verify_bundle(part, [signer.vkey]).errors}
    assert ("INCLUSION_FAILED", 5) in located and ("ENTRY_ALTERED", 5) in located
