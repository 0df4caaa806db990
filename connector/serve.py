"""``passerelle serve``: the node's app under gunicorn, ``[node] workers`` processes with a few threads each.

Threads so that a node can answer a peer's credential-service call while one of its own requests waits on that
peer. One process by default on SQLite (a single writer: the node's concurrent changes then share commits), two on
PostgreSQL (``passerelle init``); ``--workers`` overrides.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from connector.config import ConfigError, NodeConfig

__all__ = ["serve", "check_port_free"]


def check_port_free(host: str, port: int, source: Path) -> None:
    """Fail with one clear line before gunicorn starts if the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError(f"{source}: [node] port: {host}:{port} is already in use") from None
            raise ConfigError(f"{source}: [node] host/port: cannot bind {host}:{port} ({e.strerror})") from None


class _Gunicorn(BaseApplication):
    def __init__(self, config: NodeConfig, options: dict[str, Any]):
        self._node_config = config
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from connector.app import create_app
        from connector.node import Node
        return create_app(Node(self._node_config, migrate=False))  # the master migrated before forking


def serve(config: NodeConfig, *, workers: int | None = None, threads: int = 4) -> None:
    node = config.node
    check_port_free(node.host, node.port, config.path)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    # migrate once in the master so workers don't race on the first start
    from connector.store import make_engine, upgrade
    engine = make_engine(config.database_url)
    upgrade(engine)
    engine.dispose()
    options = {
        "bind": f"{node.host}:{node.port}",
        "workers": workers or node.workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 120,
        "graceful_timeout": 5,
        "keepalive": 5,
        "accesslog": str(config.log_dir / "access.log"),
        "errorlog": str(config.log_dir / "error.log"),
        "loglevel": "info",
        "proc_name": f"passerelle-{node.name}",
        "preload_app": True,  # import once in the master; workers fork ready (engines are opened per process)
    }
    _Gunicorn(config, options).run()
