"""Audit log benchmark: append rate on SQLite, and offline verification of a large bundle.

1. Appends per second on SQLite (WAL, synchronous=FULL, as a node runs it), 100 entries per transaction and one
   entry per transaction; baseline in the same run: plain inserts of the same rows into a table of the same shape,
   without the head row, canonicalisation or hashing. Goal: >= 5,000 appends/s.
2. ``verify_bundle`` of a whole-log bundle of 1,000,000 entries (100,000 with --quick) with a signed checkpoint every
   1,000 entries; baseline in the same run: reading the same entry lines and hashing them with hashlib alone.
   Goal: < 30 s for 1,000,000.

Run: .venv/bin/python benchmarks/audit_log.py [--quick]. The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rfc8785  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from connector.audit import AUDIT_TABLES, Checkpoint, MerkleTree, NoteSigner, append, init_log, leaf_hash  # noqa: E402
from connector.audit import sign_checkpoint, verify_bundle  # noqa: E402
from connector.audit.bundle import BundleWriter, manifest_text  # noqa: E402
from connector.audit.note import format_note  # noqa: E402
from connector.store import make_engine  # noqa: E402

ORIGIN = "occitanie.example.fr/audit/v1"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def body(i: int) -> dict:
    return {
        "actor": {"did": "did:web:occitanie.example.fr", "role": "provider"},
        "counterparty": {"did": "did:web:hub.example.fr"},
        "agreement": {"id": f"urn:uuid:{uuid.UUID(int=i % 997)}"},
        "dataset": {"id": "urn:dataset:campings-occitanie", "format": "parquet"},
        "data": {"bytes": 100_000 + i, "rows": 1000 + i % 500, "sha256": hashlib.sha256(str(i).encode()).hexdigest()},
        "decision": {"effect": "permit", "reason_code": "OK"},
    }


def bench_append(tmp: Path, n: int, batch: int) -> tuple[float, float]:
    """(audit appends/s, plain inserts/s) for n rows in transactions of ``batch``."""
    engine = make_engine(f"sqlite:///{tmp / f'append-{batch}.db'}")
    SQLModel.metadata.create_all(engine, tables=AUDIT_TABLES)
    plain_md = MetaData()
    plain = Table("plain_entry", plain_md, Column("seq", Integer, primary_key=True, autoincrement=False),
                  Column("ts", String(32), index=True), Column("kind", String(64), index=True),
                  Column("entry_json", Text), Column("leaf_hash", String(64)),
                  Column("agreement_id", String(512), index=True), Column("participant", String(512), index=True),
                  Column("dataset_id", String(512), index=True))
    plain_md.create_all(engine)
    with Session(engine) as s:
        init_log(s, ORIGIN)
        s.commit()
    bodies = [body(i) for i in range(n)]
    stamps = [T0 + timedelta(milliseconds=i) for i in range(n)]

    t = time.perf_counter()
    for start in range(0, n, batch):
        with Session(engine) as s:
            for i in range(start, min(n, start + batch)):
                append(s, "data.pull", bodies[i], stamps[i])
            s.commit()
    audit_rate = n / (time.perf_counter() - t)

    # the same rows, already serialised, inserted as they are
    rows = [{"seq": i, "ts": stamps[i].isoformat(), "kind": "data.pull", "entry_json": json.dumps(bodies[i]),
             "leaf_hash": "0" * 64, "agreement_id": bodies[i]["agreement"]["id"],
             "participant": bodies[i]["counterparty"]["did"], "dataset_id": bodies[i]["dataset"]["id"]}
            for i in range(n)]
    stmt = insert(plain)
    t = time.perf_counter()
    for start in range(0, n, batch):
        with Session(engine) as s:
            for i in range(start, min(n, start + batch)):
                s.execute(stmt, rows[i])
            s.commit()
    plain_rate = n / (time.perf_counter() - t)
    engine.dispose()
    return audit_rate, plain_rate


_ENC = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def make_bundle(path: Path, n: int, every: int, signer: NoteSigner) -> None:
    """A whole-log bundle of n entries as ``export_bundle`` writes it, built without a database for speed.

    Lines are serialised with a sorted-key encoder, which equals RFC 8785 for these ASCII, integer-only entries
    (checked on the first entries)."""
    lines: list[bytes] = []
    leaves: list[bytes] = []
    prev = None
    base = T0.timestamp()
    for i in range(n):
        ts = datetime.fromtimestamp(base + i / 1000, tz=timezone.utc)
        entry = {"v": 1, "seq": i, "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
                 "origin": ORIGIN, "event_id": str(uuid.UUID(int=i, version=4)), "event": "data.pull", **body(i)}
        if prev is not None:
            entry["prev_leaf_hash"] = prev
        line = _ENC.encode(entry).encode()
        if i < 50:
            assert line == rfc8785.dumps(entry)
        leaf = leaf_hash(line)
        prev = leaf.hex()
        lines.append(line)
        leaves.append(leaf)
    tree = MerkleTree(leaves)
    sizes = list(range(every, n + 1, every))
    if not sizes or sizes[-1] != n:
        sizes.append(n)
    notes = [(size, sign_checkpoint(Checkpoint(ORIGIN, size, tree.root_at(size)), signer)) for size in sizes]
    proofs = [json.dumps({"kind": "consistency", "from": a, "to": b, "hashes": [
        base64.b64encode(h).decode() for h in tree.consistency_proof(a, b)]}, sort_keys=True).encode()
              for a, b in zip(sizes, sizes[1:])]
    with BundleWriter(path) as w:
        w.write_lines("entries.jsonl", iter(lines))
        w.write_lines("checkpoints.jsonl", (json.dumps({"note": note, "size": size}).encode() for size, note in notes))
        w.write_lines("proofs.jsonl", iter(proofs))
        w.write_bytes("keys.txt", (signer.vkey + "\n").encode())
        text = manifest_text(origin=ORIGIN, generated="2026-03-02T09:00:00.000Z", tree_size=n, entries=n,
                             selection={"kind": "full"}, digests=w.digests)
        w.write_bytes("manifest.note", format_note(text, [signer.signature_line(text)]).encode())


def bench_verify(tmp: Path, n: int) -> dict:
    signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    path = tmp / "bundle.zip"
    t = time.perf_counter()
    make_bundle(path, n, 1000, signer)
    build_s = time.perf_counter() - t

    # baseline: read the same lines from the same zip and hash each with hashlib, nothing else
    from connector.audit.bundle import BundleReader
    t = time.perf_counter()
    with BundleReader(path) as r, r.open("entries.jsonl") as f:
        count = 0
        for line in f:
            hashlib.sha256(b"\x00" + line[:-1]).digest()
            count += 1
    hash_s = time.perf_counter() - t
    assert count == n

    t = time.perf_counter()
    report = verify_bundle(path, [signer.vkey])
    verify_s = time.perf_counter() - t
    assert report.exit_code == 0, report.to_dict()
    assert report.entries == n and report.tree_size == n
    t = time.perf_counter()
    assert verify_bundle(path, [signer.vkey], workers=1).exit_code == 0
    serial_s = time.perf_counter() - t
    from connector.audit import entry
    return {"verify_entries": n, "verify_s": round(verify_s, 2), "verify_entries_per_s": round(n / verify_s),
            "verify_s_one_process": round(serial_s, 2), "hash_only_s": round(hash_s, 2),
            "bundle_mb": round(path.stat().st_size / 1e6, 1), "bundle_build_s": round(build_s, 1),
            "verify_workers": min(2, os.cpu_count() or 1),
            "json": "orjson" if entry._orjson is not None else "stdlib"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, ends within a minute")
    args = ap.parse_args()
    n_append = 5000 if args.quick else 20000
    n_verify = 100_000 if args.quick else 1_000_000
    figures: dict = {"quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as d:
        tmp = Path(d)
        audit_rate, plain_rate = bench_append(tmp, n_append, 100)
        print(f"append, 100 per transaction: {audit_rate:,.0f}/s audit log vs {plain_rate:,.0f}/s plain insert "
              f"({n_append:,} rows)")
        n_single = 500 if args.quick else 2000
        audit_1, plain_1 = bench_append(tmp, n_single, 1)
        print(f"append, 1 per transaction:   {audit_1:,.0f}/s audit log vs {plain_1:,.0f}/s plain insert "
              f"({n_single:,} rows; each commit is a durable fsync)")
        figures.update(append_per_s=round(audit_rate), plain_insert_per_s=round(plain_rate),
                       append_per_s_1tx=round(audit_1), plain_insert_per_s_1tx=round(plain_1))
        v = bench_verify(tmp, n_verify)
        print(f"verify {n_verify:,} entries: {v['verify_s']} s ({v['verify_entries_per_s']:,}/s, "
              f"{v['verify_workers']} worker processes; {v['verify_s_one_process']} s in one process; JSON by "
              f"{v['json']}); hashing the same lines alone: {v['hash_only_s']} s; bundle {v['bundle_mb']} MB built "
              f"in {v['bundle_build_s']} s")
        figures.update(v)
    figures["append_goal_met"] = figures["append_per_s"] >= 5000
    if not args.quick:
        figures["verify_goal_met"] = figures["verify_s"] < 30
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
