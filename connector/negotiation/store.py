"""Reading and writing negotiation rows inside one transaction, with the audit entry of every change.

Every change follows the same path: lock the negotiation's row, rebuild the sans-IO :class:`contracts.Negotiation`
from it, apply messages, then write the row, the outbox rows of the messages to send and the audit entries, and
commit once. A refused message raises before anything is written, so the rollback leaves the state untouched.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import or_
from sqlmodel import Session, select

from connector.audit import append_batch, init_log
from connector.audit.log import AuditError, head
from connector.store.raw import Codec, Statement
from contracts import CN, Negotiation, NegotiationState, Role, Transition

from .records import AgreementRow, NegotiationRow, OutboxRow

__all__ = ["Work", "Row", "Send", "pid_candidates", "find_row", "row_by_id", "row_by_peer", "insert_row", "new_pid",
           "audit_origin", "ensure_audit_log", "message_url", "NEGOTIATION", "OUTBOX", "AGREEMENT"]

# The negotiation's transaction runs on the driver's cursor (``Statement``, with SQLAlchemy's own conversions of the
# columns, ``Codec``), not the ORM: a message is a handful of statements, and the ORM's unit of work (flushes,
# identity map, SQLModel attribute hooks), even Core's statement compilation, cost more CPU than the protocol itself.
NEGOTIATION = NegotiationRow.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
AGREEMENT = AgreementRow.__table__  # type: ignore[attr-defined]
_COLUMNS = tuple(c.name for c in NEGOTIATION.columns)
_MUTABLE = ("peer_pid", "peer_address", "dataset_id", "offer_id", "state", "pending", "script", "record", "received",
            "decision", "reason", "agreement_id", "updated_at")
_NEG_CODEC, _OUTBOX_CODEC, _AGREEMENT_CODEC = Codec(NEGOTIATION), Codec(OUTBOX), Codec(AGREEMENT)


def _insert(table: Any, returning: str | None = None, *, suffix: str = "",
            values: dict[str, str] | None = None) -> Statement:
    """``INSERT`` of every column (but ``id`` when it is returned) from its ``:name``; ``values`` replaces some of
    those parameters by SQL expressions."""
    names = [c.name for c in table.columns if c.name != "id" or returning is None]
    exprs = [(values or {}).get(n, ":" + n) for n in names]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(exprs)}){suffix}"
    return Statement(sql + (f" RETURNING {returning}" if returning else ""))


_UPDATE_ROW = Statement("UPDATE negotiation SET " + ", ".join(f"{n} = :{n}" for n in _MUTABLE) + " WHERE id = :row_id")
_INSERT_ROW = _insert(NEGOTIATION, returning="id")
_INSERT_SEND = _insert(OUTBOX, returning="id")
# a repeated FINALIZED keeps the agreement first stored (no second row, no second audit entry)
_INSERT_AGREEMENT = _insert(AGREEMENT, suffix=" ON CONFLICT (id) DO NOTHING")
# the first message of a change, leased to this process only when nothing earlier of the negotiation is still
# pending (messages of one negotiation go out in order): the check and the insert in one statement
_FREE = "NOT EXISTS (SELECT 1 FROM negotiation_outbox WHERE negotiation_id = :negotiation_id AND status = 'pending')"
_INSERT_FIRST_SEND = _insert(OUTBOX, returning="id, lease_owner",
                             values={n: f"CASE WHEN {_FREE} THEN :{n} END" for n in ("lease_owner", "lease_until")})

# PostgreSQL: the row's write and the first message's insert in one statement (one round trip instead of two); the
# message's parameters are prefixed, since both tables have a ``created_at``
_OUT_NAMES = [c.name for c in OUTBOX.columns if c.name != "id"]


def _first_send_values(out: "Send") -> dict[str, Any]:
    return {f"o_{k}": v for k, v in out.values().items()}


def _out_expr(name: str, negotiation: str) -> str:
    if name == "negotiation_id":
        return negotiation
    if name in ("lease_owner", "lease_until"):
        return (f"CASE WHEN NOT EXISTS (SELECT 1 FROM negotiation_outbox WHERE negotiation_id = {negotiation} "
                f"AND status = 'pending') THEN :o_{name} END")
    return ":o_" + name


_UPDATE_ROW_AND_SEND = Statement(
    "WITH changed AS (" + _UPDATE_ROW.sql + ") INSERT INTO negotiation_outbox (" + ", ".join(_OUT_NAMES)
    + ") VALUES (" + ", ".join(_out_expr(n, ":row_id") for n in _OUT_NAMES) + ") RETURNING id, lease_owner")
# a new negotiation has no earlier message: its first is ours to send
_INSERT_ROW_AND_SEND = Statement(
    "WITH created AS (" + _INSERT_ROW.sql + ") INSERT INTO negotiation_outbox (" + ", ".join(_OUT_NAMES)
    + ") SELECT " + ", ".join("created.id" if n == "negotiation_id" else ":o_" + n for n in _OUT_NAMES)
    + " FROM created RETURNING negotiation_id, id, lease_owner")

_PATHS_TO_CONSUMER = {CN.OFFER: "offers", CN.AGREEMENT: "agreement", CN.FINALIZED: "events",
                      CN.TERMINATION: "termination"}
_PATHS_TO_PROVIDER = {CN.REQUEST: "request", CN.ACCEPTED: "events", CN.VERIFICATION: "agreement/verification",
                      CN.TERMINATION: "termination"}


class Row:
    """A negotiation's row as plain attributes (the columns of ``negotiation``), read and written with Core."""

    __slots__ = _COLUMNS

    def __init__(self, **values: Any):
        for name in _COLUMNS:
            setattr(self, name, values.get(name))

    @classmethod
    def of(cls, r: Any) -> "Row":
        return cls(**r._mapping)


