"""Fixtures for the audit log tests: a node database with the audit tables, keys, a fixed clock, sample bodies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from connector.audit import AUDIT_TABLES, COSIGNATURE_V1, NoteSigner, append, checkpoint, init_log
from connector.store import make_engine

ORIGIN = "occitanie.example.fr/audit/v1"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
# Private keys are built from fixed seeds so failures reproduce; they protect nothing.
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    SQLModel.metadata.create_all(eng, tables=AUDIT_TABLES)
    with Session(eng) as s:
        init_log(s, ORIGIN)
        s.commit()
    yield eng
    eng.dispose()


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner(ORIGIN, LOG_KEY)


@pytest.fixture
def witness_signer() -> NoteSigner:
    return NoteSigner("hub.example.fr/witness", WITNESS_KEY, COSIGNATURE_V1)


def pull_body(i: int) -> dict[str, Any]:
    """A data.pull entry as the data plane writes it (no personal data: ids, counts and hashes)."""
    return {
        "actor": {"did": "did:web:occitanie.example.fr", "role": "provider"},
        "counterparty": {"did": "did:web:hub.example.fr" if i % 2 == 0 else "did:web:herault.example.fr"},
        "agreement": {"id": f"urn:uuid:agreement-{i % 3}"},
        "dataset": {"id": f"urn:dataset:{'campings' if i % 2 == 0 else 'hotels'}", "format": "parquet"},
        "data": {"bytes": 1000 + i, "rows": 10 + i, "sha256": f"{i:064x}"},
        "decision": {"effect": "permit", "reason_code": "OK", "constraints": [
            {"left": "odrl:count", "op": "odrl:lteq", "right": 100, "actual": i, "ok": True}]},
    }


def fill(engine: Engine, signer: NoteSigner, n: int, *, every: int = 10) -> None:
    """n entries, one transaction each, with a signed checkpoint every ``every`` entries."""
    for i in range(n):
        with Session(engine) as s:
            append(s, "data.pull", pull_body(i), T0 + timedelta(seconds=i))
            if (i + 1) % every == 0:
                checkpoint(s, signer, T0 + timedelta(seconds=i))
            s.commit()


def drop_guards(engine: Engine) -> None:
    """Remove the append-only triggers, as an attacker with database access would."""
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            for t in ("audit_entry", "audit_checkpoint", "audit_cosignature"):
                c.execute(text(f"DROP TRIGGER IF EXISTS {t}_no_update"))
                c.execute(text(f"DROP TRIGGER IF EXISTS {t}_no_delete"))
        else:
            for t in ("audit_entry", "audit_checkpoint", "audit_cosignature"):
                c.execute(text(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}"))


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (conftest modules are not importable under --import-mode=importlib)."""
    return SimpleNamespace(ORIGIN=ORIGIN, T0=T0, LOG_KEY=LOG_KEY, OTHER_KEY=OTHER_KEY, WITNESS_KEY=WITNESS_KEY,
                           pull_body=pull_body, fill=fill, drop_guards=drop_guards)
