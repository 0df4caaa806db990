"""The log store on SQLite and (with PASSERELLE_TEST_PG) PostgreSQL: append, checkpoint, query, export."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from connector.audit import (AuditEntry, AuditError, EntryError, Witness, add_cosignature, append, append_many,
                             checkpoint,
                             consistency_proof, export_bundle, head, init_log, leaf_hash, maybe_checkpoint, query,
                             root_of, verify_bundle, verify_checkpoint)


def _seqs(engine) -> list[int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [r[0] for r in s.execute(select(AuditEntry.seq).order_by(AuditEntry.seq))]


def test_append_numbers_entries_without_gaps_and_chains_them(engine, kit) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        seqs = [append(s, "data.pull", kit.pull_body(i), kit.T0) for i in range(3)]
        s.commit()
    assert seqs == [0, 1, 2]
    with Session(engine) as s:
        rows = s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
        entries = [json.loads(r.entry_json) for r in rows]
        assert "prev_leaf_hash" not in entries[0]
        for before, row, entry in zip(rows, rows[1:], entries[1:]):
            assert entry["prev_leaf_hash"] == before.leaf_hash
        assert all(leaf_hash(r.entry_json.encode()).hex() == r.leaf_hash for r in rows)
        assert entries[0]["ts"] == "2026-03-02T09:00:00.000Z" and entries[0]["origin"] == kit.ORIGIN
        assert head(s).size == 3 and head(s).last_leaf_hash == rows[-1].leaf_hash


def test_a_rolled_back_append_gives_its_number_back(engine, kit) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        append(s, "data.pull", kit.pull_body(0), kit.T0)
        s.commit()
    with Session(engine) as s:
        assert append(s, "data.pull", kit.pull_body(1), kit.T0) == 1
        s.rollback()
    with Session(engine) as s:
        assert append(s, "data.pull", kit.pull_body(2), kit.T0) == 1
        s.commit()
    assert _seqs(engine) == [0, 1]


def test_a_bad_body_is_refused_with_every_problem_and_leaves_the_log_as_it_was(engine, kit) -> None:  # type: ignore[no-untyped-def]
    bad = {"actor": {"did": "not-a-did"}, "dataset": {"id": "x", "owner": "Jean Dupont"},
           "http": {"client_ref": "jean.dupont@example.fr"}, "seq": 4}
    with Session(engine) as s:
        with pytest.raises(EntryError) as err:
            append(s, "data.pull", bad, kit.T0)
        s.commit()  # the caller carries on: the log must not have moved
    text_ = str(err.value)
    assert "set by the log" in text_
    with Session(engine) as s:
        with pytest.raises(EntryError) as err:
            append(s, "data.pul", {k: v for k, v in bad.items() if k != "seq"}, kit.T0)
        s.commit()
    problems = err.value.problems
    assert any("event" in p for p in problems)
    assert any("actor" in p and "DID" in p for p in problems)
    assert any("dataset" in p and "unknown field" in p for p in problems)
    assert any("e-mail" in p for p in problems)
    with Session(engine) as s:
        assert head(s).size == 0
        assert append(s, "data.pull", kit.pull_body(0), kit.T0) == 0
    # an entry valid in every other way is still refused for an e-mail address, alone or among several entries
    leaky = {**kit.pull_body(0), "dataset": {"id": "urn:dataset:camille.durand@example.fr", "format": "parquet"}}
    for items in ([("data.pull", leaky)], [("data.pull", kit.pull_body(1)), ("data.pull", leaky)]):
        with Session(engine) as s:
            with pytest.raises(EntryError, match="e-mail"):
                append_many(s, items, kit.T0)
            s.commit()
    with Session(engine) as s:
        assert head(s).size == 0


def test_the_log_must_be_initialised_and_keeps_its_origin(engine, kit) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        init_log(s, kit.ORIGIN)  # idempotent
        with pytest.raises(AuditError):
            init_log(s, "another.example/audit/v1")
        with pytest.raises(ValueError):
            init_log(s, "has space")
        s.execute(text("DELETE FROM audit_head"))
        with pytest.raises(AuditError, match="init_log"):
            append(s, "data.pull", kit.pull_body(0), kit.T0)


def test_concurrent_appenders_get_one_contiguous_sequence(engine, signer, kit) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(15):
                with Session(engine) as s:
                    append(s, "data.pull", kit.pull_body(w * 100 + i), kit.T0 + timedelta(seconds=i))
                    s.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _seqs(engine) == list(range(60))
    with Session(engine) as s:
        checkpoint(s, signer, kit.T0)  # re-hashes every row and checks every chain link
        s.commit()


def test_checkpoint_signs_the_root_of_the_stored_leaves_incrementally(engine, signer, kit) -> None:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 25, every=10)
    with Session(engine) as s:
        note = checkpoint(s, signer, kit.T0)
        s.commit()
        assert checkpoint(s, signer, kit.T0) == note  # nothing new: the same checkpoint
        leaves = [bytes.fromhex(r[0]) for r in s.execute(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))]
        vc = verify_checkpoint(note, [signer.verifier()])
        assert vc.checkpoint.size == 25 and vc.checkpoint.root == root_of(leaves)
        assert note.startswith(f"{kit.ORIGIN}\n25\n")
        proof = consistency_proof(s, 20, 25)
    from connector.audit import verify_consistency
    verify_consistency(20, 25, root_of(leaves[:20]), root_of(leaves), proof)


def test_checkpoint_refuses_to_sign_over_altered_rows(engine, signer, kit) -> None:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 12, every=10)
    kit.drop_guards(engine)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_entry SET entry_json = replace(entry_json, :a, :b) WHERE seq = 11"),
                  {"a": '"bytes":1011', "b": '"bytes":9'})
    with Session(engine) as s:
        with pytest.raises(AuditError, match="entry 11"):
            checkpoint(s, signer, kit.T0)


def test_maybe_checkpoint_follows_the_interval(engine, signer, kit) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        assert maybe_checkpoint(s, signer, kit.T0) is None  # empty log
        append(s, "data.pull", kit.pull_body(0), kit.T0)
        assert maybe_checkpoint(s, signer, kit.T0) is not None  # first checkpoint
        append(s, "data.pull", kit.pull_body(1), kit.T0)
        assert maybe_checkpoint(s, signer, kit.T0 + timedelta(seconds=30)) is None
        assert maybe_checkpoint(s, signer, kit.T0 + timedelta(seconds=60)) is not None
        for i in range(3):
            append(s, "data.pull", kit.pull_body(i), kit.T0)
        assert maybe_checkpoint(s, signer, kit.T0 + timedelta(seconds=61), every_entries=3) is not None
        s.commit()


def test_queries_by_agreement_participant_dataset_time_and_event(engine, signer, kit) -> None:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 12, every=100)
    with Session(engine) as s:
        append(s, "transfer.state_changed", {
            "actor": {"did": "did:web:occitanie.example.fr", "role": "provider"},
            "counterparty": {"did": "did:web:hub.example.fr"}, "agreement": {"id": "urn:uuid:agreement-1"},
            "process": {"kind": "transfer", "provider_pid": "urn:uuid:tp-1", "state_from": "REQUESTED",
                        "state_to": "STARTED", "dsp_message": "TransferStartMessage"}}, kit.T0 + timedelta(hours=1))
        s.commit()
        assert [e["seq"] for e in query(s, agreement="urn:uuid:agreement-1")] == [1, 4, 7, 10, 12]
        assert {e["counterparty"]["did"] for e in query(s, participant="did:web:herault.example.fr")} == \
            {"did:web:herault.example.fr"}
        assert len(query(s, dataset="urn:dataset:hotels")) == 6
        assert [e["seq"] for e in query(s, since=kit.T0 + timedelta(seconds=3),
                                        until=kit.T0 + timedelta(seconds=5))] == [3, 4]
        assert [e["seq"] for e in query(s, kind="transfer.*")] == [12]
        assert len(query(s, limit=2)) == 2


def test_database_triggers_refuse_update_and_delete(engine, signer, kit) -> None:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 10, every=10)
    for stmt in ("UPDATE audit_entry SET kind = 'x' WHERE seq = 1", "DELETE FROM audit_entry WHERE seq = 1",
                 "DELETE FROM audit_checkpoint"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as c:
                c.execute(text(stmt))


def test_export_then_verify_a_whole_log_and_a_selection(engine, signer, witness_signer, kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 23, every=10)
    witness = Witness(witness_signer, [signer.verifier()])
    with Session(engine) as s:
        note = checkpoint(s, signer, kit.T0)
        add_cosignature(s, 23, witness.cosign(note, [], 1_772_442_000), kit.T0)
        s.commit()
        with Session(engine) as s2:
            append(s2, "data.pull", kit.pull_body(99), kit.T0 + timedelta(hours=1))
            s2.commit()
        whole = export_bundle(s, tmp_path / "whole.zip", signer=signer, now=kit.T0,
                              witness_keys=[witness_signer.vkey])
        part = export_bundle(s, tmp_path / "agreement-2", signer=signer, now=kit.T0, agreement="urn:uuid:agreement-2")
        s.commit()
    assert (whole.entries, whole.tree_size, whole.checkpoints) == (24, 24, 4)
    keys = [signer.vkey, witness_signer.vkey]
    report = verify_bundle(whole.path, keys)
    assert report.ok and report.exit_code == 2  # valid, with one warning:
    assert (report.entries, report.tree_size, report.checkpoints, report.cosigned) == (24, 24, 4, 1)
    assert [f.code for f in report.warnings] == ["UNWITNESSED"]  # size 24 came after the cosigned 23
    report = verify_bundle(part.path, [signer.vkey])
    assert report.ok and report.exit_code == 0 and report.entries == part.entries == 7
    unpinned = verify_bundle(whole.path)
    assert unpinned.ok and unpinned.exit_code == 2 and "KEYS_UNPINNED" in [f.code for f in unpinned.warnings]


def test_append_many_equals_appending_one_by_one(engine, kit, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from connector.audit import append_many
    from connector.store import make_engine
    # more entries than one statement takes on PostgreSQL (8), each at its own time
    n = 11
    times = [kit.T0 + timedelta(seconds=i) for i in range(n)]
    ids = [f"00000000-0000-4000-8000-0000000000{i:02d}" for i in range(n)]
    with Session(engine) as s:
        assert append_many(s, [("data.pull", kit.pull_body(i)) for i in range(n)], kit.T0, event_ids=ids,
                           times=times) == list(range(n))
        assert append_many(s, [], kit.T0) == []
        s.commit()
    other = make_engine(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    from connector.audit.records import AUDIT_TABLES
    from sqlmodel import SQLModel
    SQLModel.metadata.create_all(other, tables=AUDIT_TABLES)
    with Session(other) as s:
        init_log(s, kit.ORIGIN)
        for i in range(n):
            append(s, "data.pull", kit.pull_body(i), times[i], event_id=ids[i])
        s.commit()
    rows = []
    for eng in (engine, other):
        with Session(eng) as s:
            rows.append([(r.seq, r.entry_json, r.leaf_hash) for r in
                         s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()])
            h = head(s)
            rows[-1].append((h.size, h.last_leaf_hash))
    assert rows[0] == rows[1]
    other.dispose()


def test_append_many_with_one_bad_body_appends_none(engine, kit) -> None:  # type: ignore[no-untyped-def]
    from connector.audit import append_many
    bad = {"actor": {"did": "not-a-did"}}
    with Session(engine) as s:
        with pytest.raises(EntryError):
            append_many(s, [("data.pull", kit.pull_body(0)), ("data.pull", bad)], kit.T0)
        s.commit()
    assert _seqs(engine) == []
    with Session(engine) as s:
        assert head(s).size == 0
