"""Hot-path statements run on the driver's own cursor, inside the caller's SQLAlchemy transaction.

A statement through the ORM session costs about three times what it costs on the DB-API cursor, and the protocol's
hot path (a negotiation message: mark sent, take the next row, append to the log) is a handful of tiny statements.
They are written once with ``:name`` parameters and rendered per driver (sqlite3 takes ``:name``, psycopg
``%(name)s``); the cursor belongs to the transaction's connection, so they commit or roll back with it.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

__all__ = ["Statement", "Codec"]

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _style(dialect: Any) -> str:
    """sqlite3 is asked for ``named`` style, whatever its module default says; others use their own."""
    return "named" if dialect.name == "sqlite" else dialect.paramstyle


class Statement:
    """One SQL statement with ``:name`` parameters, rendered once per paramstyle. ``for_update``: a row-locking
    SELECT, which PostgreSQL spells ``FOR UPDATE`` and SQLite (one writer at a time) does without."""

    def __init__(self, sql: str, *, for_update: bool = False):
        self.sql = sql
        self.for_update = for_update
        self._rendered: dict[tuple[str, str], str] = {}

    def render(self, paramstyle: str, dialect: str = "") -> str:
        text = self._rendered.get((paramstyle, dialect))
        if text is None:
            sql = self.sql + (" FOR UPDATE" if self.for_update and dialect == "postgresql" else "")
            if paramstyle == "named":
                text = sql
            elif paramstyle == "pyformat":
                text = _PARAM.sub(lambda m: f"%({m.group(1)})s", sql.replace("%", "%%"))
            else:
                raise ValueError(f"unsupported paramstyle {paramstyle!r}")
            self._rendered[(paramstyle, dialect)] = text
        return text

    def run(self, conn: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Execute on ``conn`` (a SQLAlchemy Connection in a transaction); the DB-API cursor, for fetches and
        ``rowcount``."""
        dialect = conn.dialect
        style = _style(dialect)
        cur = conn.connection.cursor()
        cur.execute(self.render(style, dialect.name), params or {})
        return cur

    def many(self, conn: Any, rows: list[Mapping[str, Any]]) -> None:
        """Execute once per row of parameters (the driver's ``executemany``)."""
        dialect = conn.dialect
        style = _style(dialect)
        cur = conn.connection.cursor()
        try:
            cur.executemany(self.render(style, dialect.name), rows)
        finally:
            cur.close()

    def scalar(self, conn: Any, params: Mapping[str, Any] | None = None) -> Any:
        row = self.first(conn, params)
        return row[0] if row is not None else None

    def autocommit(self, engine: Any, params: Mapping[str, Any] | None = None) -> int:
        """Run alone in its own transaction on a pooled DB-API connection of ``engine``, without SQLAlchemy's
        transaction machinery; rows changed. For a single idempotent write on the hot path (the replay guard)."""
        dialect = engine.dialect
        style = _style(dialect)
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            try:
                cur.execute(self.render(style, dialect.name), params or {})
                count = cur.rowcount
            finally:
                cur.close()
            raw.commit()   # sqlite3 in autocommit mode (isolation_level None): the statement has committed already
            return count
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()

    def all(self, conn: Any, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.run(conn, params)
        try:
            return cur.fetchall()
        finally:
            cur.close()

    def first(self, conn: Any, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        cur = self.run(conn, params)
        try:
            return cur.fetchone()
        finally:
            cur.close()

    def count(self, conn: Any, params: Mapping[str, Any] | None = None) -> int:
        """Rows changed by an INSERT/UPDATE/DELETE."""
        cur = self.run(conn, params)
        try:
            return cur.rowcount
        finally:
            cur.close()


class Codec:
    """A table's column conversions as SQLAlchemy does them, for values going through :class:`Statement`.

    On SQLite, dates are stored as text and booleans as 0/1 in SQLAlchemy's own formats, so rows written here read
    back the same through the ORM and the other way round; psycopg converts PostgreSQL's types natively."""

    def __init__(self, table: Any):
        self.table = table
        self._sqlite: tuple[dict[str, Any], dict[str, Any]] | None = None

    def _processors(self, dialect: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if self._sqlite is None:
            bind, result = {}, {}
            for col in self.table.columns:
                impl = col.type.dialect_impl(dialect)
                if (b := impl.bind_processor(dialect)) is not None:
                    bind[col.name] = b
                if (r := impl.result_processor(dialect, None)) is not None:
                    result[col.name] = r
            self._sqlite = (bind, result)
        return self._sqlite

    def encode(self, conn: Any, values: dict[str, Any]) -> dict[str, Any]:
        if conn.dialect.name != "sqlite":
            return values
        bind = self._processors(conn.dialect)[0]
        return {k: (bind[k](v) if k in bind and v is not None else v) for k, v in values.items()}

    def decode(self, conn: Any, names: tuple[str, ...], row: tuple[Any, ...]) -> dict[str, Any]:
        if conn.dialect.name != "sqlite":
            return dict(zip(names, row))
        result = self._processors(conn.dialect)[1]
        return {k: (result[k](v) if k in result and v is not None else v) for k, v in zip(names, row)}
