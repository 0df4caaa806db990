"""The node's append-only exchange log, kept in its own database.

``append`` runs inside the caller's session and transaction, so an entry commits or rolls back with the change it
records (the transactional-outbox pattern): a crash can never leave one without the other. It first bumps the one
``audit_head`` row, which serialises appenders (row lock on PostgreSQL, write lock on SQLite) and hands out the next
``seq`` with no gap; a rollback gives the number back.

Interior tree nodes are not written on append: ``checkpoint`` extends the tree from the right edge saved with the
previous checkpoint, re-hashing only the new entries from their stored bytes and checking each against its stored
leaf hash and hash-chain link, so a checkpoint is never signed over rows that were altered since they were written.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import orjson
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from connector.store.raw import Statement

from .bundle import BundleWriter, manifest_text
from .checkpoint import Checkpoint, add_cosignatures, parse_checkpoint, sign_checkpoint
from .entry import EntryError, build_entry, canonical, entry_problems, format_ts, may_hold_email
from .merkle import CompactRange, MerkleTree, leaf_hash
from .note import NoteSigner, format_note, parse_note
from .records import AuditCheckpoint, AuditCosignature, AuditEntry, AuditHead

__all__ = ["AuditError", "LogHead", "init_log", "append", "append_many", "head", "checkpoint", "maybe_checkpoint",
           "add_cosignature", "consistency_proof", "query", "export_bundle", "ExportSummary"]

_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
_ENTRY = AuditEntry.__table__  # type: ignore[attr-defined]
_CP = AuditCheckpoint.__table__  # type: ignore[attr-defined]
_COSIG = AuditCosignature.__table__  # type: ignore[attr-defined]

_LOCK = (update(_HEAD).where(_HEAD.c.id == 1).values(size=_HEAD.c.size)
         .returning(_HEAD.c.size, _HEAD.c.last_leaf_hash, _HEAD.c.origin))


class AuditError(RuntimeError):
    """The log is not set up, or its stored rows no longer match what was written."""


@dataclass(frozen=True)
class LogHead:
    origin: str
    size: int
    last_leaf_hash: str | None


def init_log(session: Session, origin: str) -> None:
    """Create the log's head row for ``origin`` (e.g. ``donnees.example.fr/audit/v1``); idempotent."""
    if not origin or any(c.isspace() or c == "+" for c in origin):
        raise ValueError(f"origin {origin!r} must be non-empty, without spaces or '+' (it names the audit key)")
    row = session.execute(select(_HEAD.c.origin).where(_HEAD.c.id == 1)).first()
    if row is None:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        session.execute(dialect_insert(_HEAD).values(id=1, origin=origin, size=0, last_leaf_hash=None)
                        .on_conflict_do_nothing())
        row = session.execute(select(_HEAD.c.origin).where(_HEAD.c.id == 1)).first()
    if row is None or row.origin != origin:
        raise AuditError(f"this database's audit log belongs to {row.origin if row else None!r}, not {origin!r}")


def head(session: Session) -> LogHead:
    row = session.execute(select(_HEAD.c.origin, _HEAD.c.size, _HEAD.c.last_leaf_hash).where(_HEAD.c.id == 1)).first()
    if row is None:
        raise AuditError("the audit log is not initialised: call init_log(session, origin) once")
    return LogHead(row.origin, row.size, row.last_leaf_hash)


_ENTRY_COLUMNS = ("seq", "ts", "kind", "entry_json", "leaf_hash", "agreement_id", "participant", "dataset_id")
# Append is the hot path (every exchange event): its statements run on the driver's cursor of the caller's
# connection (``Statement``), so they still belong to the caller's transaction, at a third of the ORM's cost.
_BUMP = Statement("UPDATE audit_head SET size = size + :k WHERE id = 1 RETURNING size, last_leaf_hash, origin")
_UNBUMP = Statement("UPDATE audit_head SET size = size - :k WHERE id = 1")
_INSERT_ENTRY = Statement(f"INSERT INTO audit_entry ({', '.join(_ENTRY_COLUMNS)}) "
                          f"VALUES ({', '.join(':' + c for c in _ENTRY_COLUMNS)})")
_SET_LAST = Statement("UPDATE audit_head SET last_leaf_hash = :leaf WHERE id = 1")
_MAX_MERGED = 8   # entries per statement on PostgreSQL: a prepared statement per size up to this


def _insert_and_set_last(k: int) -> Statement:
    """PostgreSQL: ``k`` entries and the head's last leaf in one statement (a data-modifying CTE), one round trip
    and one server command instead of two; SQLite has no such CTE and no round trip to save."""
    values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in _ENTRY_COLUMNS) + ")" for i in range(k))
    return Statement("WITH head AS (UPDATE audit_head SET last_leaf_hash = :leaf WHERE id = 1) "
                     f"INSERT INTO audit_entry ({', '.join(_ENTRY_COLUMNS)}) VALUES {values}")


