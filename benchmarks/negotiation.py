"""Contract negotiation between two nodes on loopback, each under ``passerelle serve`` (granian with the nodes'
default workers: one process each), with an authority node for membership: latency of a full negotiation (request committed → FINALIZED on the consumer, one at a
time) and completed negotiations per second with 16 in flight, on SQLite and on PostgreSQL (one schema per node).
Baseline in the same run: the round trip of the plain JSON version route on the same servers.

Latency is read from the consumer's own records (the request's commit time to the FINALIZED commit), so the
benchmark's polling does not enter the figure. Every negotiation is a real DSP exchange: request, agreement,
verification, FINALIZED, each an authenticated HTTP call with a state change, an outbox row and an audit entry.

    .venv/bin/python benchmarks/negotiation.py [--quick] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
OFFER = {"@id": "urn:offer:bench", "@type": "Offer", "permission": [{"action": "use", "constraint": [
    {"leftOperand": "https://w3id.org/passerelle/odrl/membershipRole", "operator": "isAnyOf",
     "rightOperand": ["regional_node", "national_hub"]}]}]}
MAPPING = {"title": {"fr": "Fréquentation", "en": "Attendance"}, "description": {"fr": "d", "en": "d"},
           "themes": ["ECON"], "contact": {"name": "Observatoire", "url": "https://example.org/contact"},
           "spatial": ["FR"], "frequency": "WEEKLY",
           "licence": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "access_rights": "RESTRICTED",
           "distributions": [{"identifier": "parquet", "file_type": "PARQUET", "byte_size": 10, "sha256": "0" * 64}],
           "offers": [OFFER]}


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, directory: Path):
        from connector.config import load_config
        cfg = load_config(directory / "node.toml")
        self.directory, self.did, self.url = directory, cfg.node.did, cfg.node.public_url
        self.token = (directory / "admin.token").read_text().strip()
        self.client = httpx.Client(base_url=self.url, timeout=30,
                                   headers={"Authorization": f"Bearer {self.token}"})
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--dir", str(self.directory)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                     cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/.well-known/dspace-version", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"{self.directory.name} did not start")

    def api(self, method: str, path: str, json_body: Any = None) -> Any:
        r = self.client.request(method, path, json=json_body)
        if r.status_code >= 400:
            raise SystemExit(f"{self.directory.name}: {method} {path} → {r.status_code} {r.text[:300]}")
        return r.json()

    def stop(self) -> None:
        self.client.close()
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


NODES = ("hub", "provider", "consumer")


def _schemas(base: str, tag: str, *, create: bool) -> None:
    """Drop the nodes' schemas of this run (and create them afresh when ``create``)."""
    from sqlalchemy import create_engine, text
    from connector.store import normalise_url
    eng = create_engine(normalise_url(base))
    with eng.begin() as c:
        for name in NODES:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{tag}_{name}" CASCADE'))
            if create:
                c.execute(text(f'CREATE SCHEMA "{tag}_{name}"'))
    eng.dispose()


def _schema_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def build_space(root: Path, pg: str | None) -> dict[str, Served]:
    from connector.catalog_service import CatalogService
    from connector.config import load_config
    from connector.init_node import init_node
    from connector.node import Node
    tag = f"bn_{os.getpid()}"
    if pg:
        _schemas(pg, tag, create=True)
    db = (lambda name: _schema_url(pg, f"{tag}_{name}")) if pg else (lambda name: "")
    hub_dir = init_node(root / "hub", name="hub", role="hub", port=free_port(), legal_name="Hub",
                        roles=["national_hub"], database_url=db("hub")).parent
    hub_cfg = load_config(hub_dir / "node.toml")
    nodes = {"hub": Served(hub_dir)}
    for name, roles, territory in (("provider", ["private_provider"], []), ("consumer", ["regional_node"],
                                                                          ["REG-76"])):
        d = init_node(root / name, name=name, role="node", port=free_port(), legal_name=name, roles=roles,
                      territory=territory, authority_did=hub_cfg.node.did, authority_url=hub_cfg.node.public_url,
                      authority_key=hub_cfg.resolve(hub_cfg.authority.issuer_key), database_url=db(name)).parent
        nodes[name] = Served(d)
    provider = Node(load_config(nodes["provider"].directory / "node.toml"))
    CatalogService(provider).publish("frequentation", MAPPING)
    provider.engine.dispose()
    for node in nodes.values():
        node.start()
    hub = nodes["hub"]
    for node in nodes.values():
        cfg = load_config(node.directory / "node.toml")
        hub.api("POST", "/api/members", {"did": node.did, "legal_name": cfg.organisation.legal_name,
                                         "siren": cfg.organisation.siren, "roles": list(cfg.organisation.roles),
                                         "territory": list(cfg.organisation.territory)})
    for node in nodes.values():
        node.api("POST", "/api/trust/refresh")
        node.api("POST", "/api/membership/refresh")
    return nodes


