"""Store suite, run on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from connector.store import SeenJti, current_revision, head_revision, make_engine, upgrade
import connector.store.all_models  # noqa: F401


def test_first_migration_upgrades_to_head(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with Session(engine) as s:
        s.add(SeenJti(iss="did:web:a", jti="j1", expires_at=10))
        s.commit()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with Session(engine) as s:  # data written under the first schema survives the upgrades
        assert s.exec(select(SeenJti)).one().jti == "j1"
    engine.dispose()


def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    declared = set(SQLModel.metadata.tables)
    assert declared <= tables, f"tables without a migration: {declared - tables}"
    for name in declared:
        cols = {c["name"] for c in inspect(engine).get_columns(name)}
        assert set(SQLModel.metadata.tables[name].columns.keys()) <= cols, name
    engine.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_replay_guard_is_one_atomic_insert_under_concurrency(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        with Session(engine) as s:
            try:
                s.add(SeenJti(iss="did:web:x", jti="same", expires_at=99))
                s.commit()
                wins.append(True)
            except IntegrityError:
                s.rollback()
                wins.append(False)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1 and len(wins) == 8
    engine.dispose()


def test_sqlite_runs_wal_with_full_sync(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()


def test_token_ids_of_the_former_tokens_file_stay_spent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Earlier SQLite nodes kept token ids in ``<db>-tokens.db``: the upgrade carries them into ``seen_jti`` (a token
    spent before stays spent) and removes the file."""
    import sqlite3
    old = sqlite3.connect(tmp_path / "n-tokens.db")
    old.execute("CREATE TABLE seen_jti (iss TEXT, jti TEXT, expires_at INTEGER, PRIMARY KEY (iss, jti))")
    old.executemany("INSERT INTO seen_jti VALUES (?, ?, ?)", [("did:web:a", "j1", 10), ("did:web:a", "j2", 20)])
    old.commit()
    old.close()
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    upgrade(engine)
    with Session(engine) as s:
        assert sorted(r.jti for r in s.exec(select(SeenJti)).all()) == ["j1", "j2"]
    assert not (tmp_path / "n-tokens.db").exists()
    upgrade(engine)   # nothing left to carry
    engine.dispose()


def test_declared_head_matches_the_migration_scripts() -> None:
    from connector.store.migrate import HEAD
    assert HEAD == head_revision()
