"""In-process data spaces for tests and benchmarks: real nodes (own directory, database, keys) served by real
HTTP servers on free loopback ports, sharing one injectable clock."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
from werkzeug.serving import BaseWSGIServer, make_server

from connector.app import create_app
from connector.clock import Clock, SystemClock
from connector.config import load_config
from connector.init_node import init_node
from connector.node import Node

__all__ = ["LiveNode", "LiveSpace", "free_port", "watch_page"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TEST_LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def open_offer(identifier: str) -> dict[str, Any]:
    """A test offer anyone may use, ``urn:offer:<identifier>:open``."""
    return {"@id": f"urn:offer:{identifier}:open", "@type": "Offer", "permission": [{"action": "use"}]}


@dataclass
class LiveNode:
    node: Node
    server: BaseWSGIServer
    thread: threading.Thread
    app: Any

    @property
    def did(self) -> str:
        return self.node.did

    @property
    def url(self) -> str:
        return self.node.public_url

    @property
    def trust(self) -> Any:
        return self.app.config["TRUST"]

    def api(self, method: str, path: str, json: Any = None) -> httpx.Response:
        return httpx.request(method, self.url + path, json=json, timeout=30,
                             headers={"Authorization": f"Bearer {self.node.admin_token}"})

    def publish(self, identifier: str, path: Path, *, offers: list[dict[str, Any]] | None = None,
                schema: str | None = None, frequency: str = "WEEKLY") -> str:
        """Publish ``path`` as dataset ``identifier`` with test metadata and :func:`open_offer` unless ``offers``
        (with ``schema``: through the collection pipeline); the dataset's IRI."""
        from connector.publishing import publish_dataset
        mapping: dict[str, Any] = {
            "title": {"fr": f"{identifier} (test)", "en": f"{identifier} (test)"},
            "description": {"fr": "Données de test", "en": "Test data"}, "themes": ["ECON"],
            "contact": {"name": "Observatoire", "url": "https://example.org/contact"}, "spatial": ["FR"],
            "frequency": frequency, "licence": TEST_LICENCE, "access_rights": "RESTRICTED",
            "offers": offers if offers is not None else [open_offer(identifier)]}
        if schema:
            mapping["schema"] = schema
        result = publish_dataset(self.node, identifier, file=path, metadata=mapping,
                                 service=self.app.config["CATALOG"])
        return result.dataset.iri

    def stop(self) -> None:
        """Stop serving, then every background worker the app started, then close the node's connections."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        cfg = self.app.config
        for key in ("NEGOTIATIONS", "TRANSFERS"):
            sender = getattr(cfg.get(key), "sender", None)
            if sender is not None:
                sender.stop()
        for key in ("SCHEDULER", "AUDIT_SCHEDULER", "COLLECTION_WATCHER"):
            worker = cfg.get(key)
            if worker is not None and hasattr(worker, "stop"):
                try:
                    worker.stop()
                except Exception:  # a worker that never started has nothing to stop
                    pass
        for attr in ("_engine", "_reader"):
            engine = getattr(self.node, attr, None)
            if engine is not None:
                engine.dispose()


def watch_page(page: Any, origin: str) -> tuple[list[str], list[str]]:
    """A browser page's script errors and the requests it makes outside ``origin`` (a page of a node must need
    nothing from elsewhere: no CDN), as two lists that fill while the test drives the page."""
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(origin) else outside.append(r.url))
    return errors, outside


def engines_under_test() -> list[str]:
    """The database engines a test suite runs on: ``PASSERELLE_DB=sqlite`` or ``pg`` picks one (``make test``'s two
    passes: SQLite, then every database test again on PostgreSQL); unset, SQLite and, when PASSERELLE_TEST_PG names
    a server, PostgreSQL too."""
    import os
    only = os.environ.get("PASSERELLE_DB")
    if only in ("sqlite", "pg"):
        return [only]
    return ["sqlite", "pg"] if os.environ.get("PASSERELLE_TEST_PG") else ["sqlite"]


@dataclass
class LiveSpace:
    root: Path
    clock: Clock = field(default_factory=SystemClock)
    make_db: Callable[[], str] = lambda: ""
    nodes: dict[str, LiveNode] = field(default_factory=dict)

    def add(self, name: str, *, role: str = "node", roles: list[str] | None = None,
            territory: list[str] | None = None, authority: str = "hub", enrol: bool = True) -> LiveNode:
        port = free_port()
        directory = self.root / name
        kwargs: dict[str, Any] = {}
        if role != "hub":
            hub = self.nodes[authority].node
            kwargs = {"authority_did": hub.did, "authority_url": hub.public_url,
                      "authority_key": hub.config.resolve(hub.config.authority.issuer_key)}
        init_node(directory, name=name, role=role, port=port, legal_name=f"{name} (test)",
                  roles=roles or (["national_hub"] if role == "hub" else ["regional_node"]),
                  territory=territory or [], database_url=self.make_db(), **kwargs)
        node = Node(load_config(directory / "node.toml"), self.clock)
        app = create_app(node)
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        live = LiveNode(node, server, thread, app)
        self.nodes[name] = live
        if enrol:
            self.enrol(name)
        return live

    def enrol(self, name: str, authority: str = "hub") -> None:
        live, hub = self.nodes[name], self.nodes[authority]
        cfg = live.node.config
        r = hub.api("POST", "/api/members", {"did": live.did, "legal_name": cfg.organisation.legal_name,
                                             "siren": cfg.organisation.siren, "roles": list(cfg.organisation.roles),
                                             "territory": list(cfg.organisation.territory)})
        assert r.status_code == 201, r.text
        r = live.api("POST", "/api/membership/refresh")
        assert r.status_code == 200, r.text

    def agree(self, consumer: str, provider: str, dataset: str, offer: str, timeout: float = 30.0) -> str:
        """``consumer`` negotiates ``offer`` of ``dataset`` with ``provider`` through its management API; the
        agreement's id once both sides hold it (waits on their commits, not on a clock)."""
        me, them = self.nodes[consumer], self.nodes[provider]
        r = me.api("POST", "/api/negotiations", {"provider": them.did, "dataset": dataset, "offer": offer})
        assert r.status_code == 201, r.text
        pid = r.json()["pid"]
        mine = me.app.config["NEGOTIATIONS"]
        mine.wait_until(lambda: mine.get(pid)["state"] in ("FINALIZED", "TERMINATED"), timeout)
        view = mine.get(pid)
        assert view["state"] == "FINALIZED", view
        agreement = view["agreement"]["@id"]
        theirs = them.app.config["NEGOTIATIONS"]
        assert theirs.wait_until(lambda: theirs.agreement(agreement) is not None, timeout)
        return agreement

    def stop(self) -> None:
        for live in self.nodes.values():
            live.stop()
