"""Crash safety: the provider or the consumer, a real ``passerelle serve`` (two worker processes), is killed with
SIGKILL at each step of a negotiation (a failpoint kills its whole process group), restarted, and the negotiation
completes with exactly one agreement on each side.

One test per engine walks every step in turn (the nodes are started once; only the killed node restarts), so the
whole crash matrix costs one set-up per engine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from connector.clock import SystemClock
from connector.config import load_config
from connector.init_node import init_node
from connector.testing import LiveSpace, free_port
from negotiation_kit import OPEN_OFFER, PgSchemas, dataset_mapping

#: (node killed, failpoint with the hit that fires it): every step where a crash can fall
STEPS = [
    ("consumer", "neg.consumer.after_start_commit=kill"),     # request committed, nothing sent
    ("consumer", "neg.after_commit_before_send=kill"),        # about to send the request
    ("consumer", "neg.after_send_before_ack:ContractRequestMessage=kill"),   # delivered, ack not recorded
    ("provider", "neg.provider.after_receive:ContractRequestMessage=kill"),  # request + agreement committed
    ("provider", "neg.after_commit_before_send:ContractAgreementMessage=kill"),  # agreement committed, not sent
    ("provider", "neg.after_send_before_ack:ContractAgreementMessage=kill"),  # agreement delivered, not marked
    ("consumer", "neg.consumer.after_receive:ContractAgreementMessage=kill"),  # verification committed
    ("consumer", "neg.after_send_before_ack:ContractAgreementVerificationMessage=kill"),
    ("provider", "neg.provider.after_receive:ContractAgreementVerificationMessage=kill"),  # FINALIZED committed
    ("provider", "neg.after_send_before_ack:ContractNegotiationEventMessage:FINALIZED=kill"),
    ("consumer", "neg.consumer.after_receive:ContractNegotiationEventMessage:FINALIZED=kill"),
]


class ServedNode:
    def __init__(self, directory: Path):
        self.directory = directory
        cfg = load_config(directory / "node.toml")
        self.did, self.url = cfg.node.did, cfg.node.public_url
        self.token = (directory / "admin.token").read_text().strip()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, failpoints: str = "") -> None:
        env = {**os.environ, "PASSERELLE_FAILPOINTS": failpoints}
        log = open(self.directory / "serve.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--dir", str(self.directory),
                                      "--workers", "2"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.directory / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(self.url + "/.well-known/dspace-version", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            threading.Event().wait(0.05)
        raise AssertionError("node did not start")

    def wait_dead(self, timeout: float = 30) -> None:
        assert self.proc is not None
        self.proc.wait(timeout=timeout)
        assert self.proc.returncode == -signal.SIGKILL, self.proc.returncode

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def api(self, method: str, path: str, json: Any = None, timeout: float = 30) -> httpx.Response:
        return httpx.request(method, self.url + path, json=json, timeout=timeout,
                             headers={"Authorization": f"Bearer {self.token}"})


def _engines() -> list[Any]:
    from connector.testing import engines_under_test
    return [pytest.param(e, marks=pytest.mark.pg) for e in engines_under_test()]


@pytest.fixture(params=_engines())
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServedNode, ServedNode]]:
    schemas = PgSchemas() if request.param == "pg" else None
    space = LiveSpace(tmp_path, SystemClock(), schemas.make if schemas else (lambda: ""))
    hub = space.add("hub", role="hub", enrol=False)
    space.enrol("hub")
    nodes = {}
    for name, roles, territory in (("provider", ["private_provider"], []), ("consumer", ["regional_node"],
                                                                          ["REG-76"])):
        d = init_node(tmp_path / name, name=name, role="node", port=free_port(), legal_name=f"{name} (test)",
                      roles=roles, territory=territory, authority_did=hub.did, authority_url=hub.url,
                      authority_key=hub.node.config.resolve(hub.node.config.authority.issuer_key),
                      database_url=schemas.make() if schemas else "", extra={"negotiation": {"retry_base": 0.25}})
        nodes[name] = ServedNode(d.parent)
        r = hub.api("POST", "/api/members", {"did": nodes[name].did, "legal_name": name, "siren": "000000000",
                                             "roles": roles, "territory": territory})
        assert r.status_code == 201, r.text
    from connector.catalog_service import CatalogService
    from connector.node import Node
    provider_node = Node(load_config(nodes["provider"].directory / "node.toml"))
    CatalogService(provider_node).publish("frequentation", dataset_mapping([OPEN_OFFER]))
    provider_node.engine.dispose()
    try:
        for node in nodes.values():
            node.start()
            assert node.api("POST", "/api/membership/refresh").status_code == 200
        yield nodes["provider"], nodes["consumer"]
    finally:
        for node in nodes.values():
            node.stop()
        space.stop()
        if schemas:
            schemas.drop()


def _wait_finalized(node: ServedNode, pid: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        view = node.api("GET", f"/api/negotiations/{pid}").json()
        if view.get("state") in ("FINALIZED", "TERMINATED"):
            return view
        threading.Event().wait(0.05)
    raise AssertionError(f"not finished: {view}")


def test_killed_at_every_step_then_completes_once(served: tuple[ServedNode, ServedNode]) -> None:
    provider, consumer = served
    nodes = {"provider": provider, "consumer": consumer}
    for victim_name, failpoint in STEPS:
        victim = nodes[victim_name]
        victim.kill()
        victim.start(failpoint)
        try:
            r = consumer.api("POST", "/api/negotiations", {"provider": provider.did, "dataset": "frequentation",
                                                           "offer": OPEN_OFFER["@id"]}, timeout=10)
            pid = r.json()["pid"] if r.status_code == 201 else None
        except httpx.HTTPError:
            pid = None   # the consumer died before answering: the negotiation is in its database all the same
        victim.wait_dead()
        victim.start()
        if pid is None:
            listed = consumer.api("GET", "/api/negotiations?role=consumer").json()["negotiations"]
            pid = listed[0]["pid"]
        view = _wait_finalized(consumer, pid)
        assert view["state"] == "FINALIZED", (failpoint, view)
        theirs = _wait_finalized(provider, view["provider_pid"])
        assert theirs["state"] == "FINALIZED", (failpoint, theirs)
        assert theirs["agreement"]["@id"] == view["agreement"]["@id"]
    for node in (provider, consumer):
        negotiations = node.api("GET", "/api/negotiations").json()["negotiations"]
        agreements = node.api("GET", "/api/agreements").json()["agreements"]
        assert len(negotiations) == len(STEPS) and {n["state"] for n in negotiations} == {"FINALIZED"}
        assert len(agreements) == len(STEPS)                               # exactly one agreement per negotiation
        assert {a["id"] for a in agreements} == {n["agreement"]["@id"] for n in negotiations}
        assert not any(a["revoked"] for a in agreements)
