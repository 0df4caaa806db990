"""Database engines: SQLite in the node directory by default, PostgreSQL when ``database_url`` says so."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

__all__ = ["make_engine", "normalise_url", "is_sqlite"]


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` as operators write it and use the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers run beside the writer; FULL makes a commit survive power loss, not only a crash.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str, *, pool_size: int = 14, reader: bool = False) -> Engine:
    """An engine for ``url``. ``reader`` is for reads only: on SQLite its transactions begin deferred (a WAL reader
    never waits for the writer) and the connection refuses writes."""
    url = normalise_url(url)
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=pool_size)
        event.listen(engine, "connect", _sqlite_pragmas)
        if reader:
            event.listen(engine, "connect", lambda c, _r: c.cursor().execute("PRAGMA query_only=ON"))

        # pysqlite's implicit transactions defer locking; BEGIN IMMEDIATE takes the write lock up front so two
        # writers never deadlock on lock upgrade.
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None

        begin = "BEGIN" if reader else "BEGIN IMMEDIATE"

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # on the driver: SQLAlchemy's execution path (events, a result object) costs more than the statement
            conn.connection.driver_connection.execute(begin)

        return engine
    # a pool as deep as a worker's threads (4 request threads, 8 outbox senders, schedulers): with 5, connections
    # beyond it were opened and closed again about every second negotiation under load, each a new server process
    # no pre-ping: it costs a round trip on every checkout of the hot path; a connection the server dropped fails
    # its statement once, SQLAlchemy then discards the whole pool, and the protocol's senders retry
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=False)
