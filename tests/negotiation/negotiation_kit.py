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
        self.ppids: dict[str, str] = {}   # dataset id -> the providerPid to acknowledge an initial request with
        self.reply = reply or self._default_reply
        self.cond = threading.Condition()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{DSP}"

    def _default_reply(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Acknowledge like a provider: 201 + ContractNegotiation for an initial request, 200 otherwise."""
        if path == "/negotiations/request":
            from contracts import contract_negotiation
            ppid = self.ppids.get((body.get("offer") or {}).get("target"), new_pid())
            return 201, contract_negotiation(ppid, body["consumerPid"], "REQUESTED")
        return 200, {}

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

    def wait_for(self, match: Callable[[str, dict[str, Any]], bool], count: int,
                 timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        """The ``count``-th message that ``match`` accepts (other tests may share this recorder)."""
        def mine() -> list[tuple[str, dict[str, Any]]]:
            return [(p, b) for p, b in self.received if match(p, b)]
        with self.cond:
            assert self.cond.wait_for(lambda: len(mine()) >= count, timeout), (count, mine())
            return mine()[count - 1]

    def matching(self, match: Callable[[str, dict[str, Any]], bool]) -> list[tuple[str, dict[str, Any]]]:
        with self.cond:
            return [(p, b) for p, b in self.received if match(p, b)]

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


class PgSchemas:
    """Fresh PostgreSQL schemas (one per node) on PASSERELLE_TEST_PG, dropped at the end."""

    def __init__(self) -> None:
        import os
        self.base = os.environ["PASSERELLE_TEST_PG"]
        self.made: list[str] = []

    def make(self) -> str:
        import uuid
        from sqlalchemy import create_engine, text
        from connector.store import normalise_url
        schema = "t_" + uuid.uuid4().hex[:12]
        eng = create_engine(normalise_url(self.base))
        with eng.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        eng.dispose()
        self.made.append(schema)
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        from sqlalchemy import create_engine, text
        from connector.store import normalise_url
        eng = create_engine(normalise_url(self.base))
        with eng.begin() as c:
            for schema in self.made:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


# -- playing the counter-party by hand -------------------------------------------------------------------------
def kit_offer(offer_id: str, target: str) -> dict[str, Any]:
    return {"@id": offer_id, "@type": "Offer", "target": target, "permission": [{"action": "use"}]}


def new_pid() -> str:
    import uuid
    return f"urn:uuid:{uuid.uuid4()}"


class ConsumerPlayer:
    """Plays the consumer against a provider node: our identity is ``me`` (a member), callbacks go to ``recorder``."""

    def __init__(self, space: "Space", recorder: Recorder, dataset: str, me: LiveNode | None = None):
        self.space, self.rec, self.dataset = space, recorder, dataset
        self.me = me or space.consumer
        self.cpid = new_pid()
        self.ppid: str | None = None
        self.offer = kit_offer("offer" + dataset, dataset)
        self.seen = 0

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.space.post(self.me, self.space.provider.url, self.space.provider, path, body)

    def request(self) -> httpx.Response:
        from contracts import contract_request
        r = self.post("/negotiations/request", contract_request(self.cpid, self.offer,
                                                                callback_address=self.rec.url))
        if r.status_code == 201:
            self.ppid = r.json()["providerPid"]
        return r

    def send(self, what: str) -> httpx.Response:
        from contracts import (agreement_verification, contract_request, negotiation_event,
                               negotiation_termination)
        assert self.ppid
        if what == "counter":
            return self.post(f"/negotiations/{self.ppid}/request",
                             contract_request(self.cpid, self.offer, provider_pid=self.ppid))
        if what == "accept":
            return self.post(f"/negotiations/{self.ppid}/events", negotiation_event(self.ppid, self.cpid, "ACCEPTED"))
        if what == "verify":
            return self.post(f"/negotiations/{self.ppid}/agreement/verification",
                             agreement_verification(self.ppid, self.cpid))
        if what == "terminate":
            return self.post(f"/negotiations/{self.ppid}/termination",
                             negotiation_termination(self.ppid, self.cpid, "1", ["test"]))
        raise ValueError(what)

    def expect(self, suffix: str) -> dict[str, Any]:
        """The next message the provider sent us must arrive at ``<cb>/negotiations/<cpid>/<suffix>``."""
        self.seen += 1
        path, body = self.rec.wait_for(lambda p, b: b.get("consumerPid") == self.cpid, self.seen)
        assert path == f"/negotiations/{self.cpid}/{suffix}", (path, body)
        assert validation_errors(body) == [], body
        return body

    def state(self) -> str:
        r = self.space.get(self.me, self.space.provider, f"/negotiations/{self.ppid}")
        assert r.status_code == 200, r.text
        assert validation_errors(r.json(), "ContractNegotiation") == []
        return r.json()["state"]


class ProviderPlayer:
    """Plays the provider against a consumer node, started through the conformance trigger hook."""

    def __init__(self, space: "Space", recorder: Recorder, dataset: str, me: LiveNode | None = None):
        self.space, self.rec, self.dataset = space, recorder, dataset
        self.me = me or space.provider
        self.ppid = new_pid()
        self.cpid: str | None = None
        self.offer = kit_offer("offer" + dataset, dataset)
        self.seen = 0
        recorder.ppids[dataset] = self.ppid

    def trigger(self) -> dict[str, Any]:
        r = httpx.post(self.space.consumer.url + "/api/conformance/negotiations", timeout=30, json={
            "providerId": self.me.did, "offerId": self.offer["@id"], "datasetId": self.dataset,
            "connectorAddress": self.rec.url})
        assert r.status_code == 200, r.text
        self.cpid = r.json()["pid"]
        return r.json()

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.space.post(self.me, self.space.consumer.url, self.space.consumer, path, body)

    def send(self, what: str, **kw: Any) -> httpx.Response:
        from datetime import datetime, timezone
        from contracts import (Agreement, contract_agreement, contract_offer, negotiation_event,
                               negotiation_termination)
        assert self.cpid
        if what == "offer":
            return self.post(f"/negotiations/{self.cpid}/offers",
                             contract_offer(self.ppid, kw.get("offer", self.offer), consumer_pid=self.cpid))
        if what == "agree":
            agreement = Agreement(new_pid(), kw.get("target", self.dataset), self.me.did,
                                  kw.get("assignee", self.space.consumer.did), datetime.now(timezone.utc),
                                  {"permission": kw.get("permission", [{"action": "use"}])})
            return self.post(f"/negotiations/{self.cpid}/agreement", contract_agreement(self.ppid, self.cpid,
                                                                                         agreement))
        if what == "finalize":
            return self.post(f"/negotiations/{self.cpid}/events", negotiation_event(self.ppid, self.cpid, "FINALIZED"))
        if what == "terminate":
            return self.post(f"/negotiations/{self.cpid}/termination",
                             negotiation_termination(self.ppid, self.cpid, "1", ["test"]))
        raise ValueError(what)

    def expect(self, suffix: str) -> dict[str, Any]:
        """The next message the consumer sent us goes to ``<base>/negotiations/...<suffix>``."""
        self.seen += 1
        path, body = self.rec.wait_for(lambda p, b: b.get("consumerPid") == self.cpid, self.seen)
        want = "/negotiations/request" if suffix == "initial" else f"/negotiations/{self.ppid}/{suffix}"
        assert path == want, (path, body)
        assert validation_errors(body) == [], body
        return body

    def state(self) -> str:
        r = self.space.get(self.me, self.space.consumer, f"/negotiations/{self.cpid}")
        assert r.status_code == 200, r.text
        return r.json()["state"]
