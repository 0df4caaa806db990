"""Helpers for negotiation tests: hub (authority), a provider, a consumer, and a recording peer.

Nodes are real (own database, keys, HTTP server on a free port). Every message a node delivers is captured at the
sender and checked against the DSP 2025-1 schemas. ``Recorder`` plays a counter-party's callback address: it keeps
what it receives and answers as told, so tests can drive one node with hand-written messages.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.clock import FixedClock
from connector.testing import LiveNode, LiveSpace, free_port
from contracts.schemas import DSP_CONTEXT, validation_errors

LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
DSP = "/dsp/2025-1"


def dataset_mapping(offers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"title": {"fr": "Fréquentation des campings", "en": "Campsite attendance"},
            "description": {"fr": "Nuitées par semaine", "en": "Nights per week"}, "themes": ["ECON"],
            "contact": {"name": "Observatoire", "url": "https://example.org/contact"}, "spatial": ["FR"],
            "frequency": "WEEKLY", "licence": LICENCE, "access_rights": "RESTRICTED",
            "distributions": [{"identifier": "parquet", "file_type": "PARQUET", "byte_size": 10, "sha256": "0" * 64}],
            "offers": offers}


OPEN_OFFER = {"@id": "urn:offer:open", "@type": "Offer", "permission": [{"action": "use"}]}
HUB_ONLY_OFFER = {"@id": "urn:offer:hub-only", "@type": "Offer", "permission": [{"action": "use", "constraint": [
    {"leftOperand": "https://w3id.org/passerelle/odrl/membershipRole", "operator": "eq",
     "rightOperand": "national_hub"}]}]}
REGION_OFFER = {"@id": "urn:offer:occitanie", "@type": "Offer", "permission": [{"action": "use", "constraint": [
    {"leftOperand": "https://w3id.org/passerelle/odrl/territory", "operator": "isPartOf", "rightOperand": "REG-76"}]}]}


def service(live: LiveNode) -> Any:
    return live.app.config["NEGOTIATIONS"]


def publish(live: LiveNode, identifier: str, offers: list[dict[str, Any]]) -> str:
    dataset, _ = live.app.config["CATALOG"].publish(identifier, dataset_mapping(offers))
    return dataset.iri


@dataclass
class Sent:
    """Every message the nodes delivered, with the schema problems of each."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append(message)

    def problems(self) -> list[str]:
        out = []
        for m in self.messages:
            out += [f"{m.get('@type')}: {p}" for p in validation_errors(m)]
            if not isinstance(m.get("@context"), list) or DSP_CONTEXT not in m["@context"]:
                out.append(f"{m.get('@type')}: @context is not an array with the 2025-1 context")
        return out


class Recorder:
    """A counter-party's HTTP endpoint: records each POST (path, body) and answers ``reply(path, body)``."""

    def __init__(self, reply: Callable[[str, dict[str, Any]], tuple[int, Any]] | None = None):
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.reply = reply or (lambda path, body: (200, {}))
        self.cond = threading.Condition()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{DSP}"

    def _app(self, environ: Any, start_response: Any) -> Any:
        req = Request(environ)
        body = json.loads(req.get_data() or b"{}")
        path = req.path[len(DSP):]
        status, answer = self.reply(path, body)
        with self.cond:
            self.received.append((path, body))
            self.cond.notify_all()
        return Response(json.dumps(answer), status=status, mimetype="application/json")(environ, start_response)

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= count, timeout), self.received
            return list(self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Space:
    live: LiveSpace
    provider: LiveNode
    consumer: LiveNode
    other: LiveNode
    sent: Sent
    datasets: dict[str, str]

    def token(self, caller: LiveNode, callee: LiveNode) -> str:
        return caller.trust.self_issued_token(callee.did)

    def post(self, caller: LiveNode, callee_url: str, callee: LiveNode, path: str, body: Any) -> httpx.Response:
        return httpx.post(callee_url + DSP + path, json=body, timeout=30,
                          headers={"Authorization": f"Bearer {self.token(caller, callee)}"})

    def get(self, caller: LiveNode, callee: LiveNode, path: str) -> httpx.Response:
        return httpx.get(callee.url + DSP + path, timeout=30,
                         headers={"Authorization": f"Bearer {self.token(caller, callee)}"})


def state_of(live: LiveNode, pid: str) -> str | None:
    found = service(live).get(pid)
    return found["state"] if found else None


def wait_state(live: LiveNode, pid: str, *states: str, timeout: float = 10.0) -> str | None:
    svc = service(live)
    svc.wait_until(lambda: state_of(live, pid) in states, timeout)
    return state_of(live, pid)


def peer_pid(live: LiveNode, pid: str, timeout: float = 10.0) -> str:
    """The other side's pid, once it has acknowledged."""
    svc = service(live)
    key = "provider_pid" if svc.get(pid)["role"] == "CONSUMER" else "consumer_pid"
    svc.wait_until(lambda: bool(svc.get(pid)[key]), timeout)
    value = svc.get(pid)[key]
    assert value, f"no acknowledgement for {pid}"
    return value
