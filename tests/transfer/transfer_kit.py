"""Helpers for transfer tests: a loopback data space with a provider holding a real Parquet dataset, agreements
negotiated for real, and a recording counter-party for the protocol scenarios."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.testing import LiveNode, LiveSpace, free_port
from contracts.schemas import DSP_CONTEXT, validation_errors

DSP = "/dsp/2025-1"
AGG = "https://w3id.org/passerelle/odrl/aggregation"
PO = "https://w3id.org/passerelle/odrl/"

OPEN_OFFER = {"@id": "urn:offer:t:open", "@type": "Offer", "permission": [{"action": "use"}]}
COUNT_OFFER = {"@id": "urn:offer:t:count", "@type": "Offer", "permission": [{"action": "use", "constraint": [
    {"leftOperand": "odrl:count", "operator": "lteq", "rightOperand": {"@value": "2", "@type": "xsd:integer"}}]}]}
WINDOW_OFFER = {"@id": "urn:offer:t:window", "@type": "Offer", "permission": [{"action": "use", "constraint": [
    {"leftOperand": "odrl:dateTime", "operator": "lteq",
     "rightOperand": {"@value": "2030-01-01T00:00:00Z", "@type": "xsd:dateTime"}}]}]}
PURPOSE_OFFER = {"@id": "urn:offer:t:purpose", "@type": "Offer", "permission": [{"action": "use", "constraint": [
    {"leftOperand": "odrl:purpose", "operator": "isA", "rightOperand": "https://w3id.org/passerelle/purpose/Statistics"}
]}]}
AGG_OFFER = {"@id": "urn:offer:t:aggregate", "@type": "Offer", "permission": [{"action": "odrl:aggregate",
             "constraint": [{"leftOperand": PO + "cellSize", "operator": "gteq",
                             "rightOperand": {"@value": "3", "@type": "xsd:integer"}}]}],
             AGG: {"groupBy": ["dep_code", "unit_type"], "measures": ["nights"], "unit": "campsite_pid"}}
OFFERS = [OPEN_OFFER, COUNT_OFFER, WINDOW_OFFER, PURPOSE_OFFER, AGG_OFFER]


def bookings_table(rows: int = 6000, seed: int = 7) -> pa.Table:
    """Booking × night rows with pseudonymised ids: dense cells (many campsites) and thin ones (1–2 campsites)."""
    import random
    rnd = random.Random(seed)
    deps = ["DEP-34", "DEP-30", "DEP-11", "DEP-66"]
    cols: dict[str, list[Any]] = {k: [] for k in ("campsite_pid", "dep_code", "booking_pid", "unit_type", "nights")}
    for i in range(rows):
        dep = rnd.choice(deps)
        unit = rnd.choice(["pitch", "mobile_home"]) if dep != "DEP-66" else "lodge"
        camp = f"c{dep[-2:]}-{rnd.randrange(8 if dep != 'DEP-66' else 2)}"
        cols["campsite_pid"].append(camp)
        cols["dep_code"].append(dep)
        cols["booking_pid"].append(f"bk-{uuid.UUID(int=rnd.getrandbits(128)).hex[:20]}")
        cols["unit_type"].append(unit)
        cols["nights"].append(rnd.randint(1, 7))
    return pa.table(cols)


def write_dataset(path: Path, rows: int = 6000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(bookings_table(rows), path, row_group_size=2000)
    return path


def negotiations(live: LiveNode) -> Any:
    return live.app.config["NEGOTIATIONS"]


def transfers(live: LiveNode) -> Any:
    return live.app.config["TRANSFERS"]


def negotiate(consumer: LiveNode, provider: LiveNode, dataset: str, offer: str, timeout: float = 15.0,
              policy: dict[str, Any] | None = None) -> str:
    """A real negotiation to FINALIZED; returns the agreement id. ``policy``: an offer known out of band (the
    catalogue shows a requester only the offers that could permit it to ``use`` the data)."""
    svc = negotiations(consumer)
    n = (svc.start(provider.did, dataset, offer) if policy is None else
         svc.start(provider.did, dataset, offer, offer=policy, provider_base=provider.url + DSP))
    svc.wait_until(lambda: svc.get(n["pid"])["state"] in ("FINALIZED", "TERMINATED"), timeout)
    view = svc.get(n["pid"])
    assert view["state"] == "FINALIZED", view
    # the provider commits its agreement before it sends FINALIZED; wait on its commits, not on a timer
    agreement = view["agreement"]["@id"]
    prov = negotiations(provider)
    prov.wait_until(lambda: prov.agreement(agreement) is not None, timeout)
    return agreement


@dataclass
class Sent:
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
    """A counter-party's DSP endpoint: records each POST and answers ``reply(path, body)``."""

    def __init__(self, reply: Callable[[str, dict[str, Any]], tuple[int, Any]] | None = None):
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.reply = reply or self._default
        self.cond = threading.Condition()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.ppids: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{DSP}"

    def _default(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if path == "/transfers/request":
            from connector.transfer import transfer_process
            ppid = self.ppids.setdefault(body["consumerPid"], f"urn:uuid:{uuid.uuid4()}")
            return 201, transfer_process(ppid, body["consumerPid"], "REQUESTED")
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

    def wait_for(self, match: Callable[[str, dict[str, Any]], bool], count: int = 1,
                 timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        def mine() -> list[tuple[str, dict[str, Any]]]:
            return [(p, b) for p, b in self.received if match(p, b)]
        with self.cond:
            assert self.cond.wait_for(lambda: len(mine()) >= count, timeout), (count, self.received[-5:])
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
    hub: LiveNode
    provider: LiveNode
    consumer: LiveNode
    other: LiveNode
    sent: Sent
    dataset: str
    source: Path
    agreements: dict[str, str]

    def token(self, caller: LiveNode, callee: LiveNode) -> str:
        return caller.trust.self_issued_token(callee.did)

    def post(self, caller: LiveNode, callee_base: str, callee: LiveNode, path: str, body: Any) -> httpx.Response:
        return httpx.post(callee_base + path, json=body, timeout=30,
                          headers={"Authorization": f"Bearer {self.token(caller, callee)}"})

    def get(self, caller: LiveNode, callee: LiveNode, path: str) -> httpx.Response:
        return httpx.get(callee.url + DSP + path, timeout=30,
                         headers={"Authorization": f"Bearer {self.token(caller, callee)}"})


def state_of(live: LiveNode, pid: str) -> str | None:
    found = transfers(live).get(pid)
    return found["state"] if found else None


def wait_state(live: LiveNode, pid: str, *states: str, timeout: float = 10.0) -> str | None:
    transfers(live).wait_until(lambda: state_of(live, pid) in states, timeout)
    return state_of(live, pid)


def seed_agreement(live: LiveNode, agreement_id: str, *, role: str, provider: str, consumer: str,
                   dataset: str, policy: dict[str, Any] | None = None) -> None:
    """An agreement row as a finished negotiation leaves it (for the kit's pre-seeded agreement ids)."""
    from connector.negotiation.records import AgreementRow
    now = live.node.clock.utcnow()
    policy = policy or {"@id": agreement_id, "@type": "Agreement", "target": dataset, "assigner": provider,
                        "assignee": consumer, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "permission": [{"action": "use"}]}
    with live.node.session() as s:
        if s.get(AgreementRow, agreement_id) is None:
            s.add(AgreementRow(id=agreement_id, negotiation_id=0, role=role, provider=provider, consumer=consumer,
                               dataset_id=dataset, offer_id=None, policy=json.dumps(policy), signed_at=now,
                               finalized_at=now, revoked=False))
            s.commit()


def seed_aggregate(provider: LiveNode, consumer: LiveNode, dataset: str, offer: dict[str, Any]) -> str:
    """An aggregate-only agreement on both sides, as the negotiation would leave it. (The negotiation layer judges
    offers for ``use`` today, so it does not yet agree to an offer that grants only ``aggregate``.)"""
    import datetime as dt
    from policies import agreement_for, to_dsp
    agreement_id = f"urn:uuid:{uuid.uuid4()}"
    now = dt.datetime.fromtimestamp(provider.node.clock.now(), dt.timezone.utc)
    policy = to_dsp(agreement_for(offer, agreement_id=agreement_id, target=dataset, assigner=provider.did,
                                  assignee=consumer.did, timestamp=now))
    for live, role in ((provider, "PROVIDER"), (consumer, "CONSUMER")):
        seed_agreement(live, agreement_id, role=role, provider=provider.did, consumer=consumer.did, dataset=dataset,
                       policy=policy)
    return agreement_id
