"""The audit log's tables, on the default ``SQLModel.metadata`` so the node's migrations pick them up.

* ``audit_entry``: one row per entry; ``entry_json`` is the canonical text that is hashed, the other columns are
  copies of its fields kept only so auditors' queries can use an index;
* ``audit_head``: one row (``id = 1``) holding the origin, the size and the last leaf hash. Every append updates it
  first, which takes a row lock (PostgreSQL) or the write lock (SQLite) until commit: appenders queue there, so
  sequence numbers are gap-free and a rolled-back append leaves no hole;
* ``audit_checkpoint``: each signed checkpoint note, with the right edge of the tree at that size (``frontier``) so
  the next checkpoint hashes only the new leaves;
* ``audit_cosignature``: witness cosignature lines received for a checkpoint (insert-only).

The entry, checkpoint and cosignature tables refuse UPDATE and DELETE through triggers: defence in depth only, the
evidence of tampering comes from the hashes and signatures. Migrations must create them too: run
:data:`SQLITE_TRIGGERS` or :data:`POSTGRES_TRIGGERS` after the tables.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import BigInteger, Column, DDL, Integer, Text, event
from sqlmodel import Field, SQLModel

__all__ = ["AuditEntry", "AuditHead", "AuditCheckpoint", "AuditCosignature", "AUDIT_TABLES", "SQLITE_TRIGGERS",
           "POSTGRES_TRIGGERS"]

_BIGINT = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid, the fast path


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    seq: int = Field(sa_column=Column("seq", _BIGINT, primary_key=True, autoincrement=False))
    ts: str = Field(index=True, max_length=32)
    kind: str = Field(index=True, max_length=64)
    entry_json: str = Field(sa_column=Column("entry_json", Text, nullable=False))
    leaf_hash: str = Field(max_length=64)
    agreement_id: Optional[str] = Field(default=None, index=True, max_length=512)
    participant: Optional[str] = Field(default=None, index=True, max_length=512)
    dataset_id: Optional[str] = Field(default=None, index=True, max_length=512)


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    origin: str = Field(max_length=512)
    size: int = Field(default=0, sa_type=BigInteger)
    last_leaf_hash: Optional[str] = Field(default=None, max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    __tablename__ = "audit_checkpoint"

    size: int = Field(sa_column=Column("size", _BIGINT, primary_key=True, autoincrement=False))
    root_hash: str = Field(max_length=64)
    note: str = Field(sa_column=Column("note", Text, nullable=False))
    frontier: str = Field(sa_column=Column("frontier", Text, nullable=False))  # JSON list of hex hashes
    last_leaf_hash: Optional[str] = Field(default=None, max_length=64)
    created_at: str = Field(max_length=32)


class AuditCosignature(SQLModel, table=True):
    __tablename__ = "audit_cosignature"

    id: Optional[int] = Field(default=None, primary_key=True)
    size: int = Field(index=True, sa_type=BigInteger)
    witness: str = Field(max_length=512)
    line: str = Field(sa_column=Column("line", Text, nullable=False))
    received_at: str = Field(max_length=32)


AUDIT_TABLES = [AuditEntry.__table__, AuditHead.__table__, AuditCheckpoint.__table__,  # type: ignore[attr-defined]
                AuditCosignature.__table__]  # type: ignore[attr-defined]

_APPEND_ONLY = ("audit_entry", "audit_checkpoint", "audit_cosignature")

SQLITE_TRIGGERS: dict[str, list[str]] = {
    t: [f"CREATE TRIGGER IF NOT EXISTS {t}_no_update BEFORE UPDATE ON {t} "
        f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END",
        f"CREATE TRIGGER IF NOT EXISTS {t}_no_delete BEFORE DELETE ON {t} "
        f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END"]
    for t in _APPEND_ONLY
}

_PG_FUNCTION = ("CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END $$")
POSTGRES_TRIGGERS: dict[str, list[str]] = {
    t: [_PG_FUNCTION, f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                      f"FOR EACH ROW EXECUTE FUNCTION audit_append_only()"]
    for t in _APPEND_ONLY
}


def _install_triggers() -> None:
    tables = {t.name: t for t in AUDIT_TABLES}
    for name in _APPEND_ONLY:
        for stmt in SQLITE_TRIGGERS[name]:
            event.listen(tables[name], "after_create", DDL(stmt).execute_if(dialect="sqlite"))
        for stmt in POSTGRES_TRIGGERS[name]:
            event.listen(tables[name], "after_create", DDL(stmt).execute_if(dialect="postgresql"))


_install_triggers()
