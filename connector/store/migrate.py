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
    if revision == "head" and _stored_revision(engine) == HEAD:
        return  # nothing to do: avoid importing Alembic on every start
    from alembic import command
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


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