_MERGED = {k: _insert_and_set_last(k) for k in range(1, _MAX_MERGED + 1)}


def append(session: Session | Connection, kind: str, body: Mapping[str, Any], now: datetime | float, *,
           event_id: str | None = None) -> int:
    """Append an entry of type ``kind`` (e.g. ``transfer.state_changed``) with the sections in ``body``; return
    its ``seq``. Runs in the caller's transaction: commit the change and its entry together.

    Raises :class:`~connector.audit.entry.EntryError` (listing every problem) when ``body`` breaks the schema; the
    log is then left as it was.
    """
    return append_many(session, [(kind, body)], now, event_ids=[event_id])[0]


def append_many(session: Session | Connection, items: list[tuple[str, Mapping[str, Any]]], now: datetime | float,
                *, event_ids: list[str | None] | None = None,
                times: list[datetime | float] | None = None) -> list[int]:
    """Append several entries at once (in order, chained), in a few statements whatever their number: one change
    of the protocol is often two or three entries (decision, state change, agreement), and a group commit appends
    those of all its members together. ``times``: each entry's own time, when they differ (else ``now``). Their
    ``seq`` numbers; :class:`~connector.audit.entry.EntryError` if any breaks the schema, and then none is
    appended."""
    if not items:
        return []
    stamps = [format_ts(t) for t in times] if times is not None else [format_ts(now)] * len(items)
    # a Session (its transaction begins if needed) or a Core Connection already in a transaction
    conn = session if isinstance(session, Connection) else session.connection()
    k = len(items)
    ids = event_ids or [None] * k
    row = _BUMP.first(conn, {"k": k})
    if row is None:
        raise AuditError("the audit log is not initialised: call init_log(session, origin) once")
    size, prev, origin = row
    first = size - k
    rows: list[dict[str, Any]] = []
    try:
        for i, (kind, body) in enumerate(items):
            entry = build_entry(seq=first + i, ts=stamps[i], origin=origin, event_id=ids[i] or str(uuid.uuid4()),
                                event=kind, body=body, prev_leaf_hash=prev, screen_later=True)
            data = canonical(entry)
            if may_hold_email(data) and (problems := entry_problems(entry, data)):
                raise EntryError(problems)
            prev = leaf_hash(data).hex()
            counterparty = body.get("counterparty") or body.get("actor") or {}
            rows.append({"seq": first + i, "ts": stamps[i], "kind": kind, "entry_json": data.decode(),
                         "leaf_hash": prev, "agreement_id": (body.get("agreement") or {}).get("id"),
                         "participant": counterparty.get("did"), "dataset_id": (body.get("dataset") or {}).get("id")})
    except Exception:
        _UNBUMP.count(conn, {"k": k})  # we still hold the head lock: hand the numbers back
        raise
    if conn.dialect.name == "postgresql":
        for start in range(0, k, _MAX_MERGED):   # each chunk sets the head's last leaf to its own; the last one stays
            chunk = rows[start:start + _MAX_MERGED]
            _MERGED[len(chunk)].count(conn, {"leaf": chunk[-1]["leaf_hash"],
                                             **{f"{c}_{i}": r[c] for i, r in enumerate(chunk) for c in _ENTRY_COLUMNS}})
        return [first + i for i in range(k)]
    if k == 1:
        _INSERT_ENTRY.count(conn, rows[0])
    else:
        _INSERT_ENTRY.many(conn, rows)
    _SET_LAST.count(conn, {"leaf": prev})
    return [first + i for i in range(k)]


def append_batch(conn: Session | Connection, entries: list[tuple[str, Mapping[str, Any], datetime | float]]) -> None:
    """Append (kind, body, time) entries together: the shape of a group commit's deferred batch
    (``GroupCommit.at_commit_batch(append_batch, entries)``), where every member's entries meet."""
    if entries:
        append_many(conn, [(kind, body) for kind, body, _ in entries], entries[-1][2], times=[t for *_, t in entries])


def _frontier_of(cp_row: Any) -> CompactRange:
    frontier = CompactRange(cp_row.size, [bytes.fromhex(h) for h in json.loads(cp_row.frontier)])
    signed_root = parse_checkpoint(parse_note(cp_row.note).text).root
    if frontier.root() != signed_root or signed_root.hex() != cp_row.root_hash:
        raise AuditError(f"the stored tree edge at size {cp_row.size} no longer matches its signed checkpoint")
    return frontier


