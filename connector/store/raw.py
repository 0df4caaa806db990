"""Hot-path statements run on the driver's own cursor, inside the caller's SQLAlchemy transaction.

A statement through the ORM session costs about three times what it costs on the DB-API cursor, and the protocol's
hot path (a negotiation message: mark sent, take the next row, append to the log) is a handful of tiny statements.
They are written once with ``:name`` parameters and rendered per driver (sqlite3 takes ``:name``, psycopg
``%(name)s``); the cursor belongs to the transaction's connection, so they commit or roll back with it.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

__all__ = ["Statement"]

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Statement:
    """One SQL statement with ``:name`` parameters, rendered once per paramstyle."""

    def __init__(self, sql: str):
        self.sql = sql
        self._rendered: dict[str, str] = {}

    def render(self, paramstyle: str) -> str:
        text = self._rendered.get(paramstyle)
        if text is None:
            if paramstyle == "named":
                text = self.sql
            elif paramstyle == "pyformat":
                text = _PARAM.sub(lambda m: f"%({m.group(1)})s", self.sql.replace("%", "%%"))
            else:
                raise ValueError(f"unsupported paramstyle {paramstyle!r}")
            self._rendered[paramstyle] = text
        return text

    def run(self, conn: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Execute on ``conn`` (a SQLAlchemy Connection in a transaction); the DB-API cursor, for fetches and
        ``rowcount``. sqlite3 is asked for ``named`` style, whatever its module default says."""
        dialect = conn.dialect
        style = "named" if dialect.name == "sqlite" else dialect.paramstyle
        cur = conn.connection.cursor()
        cur.execute(self.render(style), params or {})
        return cur

    def autocommit(self, engine: Any, params: Mapping[str, Any] | None = None) -> int:
        """Run alone in its own transaction on a pooled DB-API connection of ``engine``, without SQLAlchemy's
        transaction machinery; rows changed. For a single idempotent write on the hot path (the replay guard)."""
        dialect = engine.dialect
        style = "named" if dialect.name == "sqlite" else dialect.paramstyle
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            try:
                cur.execute(self.render(style), params or {})
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
