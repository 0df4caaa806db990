"""``passerelle serve``: the node's app under granian, ``[node] workers`` processes with a few threads each.

granian speaks HTTP in Rust and calls the WSGI app in a pool of Python threads. Against gunicorn's threaded workers
(HTTP parsing, keep-alive polling and access logging in Python, beside the app and under the same lock) it halved
the server's round trip and took a fifth of the CPU out of a contract negotiation (docs/dependencies.md).

Threads so that a node can answer a peer's credential-service call while one of its own requests waits on that
peer. One process by default, on SQLite and PostgreSQL alike: the node's concurrent changes then share commits
(``passerelle init``); ``--workers`` overrides, and on PostgreSQL the workers then commit alone and share the outbox
by leases. The master migrates the database and imports the app's modules before forking; each worker builds its
app (:func:`worker_app`) and starts the node's background work (outbox senders, schedulers, drop-folder watcher) at
once, so a restarted node resumes without waiting for a request.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Any

from connector.config import ConfigError, NodeConfig, load_config

__all__ = ["serve", "check_port_free", "worker_app"]

_CONFIG_ENV = "PASSERELLE_SERVE_CONFIG"
_WORKERS_ENV = "PASSERELLE_SERVE_WORKERS"


def check_port_free(host: str, port: int, source: Path) -> None:
    """Fail with one clear line before the server starts if the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError(f"{source}: [node] port: {host}:{port} is already in use") from None
            raise ConfigError(f"{source}: [node] host/port: cannot bind {host}:{port} ({e.strerror})") from None


def _logging(config: NodeConfig) -> dict[str, Any]:
    """The server's and the app's messages go to the node's ``error.log`` (requests to ``access.log``, written by
    the app's :class:`~connector.web.access_log.AccessLog`)."""
    handler = {"class": "logging.FileHandler", "filename": str(config.log_dir / "error.log"), "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"}},
        "handlers": {"error": handler},
        "loggers": {"_granian": {"handlers": ["error"], "level": "INFO", "propagate": False},
                    "granian.access": {"handlers": [], "level": "CRITICAL", "propagate": False}},
        "root": {"handlers": ["error"], "level": "INFO"},
    }


def worker_app() -> Any:
    """The WSGI app of one worker process (granian calls it in each worker), background work started."""
    from connector.app import create_app, start_background
    from connector.node import Node
    from connector.web.access_log import AccessLog
    config = load_config(os.environ[_CONFIG_ENV])
    if (count := int(os.environ.get(_WORKERS_ENV, config.node.workers))) != config.node.workers:
        # ``--workers`` overrides the file: the app must know, since a lone process groups its commits
        node = config.node.model_copy(update={"workers": count})
        config = NodeConfig(config.path, config.model.model_copy(update={"node": node}))
    app = create_app(Node(config, migrate=False))   # the master migrated before forking
    app.config["SERVED"] = True
    start_background(app)
    return AccessLog(app.wsgi_app, config.log_dir / "access.log")


def serve(config: NodeConfig, *, workers: int | None = None, threads: int = 4) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    node = config.node
    check_port_free(node.host, node.port, config.path)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    # migrate once in the master so workers don't race on the first start
    from connector.store import make_engine, upgrade
    engine = make_engine(config.database_url)
    upgrade(engine)
    engine.dispose()
    import connector.app  # noqa: F401 - imported once here, shared by the forked workers' memory
    count = workers or node.workers
    os.environ[_CONFIG_ENV] = str(config.path)
    os.environ[_WORKERS_ENV] = str(count)
    Granian(f"{__name__}:worker_app", factory=True, address=node.host, port=node.port, interface=Interfaces.WSGI,
            http=HTTPModes.http1, workers=count, blocking_threads=threads,
            workers_kill_timeout=5, log_dictconfig=_logging(config), log_access=False,
            process_name=f"passerelle-{node.name}").serve()