def checkpoint(session: Session, signer: NoteSigner, now: datetime | float) -> str:
    """Sign a checkpoint of the whole log (or return the latest if the log has not grown); returns the note.

    The new root is computed from the previous checkpoint's tree edge and the stored entries after it, each
    re-hashed and checked against its leaf hash and chain link: a checkpoint is never signed over altered rows.
    """
    row = session.execute(_LOCK).first()  # serialise with appenders and other checkpoints until commit
    if row is None:
        raise AuditError("the audit log is not initialised: call init_log(session, origin) once")
    size, last_leaf, origin = row
    last = session.execute(select(_CP).order_by(_CP.c.size.desc()).limit(1)).first()
    if last is not None and last.size == size:
        return last.note
    if last is not None and last.size > size:
        raise AuditError(f"a checkpoint covers {last.size} entries but the log holds {size}: entries were removed")
    frontier = _frontier_of(last) if last is not None else CompactRange()
    prev = last.last_leaf_hash if last is not None else None
    expected = frontier.size
    rows = session.execute(select(_ENTRY.c.seq, _ENTRY.c.entry_json, _ENTRY.c.leaf_hash)
                           .where(_ENTRY.c.seq >= expected, _ENTRY.c.seq < size).order_by(_ENTRY.c.seq),
                           execution_options={"yield_per": 2000})
    for r in rows:
        if r.seq != expected:
            raise AuditError(f"entry {expected} is missing from the log")
        data = r.entry_json.encode()
        leaf = leaf_hash(data)
        if leaf.hex() != r.leaf_hash:
            raise AuditError(f"entry {r.seq} no longer matches the leaf hash written with it")
        body = orjson.loads(data)   # several times faster than json: this loop holds the log's lock
        if body.get("seq") != r.seq or body.get("prev_leaf_hash") != prev or body.get("origin") != origin:
            raise AuditError(f"entry {r.seq} breaks the log's sequence or hash chain")
        frontier.append(leaf)
        prev = leaf.hex()
        expected += 1
    if expected != size or prev != last_leaf:
        raise AuditError(f"the log head says {size} entries but {expected} chain up to it")
    root = frontier.root()
    note = sign_checkpoint(Checkpoint(origin, size, root), signer)
    session.execute(insert(_CP).values(size=size, root_hash=root.hex(), note=note,
                                       frontier=json.dumps([h.hex() for h in frontier.hashes]),
                                       last_leaf_hash=prev, created_at=format_ts(now)))
    return note


def _epoch(t: datetime | float) -> float:
    return t.timestamp() if isinstance(t, datetime) else float(t)