@dataclass
class Send:
    """A message to deliver, as it goes into ``negotiation_outbox`` (the id once inserted)."""

    negotiation_id: int
    kind: str
    url: str
    body: str
    initial: bool
    next_at: float
    created_at: datetime
    max_attempts: int
    lease_owner: str | None = None
    lease_until: float | None = None
    id: int | None = None

    def values(self) -> dict[str, Any]:
        return {"negotiation_id": self.negotiation_id, "kind": self.kind, "url": self.url, "body": self.body,
                "initial": self.initial, "status": "pending", "attempts": 0, "max_attempts": self.max_attempts,
                "next_at": self.next_at, "lease_owner": self.lease_owner, "lease_until": self.lease_until,
                "last_error": None, "created_at": self.created_at}


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def pid_candidates(pid: str) -> list[str]:
    """Our pids are ``urn:uuid:`` IRIs; peers may send the bare UUID (the conformance kit does)."""
    out = [pid]
    try:
        bare = str(uuid.UUID(pid[9:] if pid.lower().startswith("urn:uuid:") else pid))
    except ValueError:
        return out
    for alt in (f"urn:uuid:{bare}", bare):
        if alt not in out:
            out.append(alt)
    return out


_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM negotiation WHERE "
_BY_ID = {lock: Statement(_SELECT + "id = :nid", for_update=lock) for lock in (True, False)}
_BY_PEER = Statement(_SELECT + "role = :role AND counterparty = :counterparty AND peer_pid = :peer_pid",
                     for_update=True)
_BY_PIDS: dict[tuple[int, bool], Statement] = {}


def _by_pids(count: int, lock: bool) -> Statement:
    st = _BY_PIDS.get((count, lock))
    if st is None:
        marks = ", ".join(f":p{i}" for i in range(count))
        st = _BY_PIDS.setdefault((count, lock), Statement(_SELECT + f"own_pid IN ({marks})", for_update=lock))
    return st


def _row(conn: Any, found: tuple[Any, ...] | None) -> Row | None:
    return Row(**_NEG_CODEC.decode(conn, _COLUMNS, found)) if found is not None else None


def find_row(conn: Any, pid: str, *, lock: bool = True) -> Row | None:
    """The negotiation whose own pid is ``pid`` (row-locked until commit unless ``lock`` is false)."""
    pids = pid_candidates(pid)
    return _row(conn, _by_pids(len(pids), lock).first(conn, {f"p{i}": p for i, p in enumerate(pids)}))


def row_by_id(conn: Any, negotiation_id: int, *, lock: bool = True) -> Row | None:
    return _row(conn, _BY_ID[lock].first(conn, {"nid": negotiation_id}))


def row_by_peer(conn: Any, role: str, counterparty: str, peer_pid: str) -> Row | None:
    """Our negotiation with ``counterparty`` under its pid ``peer_pid`` (row-locked): a repeated initial message."""
    return _row(conn, _BY_PEER.first(conn, {"role": role, "counterparty": counterparty, "peer_pid": peer_pid}))


def insert_row(conn: Any, row: Row) -> int:
    """Insert a new negotiation; its id is set on ``row`` and returned (the driver's IntegrityError, wrapped by
    SQLAlchemy as :class:`sqlalchemy.exc.IntegrityError`, on a duplicate peer pid)."""
    row.id = _first_or_integrity(conn, _INSERT_ROW, _NEG_CODEC.encode(conn, _new_values(row)))[0]
    return row.id


def _new_values(row: Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _COLUMNS if name != "id"}


def _changed_values(row: Row) -> dict[str, Any]:
    return {"row_id": row.id, **{name: getattr(row, name) for name in _MUTABLE}}