class Watch:
    """Reads the consumer's negotiation rows straight from its database (WAL readers never block the node's
    writers), so waiting for outcomes does not load the node with API calls. One thread polls for every negotiation
    in flight, so that waiting costs the machine little CPU beside the nodes it measures."""

    POLL = 0.005

    def __init__(self, consumer: Served):
        from connector.config import load_config
        from connector.store import normalise_url
        url = load_config(consumer.directory / "node.toml").database_url
        if url.startswith("sqlite"):
            import sqlite3
            self.conn: Any = sqlite3.connect(url.split("///", 1)[1], isolation_level=None, check_same_thread=False)
            self.mark = "?"
        else:
            import psycopg
            self.conn = psycopg.connect(normalise_url(url).replace("postgresql+psycopg://", "postgresql://"),
                                        autocommit=True)
            self.mark = "%s"
        self.lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        self._ended: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def rows(self, pids: list[str]) -> list[tuple[str, str, Any, Any]]:
        out: list[tuple[str, str, Any, Any]] = []
        for i in range(0, len(pids), 500):
            part = pids[i:i + 500]
            marks = ",".join([self.mark] * len(part))
            with self.lock:
                cur = self.conn.execute(f"SELECT own_pid, state, created_at, updated_at FROM negotiation "
                                        f"WHERE own_pid IN ({marks})", part)
                out.extend(cur.fetchall())
        return out

    def finished(self, pids: list[str]) -> list[tuple[str, str, Any, Any]]:
        return [r for r in self.rows(pids) if r[1] in ("FINALIZED", "TERMINATED")]

    def wait(self, pid: str, timeout: float = 60.0) -> str:
        """Block until negotiation ``pid`` of the consumer has ended; its final state."""
        event = threading.Event()
        with self.lock:
            self._waiting[pid] = event
        if not event.wait(timeout):
            raise SystemExit(f"negotiation {pid} did not end within {timeout} s")
        with self.lock:
            return self._ended.pop(pid)

    def _poll(self) -> None:
        while not self._stop.wait(self.POLL):
            with self.lock:
                pids = list(self._waiting)
            if not pids:
                continue
            for pid, state, *_ in self.finished(pids):
                with self.lock:
                    self._ended[pid] = state
                    self._waiting.pop(pid).set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.conn.close()


class Client:
    """A lean keep-alive JSON client (http.client) for the load: the machine's two cores are shared with the nodes
    measured, and a heavier client (httpx) spent a seventh of the CPU of each negotiation on its own."""

    def __init__(self, served: Served):
        import http.client
        from urllib.parse import urlsplit
        u = urlsplit(served.url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        self.headers = {"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"}
        self.name = served.directory.name

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers=self.headers)
        r = self.conn.getresponse()
        text = r.read()
        if r.status >= 400:
            raise SystemExit(f"{self.name}: {method} {path} → {r.status} {text[:300]!r}")
        return json.loads(text)

    def close(self) -> None:
        self.conn.close()


class CpuMeter:
    """CPU time spent during a phase, per negotiation: each node's process tree, PostgreSQL's server processes (by
    user ``postgres``), this benchmark's own process, and the whole machine (busy time of both cores). On a 2-core
    machine shared by all of them, this says where the time goes whatever else runs."""

    def __init__(self, nodes: dict[str, Served]):
        import psutil
        self.psutil = psutil
        self.nodes = nodes

    def _processes(self) -> dict[str, list[Any]]:
        ps = self.psutil
        groups: dict[str, list[Any]] = {}
        for name, node in self.nodes.items():
            if node.proc is not None:
                root = ps.Process(node.proc.pid)
                groups[name] = [root, *root.children(recursive=True)]
        groups["postgres"] = [p for p in ps.process_iter(["username"]) if p.info["username"] == "postgres"]
        groups["client"] = [ps.Process()]
        return groups

    def _times(self) -> dict[int, float]:
        out = {}
        for group in self._processes().values():
            for p in group:
                try:
                    t = p.cpu_times()
                    out[p.pid] = t.user + t.system
                except self.psutil.Error:
                    pass
        return out

    def start(self) -> None:
        self.before = self._times()
        self.machine = self._busy()

    def _busy(self) -> float:
        t = self.psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    def per(self, count: int) -> dict[str, float]:
        """Milliseconds of CPU per negotiation since ``start`` (processes that started meanwhile count whole)."""
        busy = self._busy() - self.machine
        out: dict[str, float] = {}
        for name, group in self._processes().items():
            total = 0.0
            for p in group:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system - self.before.get(p.pid, 0.0)
                except self.psutil.Error:
                    pass
            out[name] = round(total / count * 1000, 2)
        out["machine"] = round(busy / count * 1000, 2)
        return out