def maybe_checkpoint(session: Session, signer: NoteSigner, now: datetime | float, *, every_seconds: float = 60.0,
                     every_entries: int = 1000) -> str | None:
    """Checkpoint if the log grew and either ``every_entries`` entries or ``every_seconds`` passed since the last
    one (trust.md §2.2: every 60 s if the log grew, every 1,000 entries); for the node's scheduler."""
    size = head(session).size
    last = session.execute(select(_CP.c.size, _CP.c.created_at).order_by(_CP.c.size.desc()).limit(1)).first()
    if last is None:
        return checkpoint(session, signer, now) if size else None
    if size == last.size:
        return None
    age = _epoch(now) - datetime.strptime(last.created_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()
    if size - last.size >= every_entries or age >= every_seconds:
        return checkpoint(session, signer, now)
    return None


def add_cosignature(session: Session, size: int, line: str, now: datetime | float) -> None:
    """Store a witness cosignature line received for the checkpoint of ``size``."""
    if session.execute(select(_CP.c.size).where(_CP.c.size == size)).first() is None:
        raise AuditError(f"no checkpoint of size {size} to attach a cosignature to")
    sig = parse_note("-\n\n" + line.rstrip("\n") + "\n").signatures[0]
    session.execute(insert(_COSIG).values(size=size, witness=sig.name, line=sig.line(), received_at=format_ts(now)))


def _leaves(session: Session, size: int) -> list[bytes]:
    rows = session.execute(select(_ENTRY.c.leaf_hash).where(_ENTRY.c.seq < size).order_by(_ENTRY.c.seq),
                           execution_options={"yield_per": 10000})
    return [bytes.fromhex(r[0]) for r in rows]


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """The proof that the log at ``old_size`` is a prefix of the log at ``new_size`` (for the witness)."""
    return MerkleTree(_leaves(session, new_size)).consistency_proof(old_size)


def _as_ts(t: datetime | float | str) -> str:
    return t if isinstance(t, str) else format_ts(t)


def _filters(agreement: str | None, participant: str | None, dataset: str | None,
             since: datetime | float | str | None, until: datetime | float | str | None,
             kind: str | None) -> list[Any]:
    conds: list[Any] = []
    if agreement is not None:
        conds.append(_ENTRY.c.agreement_id == agreement)
    if participant is not None:
        conds.append(_ENTRY.c.participant == participant)
    if dataset is not None:
        conds.append(_ENTRY.c.dataset_id == dataset)
    if since is not None:
        conds.append(_ENTRY.c.ts >= _as_ts(since))
    if until is not None:
        conds.append(_ENTRY.c.ts < _as_ts(until))
    if kind is not None:
        conds.append(or_(_ENTRY.c.kind == kind, _ENTRY.c.kind.startswith(kind.rstrip("*").rstrip(".") + "."))
                     if kind.endswith("*") else _ENTRY.c.kind == kind)
    return conds


def query(session: Session, *, agreement: str | None = None, participant: str | None = None,
          dataset: str | None = None, since: datetime | float | str | None = None,
          until: datetime | float | str | None = None, kind: str | None = None,
          limit: int | None = None) -> list[dict[str, Any]]:
    """Entries matching every given filter, in log order: ``participant`` is the counterparty's DID, ``since`` is
    inclusive and ``until`` exclusive, ``kind`` an event type or a prefix ending in ``*`` (``transfer.*``)."""
    stmt = select(_ENTRY.c.entry_json).where(and_(True, *_filters(agreement, participant, dataset, since, until,
                                                                   kind))).order_by(_ENTRY.c.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [json.loads(r[0]) for r in session.execute(stmt)]


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    entries: int
    tree_size: int
    checkpoints: int
    selection: dict[str, Any]


def export_bundle(session: Session, path: str | Path, *, signer: NoteSigner | None = None,
                  now: datetime | float | None = None, agreement: str | None = None,
                  participant: str | None = None, dataset: str | None = None,
                  since: datetime | float | str | None = None, until: datetime | float | str | None = None,
                  witness_keys: Sequence[str] = ()) -> ExportSummary:
    """Write an audit bundle to ``path`` (``.zip`` or a new directory).

    With ``signer`` (the audit key) a fresh checkpoint is cut first, so every entry is covered by a signature, and
    the manifest is signed. Without filters the bundle holds the whole log; with filters it holds the matching
    entries, each with an inclusion proof to the latest checkpoint.
    """
    now = datetime.now(timezone.utc) if now is None else now
    if signer is not None:
        checkpoint(session, signer, now)
    log = head(session)
    cps = session.execute(select(_CP.c.size, _CP.c.note).order_by(_CP.c.size)).all()
    cosigs: dict[int, list[str]] = {}
    for r in session.execute(select(_COSIG.c.size, _COSIG.c.line).order_by(_COSIG.c.id)):
        cosigs.setdefault(r.size, []).append(r.line)
    notes = [(r.size, add_cosignatures(r.note, cosigs.get(r.size, []))) for r in cps]
    tree_size = notes[-1][0] if notes else 0
    selection: dict[str, Any] = {k: (_as_ts(v) if k in ("since", "until") else v) for k, v in
                                 (("agreement", agreement), ("participant", participant), ("dataset", dataset),
                                  ("since", since), ("until", until)) if v is not None}
    full = not selection
    selection = {"kind": "full"} if full else {"kind": "query", **selection}

    # proofs come from the stored leaf hashes; if rows have gone missing they cannot be made, and the verifier
    # reports the gap instead
    tree = MerkleTree(_leaves(session, tree_size)) if tree_size else None
    proofs: list[bytes] = []
    for (a, _), (b, _) in zip(notes, notes[1:]):
        if tree is not None and b <= tree.size:
            proofs.append(_jline({"kind": "consistency", "from": a, "to": b,
                                  "hashes": _b64(tree.consistency_proof(a, b))}))

    stmt = select(_ENTRY.c.seq, _ENTRY.c.entry_json).order_by(_ENTRY.c.seq)
    if not full:
        stmt = stmt.where(and_(*_filters(agreement, participant, dataset, since, until, None)))

    def entry_lines() -> Iterator[bytes]:
        for r in session.execute(stmt, execution_options={"yield_per": 5000}):
            if not full and tree is not None and r.seq < tree_size <= tree.size:
                proofs.append(_jline({"kind": "inclusion", "seq": r.seq, "size": tree_size,
                                      "hashes": _b64(tree.inclusion_proof(r.seq))}))
            yield r.entry_json.encode()

    keys = ([signer.vkey] if signer is not None else []) + list(witness_keys)
    with BundleWriter(path) as writer:
        count = writer.write_lines("entries.jsonl", entry_lines())
        writer.write_lines("checkpoints.jsonl", (_jline({"size": s, "note": n}) for s, n in notes))
        writer.write_lines("proofs.jsonl", iter(proofs))
        writer.write_bytes("keys.txt", "".join(k + "\n" for k in keys).encode())
        text = manifest_text(origin=log.origin, generated=format_ts(now), tree_size=tree_size, entries=count,
                             selection=selection, digests=writer.digests)
        lines = [signer.signature_line(text)] if signer is not None else []
        writer.write_bytes("manifest.note", format_note(text, lines).encode())
    return ExportSummary(Path(path), count, tree_size, len(notes), selection)


def _b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _jline(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