def _first_or_integrity(conn: Any, statement: Statement, params: dict[str, Any]) -> Any:
    """The statement's first row (SQLAlchemy's IntegrityError for the driver's, as the ORM would raise it)."""
    try:
        return statement.first(conn, params)
    except conn.dialect.dbapi.IntegrityError as e:
        from sqlalchemy.exc import IntegrityError
        raise IntegrityError(statement.sql, None, e) from e


def message_url(neg: Negotiation, kind: CN, initial: bool) -> str:
    """Where a message of ``kind`` goes: the peer's base (its callback address) plus the DSP path."""
    base = (neg.peer_address or "").rstrip("/")
    if initial:
        return base + ("/negotiations/request" if kind is CN.REQUEST else "/negotiations/offers")
    if neg.role is Role.PROVIDER:
        return f"{base}/negotiations/{neg.consumer_pid}/{_PATHS_TO_CONSUMER[kind]}"
    return f"{base}/negotiations/{neg.provider_pid}/{_PATHS_TO_PROVIDER[kind]}"


def audit_origin(node: Any) -> str:
    host = node.public_url.split("://", 1)[-1].split("/", 1)[0]
    return f"{host}/audit/v1"


def ensure_audit_log(node: Any) -> None:
    """The node's log head exists (created with this node's origin if nobody created it before)."""
    with node.session() as s, s.begin():
        try:
            head(s)
        except AuditError:
            init_log(s, audit_origin(node))