def _start(client: Client, provider: Served) -> str:
    return client.call("POST", "/api/negotiations", {"provider": provider.did, "dataset": "frequentation",
                                                     "offer": OFFER["@id"], "offer_policy": OFFER})["pid"]


def _ms(row: tuple[str, str, Any, Any]) -> float:
    from datetime import datetime
    created, updated = (v if isinstance(v, datetime) else datetime.fromisoformat(str(v)) for v in row[2:4])
    return (updated - created).total_seconds() * 1000


def _when(v: Any) -> float:
    from datetime import datetime, timezone
    t = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()


def measure(nodes: dict[str, Served], sequential: int, concurrent: int, in_flight: int = 16) -> dict[str, Any]:
    consumer, provider = nodes["consumer"], nodes["provider"]
    watch = Watch(consumer)
    # baseline: the plain JSON version route of the same provider server, one request at a time
    version = Client(provider)
    for _ in range(50):
        version.call("GET", "/.well-known/dspace-version")
    rtt = []
    for _ in range(max(200, sequential * 4)):
        t = time.perf_counter()
        version.call("GET", "/.well-known/dspace-version")
        rtt.append((time.perf_counter() - t) * 1000)
    version.close()
    first = Client(consumer)

    def one() -> tuple[str, str, Any, Any]:
        pid = _start(first, provider)
        if (state := watch.wait(pid)) != "FINALIZED":
            raise SystemExit(f"negotiation {pid} ended {state}")
        return watch.rows([pid])[0]

    for _ in range(5):                       # warm-up: membership caches, connections, compiled policies
        one()
    lat = [_ms(one()) for _ in range(sequential)]
    # throughput: keep `in_flight` negotiations running until `concurrent` have been started
    started: list[str] = []
    lock = threading.Lock()

    def starter() -> None:
        local = Client(consumer)
        try:
            while True:
                with lock:
                    if len(started) >= concurrent:
                        return
                    started.append("")
                    slot = len(started) - 1
                started[slot] = _start(local, provider)
                watch.wait(started[slot])   # this one ends before the next starts: `in_flight` at all times
        finally:
            local.close()

    meter = CpuMeter(nodes)
    meter.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=starter) for _ in range(in_flight)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu = meter.per(concurrent)
    first.close()
    rows = watch.rows(started)
    watch.close()
    bad = [r for r in rows if r[1] != "FINALIZED"]
    if bad:
        raise SystemExit(f"{len(bad)} negotiations did not finalize: {bad[:3]}")
    span = max(_when(r[3]) for r in rows) - min(_when(r[2]) for r in rows)
    lat16 = sorted(_ms(r) for r in rows)
    return {
        "baseline_version_rtt_ms_median": round(statistics.median(rtt), 2),
        "negotiation_ms_median": round(statistics.median(lat), 1),
        "negotiation_ms_p95": round(sorted(lat)[int(0.95 * (len(lat) - 1))], 1),
        "negotiations": sequential,
        "per_s_16_in_flight": round(len(rows) / span, 1),
        "per_s_16_wall": round(len(rows) / wall, 1),
        "negotiation_ms_median_16_in_flight": round(statistics.median(lat16), 1),
        "completed_16": len(rows),
        "cpu_ms_per_negotiation_16": cpu,
    }


def run(engine: str, pg: str | None, sequential: int, concurrent: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-neg-{engine}-") as tmp:
        nodes = build_space(Path(tmp), pg if engine == "pg" else None)
        try:
            result = measure(nodes, sequential, concurrent)
        finally:
            for node in nodes.values():
                node.stop()
            if engine == "pg":
                _schemas(pg, f"bn_{os.getpid()}", create=False)
    print(f"{engine}: full negotiation median {result['negotiation_ms_median']} ms "
          f"(p95 {result['negotiation_ms_p95']} ms, {sequential} one at a time; version route round trip "
          f"{result['baseline_version_rtt_ms_median']} ms); {result['per_s_16_in_flight']} negotiations/s with 16 in "
          f"flight ({result['completed_16']} completed, median {result['negotiation_ms_median_16_in_flight']} ms each); "
          f"CPU ms per negotiation: {result['cpu_ms_per_negotiation_16']}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (within a minute)")
    parser.add_argument("--pg", default=os.environ.get("PASSERELLE_TEST_PG", PG_DEFAULT),
                        help="PostgreSQL server (a schema per node is created and dropped); '' to skip")
    args = parser.parse_args()
    sequential, concurrent = (20, 96) if args.quick else (200, 800)
    figures: dict[str, Any] = {"sequential": sequential, "concurrent_total": concurrent, "in_flight": 16}
    figures["sqlite"] = run("sqlite", None, sequential, concurrent)
    if args.pg:
        try:
            figures["pg"] = run("pg", args.pg, sequential, concurrent)
        except Exception as e:  # no server: say so rather than fail the other figures
            figures["pg"] = {"error": f"{type(e).__name__}: {e}"[:300]}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
