"""The running node: its validated config, database, keys and clock, handed to the app and the CLI.

Keys are loaded when first needed and kept as parsed objects (parsing PEM per request costs more than signing).
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from connector.clock import Clock, SystemClock
from connector.config import NodeConfig, load_config
from connector.store import GroupCommit, is_sqlite, make_engine, upgrade

__all__ = ["Node", "open_node"]

DSP_PATH = "/dsp/2025-1"


class Node:
    def __init__(self, config: NodeConfig, clock: Clock | None = None, *, migrate: bool = True):
        self.config = config
        self.clock = clock or SystemClock()
        self._migrate = migrate
        self._engine: Engine | None = None
        self._pid: int | None = None

    # -- identity -----------------------------------------------------------------------------------------------
    @property
    def did(self) -> str:
        return self.config.node.did

    @property
    def name(self) -> str:
        return self.config.node.name

    @property
    def public_url(self) -> str:
        return self.config.node.public_url.rstrip("/")

    @property
    def dsp_base(self) -> str:
        return self.public_url + DSP_PATH

    @property
    def is_authority(self) -> bool:
        return self.config.is_authority

    @cached_property
    def admin_token(self) -> str:
        return self.config.resolve(self.config.node.admin_token_file).read_text().strip()

    def private_key(self, name: str) -> Any:
        """An Ed25519 private key from the node's key files, parsed once per process."""
        cache = self.__dict__.setdefault("_keys", {})
        if name not in cache:
            from connector.identity.keys import load_private_key
            cache[name] = load_private_key(self.config.key_path(name))
        return cache[name]

    def key_id(self, name: str) -> str:
        """``did#key-YYYY-MM`` style key ids (auth → ``key``, audit → ``audit``, issuer → ``issuer``)."""
        purpose = {"auth": "key"}.get(name, name)
        return f"{self.did}#{purpose}-{self.config.keys.created}"

    # -- storage ------------------------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        import os
        # a forked worker must not share the parent's connections
        if self._engine is None or self._pid != os.getpid():
            self._engine = make_engine(self.config.database_url)
            self._pid = os.getpid()
            if self._migrate:
                upgrade(self._engine)
                self._migrate = False
        return self._engine

    @cached_property
    def writes(self) -> GroupCommit:
        """The process's short write transactions on the node's database (a change of the protocol, a token id of
        the replay guard): grouped into shared commits on SQLite, and on PostgreSQL when one process serves the
        node; with several, each stands alone (``connector.store.group_commit``)."""
        return GroupCommit(lambda: self.engine,
                           grouped=is_sqlite(self.config.database_url) or self.config.node.workers == 1)

    @property
    def reader_engine(self) -> Engine:
        """Same database, for single-statement reads that must not queue behind writers (SQLite: deferred,
        read-only). On PostgreSQL the node's own pool in autocommit: one round trip per read instead of three
        (BEGIN, the SELECT, the ROLLBACK when the connection goes back to the pool)."""
        import os
        if getattr(self, "_reader", None) is None or self._reader_pid != os.getpid():
            engine = self.engine  # migrated first
            self._reader = make_engine(self.config.database_url, reader=True) \
                if engine.dialect.name == "sqlite" else engine.execution_options(isolation_level="AUTOCOMMIT")
            self._reader_pid = os.getpid()
        return self._reader

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @property
    def data_dir(self) -> Path:
        d = self.config.data_dir
        d.mkdir(parents=True, exist_ok=True)
        return d


def open_node(config_path: str | Path, clock: Clock | None = None) -> Node:
    return Node(load_config(config_path), clock)


def new_admin_token() -> str:
    return secrets.token_urlsafe(32)