@dataclass
class Work:
    """One transaction on one negotiation: what changed, what to send, what to record."""

    node: Any
    conn: Any            # a Core Connection inside the transaction
    row: Row
    neg: Negotiation
    now: datetime
    sends: list[Send] = field(default_factory=list)
    delivered_ids: list[int] = field(default_factory=list)
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)   # audit entries, appended last

    # -- changes ------------------------------------------------------------------------------------------------
    def record(self, t: Transition, *, reason: str | None = None) -> None:
        """Audit a transition; queue it in the outbox when it is ours to send."""
        if t.duplicate:
            return
        process: dict[str, Any] = {"kind": "negotiation", "state_from": t.old_state.value if t.old_state else None,
                                   "state_to": t.new_state.value, "dsp_message": t.kind.value}
        for key, value in (("consumer_pid", self.neg.consumer_pid), ("provider_pid", self.neg.provider_pid)):
            if value:
                process[key] = value
        if reason:
            process["reason"] = reason[:2000]
        elif t.kind is CN.TERMINATION and t.message.get("reason"):
            process["reason"] = "; ".join(map(str, t.message["reason"]))[:2000]
        body: dict[str, Any] = {"actor": {"did": self.node.did, "role": self.neg.role.value.lower()},
                                "counterparty": {"did": self.row.counterparty},
                                "process": process}
        if self.neg.dataset_id:
            body["dataset"] = {"id": self.neg.dataset_id[:2048]}
        if self.neg.agreement is not None:
            body["agreement"] = {"id": self.neg.agreement.id}
        self.entries.append(("negotiation.state_changed", body))
        if t.outbound:
            initial = t.old_state is None
            self.sends.append(Send(negotiation_id=self.row.id or 0, kind=t.kind.value,
                                   url=message_url(self.neg, t.kind, initial),
                                   body=json.dumps(t.message, separators=(",", ":")), initial=initial,
                                   next_at=self.node.clock.now(), created_at=self.now,
                                   max_attempts=self.max_attempts))
        if t.new_state is NegotiationState.TERMINATED:
            self.row.reason = process.get("reason") or self.row.reason

    def audit_decision(self, decision: dict[str, Any]) -> None:
        body = {"actor": {"did": self.node.did, "role": self.neg.role.value.lower()},
                "counterparty": {"did": self.row.counterparty},
                "process": {"kind": "negotiation", "provider_pid": self.neg.provider_pid or "",
                            "consumer_pid": self.neg.consumer_pid or ""},
                "decision": {"effect": decision["effect"], "reason_code": decision["code"],
                             "reasons": [str(r)[:2000] for r in decision["reasons"]][:50],
                             "evaluator": "policies", "point": "negotiation"}}
        if self.neg.dataset_id:
            body["dataset"] = {"id": self.neg.dataset_id[:2048]}
        self.entries.append(("policy.decision", body))
        self.row.decision = json.dumps(decision, ensure_ascii=False, default=str)

    def finalize_agreement(self) -> None:
        """Keep the agreement once the negotiation is FINALIZED (both sides), with its audit entry."""
        a = self.neg.agreement
        assert a is not None
        if not _INSERT_AGREEMENT.count(self.conn, _AGREEMENT_CODEC.encode(self.conn, {
                "id": a.id, "negotiation_id": self.row.id or 0, "role": self.neg.role.value, "provider": a.assigner,
                "consumer": a.assignee, "dataset_id": a.target, "offer_id": self.row.offer_id,
                "policy": json.dumps(a.to_json(), separators=(",", ":"), ensure_ascii=False),
                "signed_at": a.timestamp, "finalized_at": self.now, "revoked": False, "revoked_at": None,
                "revoked_reason": None})):
            return   # stored by an earlier FINALIZED
        self.row.agreement_id = a.id
        import hashlib
        policy_json = a.to_json()
        self.entries.append(("agreement.finalized", {
            "actor": {"did": self.node.did, "role": self.neg.role.value.lower()},
            "counterparty": {"did": self.row.counterparty},
            "process": {"kind": "negotiation", "provider_pid": self.neg.provider_pid or "",
                        "consumer_pid": self.neg.consumer_pid or "", "state_to": "FINALIZED"},
            "agreement": {"id": a.id, "offer_id": self.row.offer_id or "", "policy": policy_json,
                          "policy_sha256": hashlib.sha256(json.dumps(policy_json, sort_keys=True).encode())
                          .hexdigest()},
            "dataset": {"id": a.target[:2048]}}))

    # -- writing ------------------------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the row, the outbox rows and the audit entries (not committed: the caller commits)."""
        neg, row = self.neg, self.row
        row.state = neg.state.value
        row.peer_pid = neg.peer_pid
        row.peer_address = neg.peer_address
        row.dataset_id = neg.dataset_id
        if neg.offer is not None and neg.offer.get("@id"):
            row.offer_id = neg.offer["@id"]
        row.record = json.dumps(neg.to_dict(), separators=(",", ":"), default=str)
        row.updated_at = self.now
        if neg.state is NegotiationState.FINALIZED and neg.agreement is not None:
            self.finalize_agreement()
        if neg.state.value in ("FINALIZED", "TERMINATED"):
            row.pending = None
        first = self.sends[0] if self.sends else None
        if first is not None:
            # the first is ours to deliver right away unless an earlier message is still in flight (the insert
            # decides, and returns the lease it kept)
            first.lease_owner, first.lease_until = self.node_owner, self.node.clock.now() + LEASE_SECONDS
        if first is not None and self.conn.dialect.name == "postgresql":
            if row.id is None:
                row.id, first.id, first.lease_owner = _first_or_integrity(
                    self.conn, _INSERT_ROW_AND_SEND, {**_new_values(row), **_first_send_values(first)})
            else:
                first.id, first.lease_owner = _UPDATE_ROW_AND_SEND.first(
                    self.conn, {**_changed_values(row), **_first_send_values(first)})
        else:
            if row.id is None:
                insert_row(self.conn, row)   # a new negotiation is written once, with its first change
            else:
                _UPDATE_ROW.count(self.conn, _NEG_CODEC.encode(self.conn, _changed_values(row)))
            if first is not None:
                first.negotiation_id = row.id or 0
                first.id, first.lease_owner = _INSERT_FIRST_SEND.first(self.conn, _OUTBOX_CODEC.encode(
                    self.conn, first.values()))
        for out in self.sends:
            out.negotiation_id = row.id or 0
        if first is not None:
            if first.lease_owner is None:
                first.lease_until = None
            else:
                self.delivered_ids.append(first.id or 0)
        for out in self.sends[1:]:
            out.id = _INSERT_SEND.scalar(self.conn, _OUTBOX_CODEC.encode(self.conn, out.values()))
        # the log's head row is locked from the first append to the commit: append last, keep that window short
        # (in a group commit, the group's leader appends every member's entries just before COMMIT)
        entries = [(kind, body, self.now) for kind, body in self.entries]
        self.entries.clear()
        if self.at_commit_batch is not None:
            self.at_commit_batch(append_batch, entries)
        else:
            append_batch(self.conn, entries)

    node_owner: str = ""
    max_attempts: int = 7
    at_commit_batch: Any = None   # GroupCommit.at_commit_batch when the transaction is a group member


LEASE_SECONDS = 60.0


def load(row: Row | NegotiationRow) -> Negotiation:
    return Negotiation.from_dict(json.loads(row.record))


def rows_for(session: Session, *, role: str | None = None, state: str | None = None,
             pending: bool | None = None, limit: int = 200) -> Iterator[NegotiationRow]:
    q = select(NegotiationRow)
    if role:
        q = q.where(NegotiationRow.role == role.upper())
    if state:
        q = q.where(NegotiationRow.state == state.upper())
    if pending is True:
        q = q.where(or_(NegotiationRow.pending.is_not(None)))  # type: ignore[union-attr]
    q = q.order_by(NegotiationRow.id.desc()).limit(limit)  # type: ignore[union-attr]
    yield from session.exec(q).all()
