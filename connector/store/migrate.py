"""Run Alembic migrations programmatically against an engine (the node's start-up and ``init`` call this)."""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["upgrade", "current_revision", "head_revision", "HEAD"]

#: the newest migration; a test checks it against the scripts, so start-up can skip Alembic when up to date
HEAD = "0009"

_SCRIPTS = Path(__file__).parent / "migrations"


def _config() -> "Config":
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; idempotent, safe to call at every start."""
    if not (revision == "head" and _stored_revision(engine) == HEAD):   # else skip importing Alembic at every start
        from alembic import command
        cfg = _config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    if revision == "head":
        _absorb_tokens_file(engine)


def _absorb_tokens_file(engine: Engine) -> None:
    """SQLite nodes before 2026-12-08 kept the replay guard's token ids in a file of their own beside the database
    (``node.db`` → ``node-tokens.db``): carry them into ``seen_jti``, so that a token spent before the upgrade stays
    spent, then remove the file."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return
    db = Path(engine.url.database)
    tokens = db.with_name(db.stem + "-tokens" + (db.suffix or ".db"))
    if not tokens.exists():
        return
    import sqlite3
    source = sqlite3.connect(tokens)
    try:
        rows = source.execute("SELECT iss, jti, expires_at FROM seen_jti").fetchall()
    except sqlite3.OperationalError:   # no table: nothing was ever written there
        rows = []
    finally:
        source.close()
    if rows:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO seen_jti (iss, jti, expires_at) VALUES (:iss, :jti, :expires_at) "
                              "ON CONFLICT DO NOTHING"),
                         [{"iss": iss, "jti": jti, "expires_at": expires_at} for iss, jti, expires_at in rows])
    for leftover in (tokens, tokens.with_name(tokens.name + "-wal"), tokens.with_name(tokens.name + "-shm")):
        leftover.unlink(missing_ok=True)


def _stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no table yet: a new database
        return None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(_config()).get_current_head()
