"""``passerelle demo``: a local data space on loopback, each node a real process with its own database and keys.

The flow: the authority starts and enrols every participant; each node obtains its membership credential; then
every node calls every other node's protocol endpoint, so that each one verifies every other's identity and
membership; each provider publishes its demo datasets (classified-campsite capacity of its territory) and the hub
crawls every catalogue into its federated catalogue, then negotiates agreements with every provider (one
request refused by the provider's policy, with its reasons). Later steps (transfer, indicators) extend the same flow.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx

__all__ = ["run_demo", "DemoError", "DemoNode", "DemoSpace", "TEMPLATES"]

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "config" / "demo"
# the hub, the campsite federation, two territories, then the sustainable-tourism providers (hub/sustainable/demo.py)
TEMPLATES = ["hub", "campings", "occitanie", "bretagne", "herault", "hebergeurs", "emploi", "frequentation"]
#: the member that witnesses the hub's exchange log (both sides are configured when the demo creates the nodes)
HUB_WITNESS = "occitanie"
BAROMETER_CAMPSITES = 30  # small: `demo --once` stays fast
BAROMETER_SNAPSHOT = "2026-06-15"  # a Monday in the season, so weeks are both realised and on the books
BOOKINGS_DATASET = "reservations-campings"  # the federation's weekly export, through the collection pipeline
BOOKINGS_METADATA = {
    "title": {"fr": "Réservations hebdomadaires des campings adhérents (synthétique)",
              "en": "Weekly bookings of member campsites (synthetic)"},
    "description": {"fr": "Export hebdomadaire réservation × nuitée, identifiants pseudonymisés à la source. Données "
                          "SYNTHÉTIQUES de démonstration.",
                    "en": "Weekly booking × stay-night export, identifiers pseudonymised at source. SYNTHETIC demo "
                          "data."},
    "keywords": {"fr": ["camping", "réservations", "nuitées"], "en": ["campsite", "bookings", "nights"]},
    "themes": ["ECON", "REGI"],
    "spatial": ["FR"],
    "frequency": "WEEKLY",
    "schema": "campsite-bookings",
    "offer_templates": [
        {"template": "members-statistical-use", "id": "urn:passerelle:offer:campings:reservations:statistiques"},
        {"template": "no-raw-redistribution", "id": "urn:passerelle:offer:campings:reservations:usage"}],
}
CAPACITY_DATASET = "capacites-campings"  # the capacity table of the same export: the barometer's denominator
CAPACITY_METADATA = {
    "title": {"fr": "Capacités journalières des campings adhérents (synthétique)",
              "en": "Daily capacity of member campsites (synthetic)"},
    "description": {"fr": "Unités disponibles par camping, nuit et type d'hébergement, extraites avec les "
                          "réservations ; identifiants pseudonymisés à la source. Données SYNTHÉTIQUES de "
                          "démonstration.",
                    "en": "Units available by campsite, night and unit type, extracted with the bookings; "
                          "identifiers pseudonymised at source. SYNTHETIC demo data."},
    "keywords": {"fr": ["camping", "capacité", "emplacements"], "en": ["campsite", "capacity", "pitches"]},
    "themes": ["ECON", "REGI"],
    "spatial": ["FR"],
    "frequency": "WEEKLY",
    "schema": "campsite-capacity",
    "offer_templates": [
        {"template": "members-statistical-use", "id": "urn:passerelle:offer:campings:capacites:statistiques"},
        {"template": "no-raw-redistribution", "id": "urn:passerelle:offer:campings:capacites:usage"}],
}


class DemoError(Exception):
    pass


@dataclass
class DemoNode:
    name: str
    directory: Path
    port: int
    did: str = ""
    admin_token: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, client: httpx.Client, method: str, path: str, json: Any = None,
            timeout: float = 30.0) -> dict[str, Any]:
        resp = client.request(method, self.url + path, json=json, timeout=timeout,
                              headers={"Authorization": f"Bearer {self.admin_token}"})
        if resp.status_code >= 400:
            raise DemoError(f"{self.name}: {method} {path} → {resp.status_code} {resp.text[:300]}")
        return resp.json()


@dataclass
class DemoSpace:
    """The nodes of a running demo; used by the CLI, the tests and the benchmarks alike."""

    root: Path
    nodes: dict[str, DemoNode] = field(default_factory=dict)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    def create(self, base_port: int, database_url: str = "", names: list[str] | None = None) -> None:
        from connector.init_node import init_from_template
        from connector.config import load_config
        names = names or TEMPLATES
        hub_dir = self.root / "hub"
        for i, name in enumerate(names):
            d = self.root / name
            port = base_port + TEMPLATES.index(name)
            if not (d / "node.toml").exists():
                db = _node_database(database_url, name)
                if name == "hub":
                    init_from_template(TEMPLATE_DIR / f"{name}.toml", d, port=port, database_url=db)
                else:
                    hub = load_config(hub_dir / "node.toml")
                    init_from_template(TEMPLATE_DIR / f"{name}.toml", d, port=port,
                                       authority_did=hub.node.did, authority_url=hub.node.public_url,
                                       authority_key=hub_dir / "keys" / "authority.jwks.json",
                                       database_url=db)
            cfg = load_config(d / "node.toml")
            self.nodes[name] = DemoNode(name, d, cfg.node.port, cfg.node.did,
                                        (d / "admin.token").read_text().strip())
        if "hub" in self.nodes and HUB_WITNESS in self.nodes:
            _agree_on_witness(self.nodes["hub"], self.nodes[HUB_WITNESS])

    def start(self, timeout: float = 30.0) -> None:
        for node in self.nodes.values():
            log = open(node.directory / "logs" / "serve.log", "ab")
            node.process = subprocess.Popen(
                [sys.executable, "-m", "connector.cli", "serve", "--dir", str(node.directory)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        for node in self.nodes.values():
            while True:
                if node.process and node.process.poll() is not None:
                    tail = (node.directory / "logs" / "serve.log").read_text(errors="replace")[-400:]
                    raise DemoError(f"{node.name} exited with {node.process.returncode}: {tail.strip()}")
                try:
                    if self.client.get(node.url + "/.well-known/dspace-version", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise DemoError(f"{node.name} did not answer on {node.url} within {timeout:.0f} s")
                time.sleep(0.05)

    def enrol_all(self) -> None:
        hub = self.nodes["hub"]
        from connector.config import load_config
        for node in self.nodes.values():
            cfg = load_config(node.directory / "node.toml")
            org = cfg.organisation
            existing = {m["did"] for m in hub.api(self.client, "GET", "/api/members")["members"]}
            if node.did not in existing:
                hub.api(self.client, "POST", "/api/members", {
                    "did": node.did, "legal_name": org.legal_name, "siren": org.siren,
                    "roles": list(org.roles), "territory": list(org.territory)})
        for node in self.nodes.values():
            node.api(self.client, "POST", "/api/trust/refresh")
            node.api(self.client, "POST", "/api/membership/refresh")

    def verify_mesh(self) -> list[tuple[str, str, bool, str]]:
        """Every node calls every other node; returns (caller, callee, ok, detail)."""
        results = []
        for a in self.nodes.values():
            for b in self.nodes.values():
                if a is b:
                    continue
                r = a.api(self.client, "POST", "/api/peers/check", {"did": b.did})
                results.append((a.name, b.name, bool(r.get("ok")), r.get("detail", "")))
        return results

    def publish_demo_datasets(self) -> dict[str, list[str]]:
        """Each node publishes the datasets of its ``[datasets.<id>]`` sections from small real files: the classified
        campsites of its territory (hub/reference), written as CSV in the node's directory."""
        from connector.config import load_config
        published: dict[str, list[str]] = {}
        for node in self.nodes.values():
            cfg = load_config(node.directory / "node.toml")
            for ident, section in cfg.model.datasets.items():
                path = node.directory / "demo-data" / f"{ident}.csv"
                write_capacity_csv(path, section.get("spatial", ["FR"]))
                node.api(self.client, "POST", f"/api/datasets/{ident}/publish", {"file": str(path)})
                published.setdefault(node.name, []).append(ident)
        return published

    def collect_weekly_export(self, campsites: int = BAROMETER_CAMPSITES,
                              snapshot: str = BAROMETER_SNAPSHOT) -> dict[str, Any]:
        """The campsite federation receives its members' weekly export (generated, labelled synthetic: bookings and
        the capacity table of the same campsites and snapshot) and publishes both through the collection pipeline:
        validated against their declared schemas, identifiers pseudonymised with its own key (the same campsite has
        the same pseudonym in both), written as Parquet, published as two datasets that declare ``conformsTo``."""
        import datetime as dt
        from hub.generate import generate_campsites
        node = self.nodes["campings"]
        out = node.directory / "demo-data" / "export" / snapshot
        if not (out / "MANIFEST.json").exists():
            generate_campsites(out, campsites=campsites, season=dt.date.fromisoformat(snapshot).year,
                               snapshot=dt.date.fromisoformat(snapshot), seed=0, fmt="csv")
        result = node.api(self.client, "POST", f"/api/datasets/{BOOKINGS_DATASET}/publish",
                          {"file": str(out / "bookings.csv"), "metadata": BOOKINGS_METADATA}, timeout=300)
        capacity = node.api(self.client, "POST", f"/api/datasets/{CAPACITY_DATASET}/publish",
                            {"file": str(out / "capacity.parquet"), "metadata": CAPACITY_METADATA}, timeout=300)
        manifest = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
        return {"dataset": result, "capacity": capacity, "campsites": campsites,
                "rows": manifest["files"]["bookings"]["rows"], "capacity_rows": manifest["files"]["capacity"]["rows"],
                "csv_bytes": (out / "bookings.csv").stat().st_size}

    def publish_sustainable_datasets(self) -> dict[str, dict[str, Any]]:
        """Each sustainable-tourism provider generates its files (labelled synthetic) in its own directory and
        publishes them with the declared metadata and offers of hub/sustainable/demo.py, through the same publishing
        path as the other nodes. Returns, by dataset id, the provider, the input kind, the file and the dataset."""
        from hub.sustainable.demo import DATASETS, PROVIDERS, generate_provider
        out: dict[str, dict[str, Any]] = {}
        for name, datasets in PROVIDERS.items():
            node = self.nodes[name]
            files = generate_provider(name, node.directory / "demo-data" / "tourisme-durable")
            for ident, kind in datasets:
                result = node.api(self.client, "POST", f"/api/datasets/{ident}/publish",
                                  {"file": str(files[kind]), "metadata": DATASETS[ident]}, timeout=120)
                out[ident] = {"provider": name, "kind": kind, "file": files[kind], "dataset": result}
        return out

    def crawl(self) -> dict[str, Any]:
        """The hub crawls every participant; returns its crawl report and its federated catalogue."""
        hub = self.nodes["hub"]
        report = hub.api(self.client, "POST", "/api/catalog/crawl")
        found = hub.api(self.client, "GET", "/api/catalog/search")
        return {"crawl": report["nodes"], "search": found}

    def negotiate_agreements(self, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The hub negotiates, with every provider, the statistical-use offer of each of its datasets (the
        ``[datasets]`` of its config and, for the sustainable-tourism providers, those of hub/sustainable/demo.py);
        it also asks Bretagne for its territory-bound offer (not shown to the hub's catalogue view, known out of
        band), which Bretagne's policy refuses with its reasons. Returns the hub's view of each negotiation once it has ended."""
        from connector.config import load_config
        from hub.sustainable.demo import DATASETS, PROVIDERS
        from policies import templates
        hub = self.nodes["hub"]
        asked: list[dict[str, Any]] = []
        for node in self.nodes.values():
            if node.name == "hub":
                continue
            datasets = dict(load_config(node.directory / "node.toml").model.datasets)
            datasets.update({ident: DATASETS[ident] for ident, _ in PROVIDERS.get(node.name, [])})
            for ident, section in datasets.items():
                for spec in section.get("offer_templates", []):
                    body = {"provider": node.did, "dataset": ident, "offer": spec["id"]}
                    if spec["template"] == "territory-bound" and node.name == "bretagne":
                        body["offer_policy"] = templates.load(spec["template"], **{
                            k: v for k, v in spec.items() if k != "template"})
                    elif spec["template"] != "members-statistical-use":
                        continue
                    asked.append(hub.api(self.client, "POST", "/api/negotiations", body))
        deadline = time.monotonic() + timeout
        return [self.settled(hub, n, deadline) for n in asked]

    def settled(self, node: DemoNode, negotiation: dict[str, Any], deadline: float) -> dict[str, Any]:
        """``node``'s view of a negotiation once it is FINALIZED or TERMINATED (or the deadline passed)."""
        view = negotiation
        while view["state"] not in ("FINALIZED", "TERMINATED") and time.monotonic() < deadline:
            time.sleep(0.05)  # the demo watches real processes over HTTP; there is no clock to advance
            view = node.api(self.client, "GET", f"/api/negotiations/{negotiation['pid']}")
        return view

    def region_negotiates_barometer(self, region: str = "occitanie", timeout: float = 60.0) -> dict[str, Any]:
        """A région asks the hub for its own slice of the barometer (the territory-bound offer only it sees);
        returns the région's view of the negotiation once it has ended."""
        from connector.config import load_config
        from hub.service import dataset_id, offer_id
        node, hub = self.nodes[region], self.nodes["hub"]
        territory = load_config(node.directory / "node.toml").model.organisation.territory[0]
        n = node.api(self.client, "POST", "/api/negotiations", {
            "provider": hub.did, "dataset": dataset_id(territory), "offer": offer_id(territory)})
        return self.settled(node, n, time.monotonic() + timeout)

    def barometer(self, landed: dict[str, Path], timeout: float = 300.0) -> dict[str, Any]:
        """The hub's barometer run on the files it pulled from the campsite federation (``landed``: ``bookings`` and
        ``capacity``, as :meth:`transfer_datasets` returns them), once it has ended. The landing of the second file
        started it on the hub's barometer thread; this only watches the hub's API. Raises DemoError when the hub
        has no ended run on these files."""
        run, ended = self._ended_run("/api/barometre/runs", landed, timeout)
        if not ended:
            raise DemoError("the hub has no ended barometer run on the files it pulled "
                            f"({', '.join(f'{k}={Path(v).name}' for k, v in landed.items())})"
                            + (f"; run {run['id']} is {run['status']}" if run else ""))
        return {**run, "source": "pulled", "started": "landing"}

    def _ended_run(self, runs_path: str, files: dict[str, Path], timeout: float) -> tuple[dict[str, Any] | None, bool]:
        """The hub's run (listed by ``GET runs_path``) on exactly these files, and whether it has ended: failed, or
        done with its régions' slices re-published (recorded just after ``done``; a run that is no longer the
        current one publishes none). Returns at once when the hub has no run on them (a landing records its run
        before the pull answers), or with the last state seen at the deadline."""
        hub = self.nodes["hub"]
        paths = {k: str(Path(v).resolve()) for k, v in files.items()}
        deadline = time.monotonic() + timeout
        while True:
            body = hub.api(self.client, "GET", runs_path)
            run = next((r for r in body["runs"] if {k: (v or {}).get("path") for k, v in r["inputs"].items()
                                                    if k in paths} == paths), None)
            ended = run is not None and (run["status"] == "failed" or (run["status"] == "done" and (
                run["published"] is not None or body.get("current", run["id"]) != run["id"])))
            if run is None or ended or time.monotonic() > deadline:
                return run, ended
            time.sleep(0.1)  # the demo watches real processes over HTTP; there is no clock to advance

    def pull_sustainable(self, agreed: list[dict[str, Any]]) -> dict[str, Path] | None:
        """The hub pulls, under its agreements, each dataset of the three sustainable-tourism providers (Parquet,
        verified and landed once) and schedules the pull weekly; the landing of the last one starts the computation
        on the hub (``hub.sustainable.landing``). Returns input kind → landed file, or None when an agreement is
        missing (the caller then computes from the published files and says so)."""
        from hub.sustainable.demo import PROVIDERS
        hub = self.nodes["hub"]
        wanted = {ident: kind for datasets in PROVIDERS.values() for ident, kind in datasets}
        inputs: dict[str, Path] = {}
        for n in agreed:
            target = str((n.get("agreement") or {}).get("target", ""))
            ident = next((i for i in wanted if target.rstrip("/").endswith("/" + i) or target == i), None)
            if ident is None or wanted[ident] in inputs:
                continue
            agreement = n["agreement"]["@id"]
            landed = hub.api(self.client, "POST", "/api/transfers/pull", {"agreement": agreement,
                                                                          "format": "parquet"}, timeout=300)
            hub.api(self.client, "PUT", f"/api/agreements/{agreement}/schedule", {"schedule": "mon 06:00"})
            inputs[wanted[ident]] = Path(landed["path"])
        return inputs if len(inputs) == len(wanted) else None

    def landed_run(self, inputs: dict[str, Path], timeout: float = 300.0) -> dict[str, Any] | None:
        """The hub's sustainable-tourism run on exactly these files once it has ended, or None when the hub has no
        run on them. The landing of the last file started it."""
        return self._ended_run("/api/tourisme-durable/runs", inputs, timeout)[0]

    def sustainable(self, inputs: dict[str, Path] | None = None) -> dict[str, Any]:
        """The sustainable-tourism indicators (hub/sustainable) on the hub: with ``inputs`` (input kind → file the
        hub pulled under its agreements), the run their landing started, once it has ended; computed, stored, each
        région's slice re-published. Without ``inputs``, or when their landing started none, the hub computes on
        request (``POST /api/tourisme-durable/calculs``), then from the files the three providers published
        (generated, labelled synthetic; read from their directories on this machine, not transferred) when no
        ``inputs`` were given; ``source`` in the result says which, ``started`` by what."""
        from hub.sustainable.demo import PROVIDERS, generate_provider
        hub = self.nodes["hub"]
        if inputs is not None:
            run = self.landed_run(inputs)
            if run is not None:
                return {"run": run["id"], "status": run["status"], "seconds": run["seconds"] or 0.0,
                        "published": run["published"] or ({"error": run["error"]} if run["error"] else None),
                        "source": "pulled", "started": "landing"}
        source = "pulled" if inputs is not None else "published"
        if inputs is None:
            inputs = {}
            for name in PROVIDERS:
                inputs.update(generate_provider(name, self.nodes[name].directory / "demo-data" / "tourisme-durable"))
        run = hub.api(self.client, "POST", "/api/tourisme-durable/calculs",
                      {k: str(v) for k, v in inputs.items()}, timeout=300)
        return {**run, "source": source, "started": "request"}

    def transfer_datasets(self, region: str = "occitanie", timeout: float = 60.0) -> dict[str, Any]:
        """The hub pulls the campsite federation's bookings, then its capacity table, under its statistical
        agreements (full rows, Parquet) and schedules the weekly pull of each (Monday 06:00 UTC); the landing of the
        second starts the barometer on the hub (``hub.service.landing``), which the pull does not wait for. The
        région publishes an aggregate-only view of its capacity (every cell of at least 3 campsites, grouped by
        département), which the hub negotiates and pulls: the aggregate is computed on the région's node and only
        that leaves it."""
        hub, node = self.nodes["hub"], self.nodes[region]

        def agree(provider: DemoNode, dataset: str, offer: str) -> dict[str, Any]:
            n = hub.api(self.client, "POST", "/api/negotiations", {"provider": provider.did, "dataset": dataset,
                                                                   "offer": offer})
            return self.settled(hub, n, time.monotonic() + timeout)

        pulled: dict[str, dict[str, Any]] = {}
        for kind, dataset, metadata in (("bookings", BOOKINGS_DATASET, BOOKINGS_METADATA),
                                        ("capacity", CAPACITY_DATASET, CAPACITY_METADATA)):
            statistical = metadata["offer_templates"][0]["id"]   # type: ignore[index]
            neg = agree(self.nodes["campings"], dataset, statistical)
            if neg["state"] != "FINALIZED":
                raise DemoError(f"the hub could not agree on {dataset}: {neg.get('reason')}")
            agreement = neg["agreement"]["@id"]
            landed = hub.api(self.client, "POST", "/api/transfers/pull", {"agreement": agreement,
                                                                          "format": "parquet"}, timeout=300)
            outcome = hub.api(self.client, "GET", f"/api/transfers/{landed['transfer']}").get("outcome") or {}
            schedule = hub.api(self.client, "PUT", f"/api/agreements/{agreement}/schedule",
                               {"schedule": "mon 06:00"})
            pulled[kind] = {**landed, "dataset": dataset, "schedule": schedule,
                            "barometer": outcome.get("barometer")}
        ident = f"capacite-campings-{region}-agregats"
        offer_id = f"urn:passerelle:offer:{region}:capacite:agregats"
        offer = {"@id": offer_id, "@type": "Offer", "permission": [{"action": "use", "constraint": [
            {"leftOperand": "https://w3id.org/passerelle/odrl/cellSize", "operator": "gteq",
             "rightOperand": {"@value": "3", "@type": "xsd:integer"}}]}],
            "https://w3id.org/passerelle/odrl/aggregation": {
                "groupBy": ["dep"], "measures": ["n_emplacements", "capacite_personnes"], "unitCount": "n_campings"}}
        from connector.config import load_config
        section = dict(load_config(node.directory / "node.toml").model.datasets.get(f"capacite-campings-{region}") or {})
        source = node.directory / "demo-data" / f"capacite-campings-{region}.csv"
        node.api(self.client, "POST", f"/api/datasets/{ident}/publish", {"file": str(source), "metadata": {
            "title": {"fr": "Capacité des campings classés par département (agrégats seulement)",
                      "en": "Classified campsite capacity by département (aggregates only)"},
            "description": {"fr": "Calculé sur le nœud de la région à chaque demande ; seules les cellules d'au moins "
                                  "3 campings en sortent.", "en": "Computed on the région's node for each pull; only "
                                                                  "cells of at least 3 campsites leave it."},
            "themes": ["ECON", "REGI"], "spatial": section.get("spatial", ["FR"]), "frequency": "ANNUAL",
            "offers": [offer]}})
        n = agree(node, ident, offer_id)
        if n["state"] != "FINALIZED":
            return {"rows": pulled["bookings"], "capacity": pulled["capacity"],
                    "schedule": pulled["bookings"]["schedule"],
                    "aggregate": None, "aggregate_reason": n.get("reason")}
        aggregate = hub.api(self.client, "POST", "/api/transfers/pull",
                            {"agreement": n["agreement"]["@id"], "format": "csv"}, timeout=120)
        return {"rows": pulled["bookings"], "capacity": pulled["capacity"], "schedule": pulled["bookings"]["schedule"],
                "aggregate": aggregate, "aggregate_dataset": ident}

    def witness_logs(self) -> list[dict[str, Any]]:
        """Every node signs a checkpoint of its exchange log now; each node's is countersigned by the hub's witness,
        and the hub's by the member it names (``HUB_WITNESS``)."""
        return [{"name": node.name, **node.api(self.client, "POST", "/api/audit/checkpoint")}
                for node in self.nodes.values()]

    def stop(self) -> None:
        for node in self.nodes.values():
            if node.process and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGTERM)
        for node in self.nodes.values():
            if node.process:
                try:
                    node.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(node.process.pid, signal.SIGKILL)
                    node.process.wait()
        self.client.close()


def write_capacity_csv(path: Path, spatial: list[str]) -> int:
    """Classified campsites (Atout France, April 2026) of the territories in ``spatial``; returns the row count."""
    import csv
    from hub.reference import classified_campsites
    deps = {c[4:] for c in spatial if c.startswith("DEP-")}
    regs = {c[4:] for c in spatial if c.startswith("REG-")}
    rows = [r for r in classified_campsites()
            if "FR" in spatial or r["dep"] in deps or r["reg"] in regs]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["dep", "reg", "classement", "categorie", "n_campings", "n_emplacements",
                                          "capacite_personnes"])
        w.writeheader()
        w.writerows(rows)
    return len(rows)


def _agree_on_witness(hub: DemoNode, witness: DemoNode) -> None:
    """Both sides of witnessing the hub's log: the hub names the member (``[audit] witnesses``), the member agrees
    to countersign the hub's log (``[audit] witness_for``); a node whose config already has an [audit] section is
    left as its operator wrote it."""
    for node, key, did in ((hub, "witnesses", witness.did), (witness, "witness_for", hub.did)):
        path = node.directory / "node.toml"
        config = path.read_text()
        if "\n[audit]" not in "\n" + config:
            path.write_text(config.rstrip("\n") + f'\n\n[audit]\n{key} = ["{did}"]\n')


def _node_database(database_url: str, name: str) -> str:
    """One schema per node when the demo runs on PostgreSQL; SQLite files otherwise."""
    if not database_url:
        return ""
    from sqlalchemy import create_engine, text
    from connector.store import normalise_url
    schema = f"demo_{name}"
    eng = create_engine(normalise_url(database_url))
    with eng.begin() as c:
        c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    eng.dispose()
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}options=-csearch_path%3D{schema}"


def run_demo(*, once: bool, directory: Path | None, base_port: int, database_url: str = "",
             echo: Callable[[str], None] = print) -> bool:
    temp = directory is None
    root = Path(tempfile.mkdtemp(prefix="passerelle-demo-")) if temp else directory
    assert root is not None
    root.mkdir(parents=True, exist_ok=True)
    space = DemoSpace(root)
    t0 = time.monotonic()
    ok = True
    try:
        space.create(base_port, database_url)
        echo(f"nodes in {root}")
        space.start()
        t_up = time.monotonic() - t0
        space.enrol_all()
        t_enrolled = time.monotonic() - t0
        echo(f"{len(space.nodes)} nodes serving after {t_up:.1f} s, enrolled after {t_enrolled:.1f} s")
        for node in space.nodes.values():
            echo(f"  {node.name:<13} {node.url:<24} {node.did}")
        mesh = space.verify_mesh()
        failures = [m for m in mesh if not m[2]]
        echo(f"identity and membership: {len(mesh) - len(failures)}/{len(mesh)} node pairs verified each other")
        for caller, callee, _, detail in failures:
            echo(f"  FAILED {caller} → {callee}: {detail}")
        ok = not failures
        published = space.publish_demo_datasets()
        export = space.collect_weekly_export()
        published.setdefault("campings", []).extend([BOOKINGS_DATASET, CAPACITY_DATASET])
        dist, cdist = export["dataset"]["distributions"][0], export["capacity"]["distributions"][0]
        echo(f"campings: weekly export of {export['campsites']} campsites ({export['rows']:,} rows, "
             f"{export['csv_bytes'] / 1e6:.1f} MB CSV) validated, pseudonymised and published as "
             f"{BOOKINGS_DATASET} v{export['dataset']['version']} ({dist['file_type']}, {dist['byte_size']:,} bytes, "
             f"conformsTo campsite-bookings 1.0.0); its capacity table ({export['capacity_rows']:,} rows) as "
             f"{CAPACITY_DATASET} v{export['capacity']['version']} ({cdist['file_type']}, {cdist['byte_size']:,} "
             f"bytes, conformsTo campsite-capacity 1.0.0)")
        durable_sources = space.publish_sustainable_datasets()
        for ident, d in durable_sources.items():
            published.setdefault(d["provider"], []).append(ident)
            dist = d["dataset"]["distributions"][0]
            echo(f"{d['provider']}: {ident} v{d['dataset']['version']} published ({dist['file_type']}, "
                 f"{dist['byte_size']:,} bytes, generated, synthetic)")
        echo(f"catalogues: {sum(len(v) for v in published.values())} datasets published by "
             f"{', '.join(sorted(published))}")
        fed = space.crawl()
        names = {n.did: n.name for n in space.nodes.values()}
        counts: dict[str, int] = {}
        for d in fed["search"]["datasets"]:
            counts[d["node"]] = counts.get(d["node"], 0) + 1
        echo(f"hub's federated catalogue: {fed['search']['count']} datasets from {len(fed['crawl'])} nodes "
             f"({space.nodes['hub'].url}/catalogue)")
        for n in sorted(fed["crawl"], key=lambda n: names.get(n["node"], n["node"])):
            state = "stale: " + n["detail"] if n["stale"] else "ok"
            echo(f"  {names.get(n['node'], n['node']):<13} {counts.get(n['node'], 0)} dataset(s)  {state}")
            for d in fed["search"]["datasets"]:
                if d["node"] == n["node"]:
                    echo(f"      {d['identifier']}: {d['title']} [{', '.join(d['spatial'])}]")
        ok = ok and not any(n["stale"] for n in fed["crawl"]) and fed["search"]["count"] == sum(
            len(v) for v in published.values())
        negotiated = space.negotiate_agreements()
        agreed = [n for n in negotiated if n["state"] == "FINALIZED"]
        echo(f"negotiation: the hub holds {len(agreed)} agreements; {len(negotiated) - len(agreed)} request(s) refused "
             f"(passerelle agreements --dir {space.nodes['hub'].directory})")
        for n in negotiated:
            who = names.get(n["counterparty"], n["counterparty"])
            if n["state"] == "FINALIZED":
                echo(f"  {who:<13} agreement {n['agreement']['@id']} for {n['offer']}")
            else:
                echo(f"  {who:<13} {n['state']} {n['offer']}: {n['reason']}")
        ok = ok and len(agreed) == len(negotiated) - 1 and sum(n["state"] == "TERMINATED" for n in negotiated) == 1
        moved = space.transfer_datasets("occitanie")
        r, c, agg = moved["rows"], moved["capacity"], moved["aggregate"]
        echo(f"transfer: the hub pulled {BOOKINGS_DATASET} ({r['bytes']:,} bytes, {r['rows']:,} rows, sha256 "
             f"{r['sha256'][:12]}…) and {CAPACITY_DATASET} ({c['bytes']:,} bytes, {c['rows']:,} rows, sha256 "
             f"{c['sha256'][:12]}…), each verified and landed once, and pulls them every "
             f"{moved['schedule']['schedule']} UTC (next {moved['schedule']['next_slot']}; "
             f"{space.nodes['hub'].url}/transferts)")
        echo(f"  landing: {BOOKINGS_DATASET}: barometer {r['barometer']}; {CAPACITY_DATASET}: barometer "
             f"{c['barometer']}")
        if agg:
            echo(f"  occitanie {moved['aggregate_dataset']}: aggregate-only, computed on Occitanie's node: "
                 f"{agg['rows']} cells by département ({agg['bytes']:,} bytes), no row-level data left the node")
        else:
            echo(f"  occitanie aggregate-only dataset: not agreed: {moved.get('aggregate_reason')}")
        ok = ok and r["content"] == "rows" and c["content"] == "rows" and bool(agg) and agg["content"] == "aggregate"
        run = space.barometer({"bookings": Path(r["path"]), "capacity": Path(c["path"])})
        slices = run.get("published") or {}
        echo(f"barometer: snapshot {run['snapshot_date']} of {BAROMETER_CAMPSITES} campsites (synthetic) computed from "
             f"the federation's files the hub pulled ({BOOKINGS_DATASET}, {CAPACITY_DATASET}): run {run['id']} "
             f"{run['status']}, started by their landing, in {run['seconds'] or 0.0:.1f} s; {len(slices)} régions' "
             f"indicators re-published (e.g. barometre-campings-reg-76, offered to Occitanie only)"
             + (f"; error: {run['error']}" if run.get("error") else ""))
        ok = ok and run["status"] == "done" and bool(slices) and "error" not in slices
        durable = space.sustainable(space.pull_sustainable(agreed))
        origin = ("files pulled under its agreements" if durable["source"] == "pulled" else
                  "the files the providers published (read from their directories, not transferred)")
        started = "started by their landing" if durable["started"] == "landing" else "computed on request"
        echo(f"tourisme durable: run {durable['run']} on {origin} ({started}), synthetic, in "
             f"{durable['seconds']:.1f} s; {len([k for k in (durable.get('published') or {}) if k != 'error'])} "
             f"régions' indicators re-published; {space.nodes['hub'].url}/tourisme-durable")
        ok = ok and "error" not in (durable.get("published") or {"error": "none"})
        own = space.region_negotiates_barometer("occitanie")
        echo(f"occitanie negotiated its barometer slice with the hub: {own['state']}"
             + (f" (agreement {own['agreement']['@id']})" if own.get("agreement") else f": {own.get('reason')}"))
        ok = ok and own["state"] == "FINALIZED"
        if own["state"] == "FINALIZED":
            occ = space.nodes["occitanie"]
            slice_ = occ.api(space.client, "POST", "/api/transfers/pull",
                             {"agreement": own["agreement"]["@id"], "format": "csv"}, timeout=120)
            rows = f"{slice_['rows']:,} rows, " if slice_.get("rows") is not None else ""
            echo(f"occitanie pulled its barometer slice from the hub: {rows}{slice_['bytes']:,} bytes "
                 f"(sha256 {slice_['sha256'][:12]}…, verified and landed once)")
            ok = ok and slice_["bytes"] > 0
        logs = space.witness_logs()
        names = {n.did: n.name for n in space.nodes.values()}
        echo(f"exchange logs: {len(logs)} checkpoints signed, {sum(bool(x['witnessed']) for x in logs)} countersigned "
             f"by their witnesses (auditor page: {space.nodes['occitanie'].url}/audit)")
        for x in logs:
            cp = x["checkpoint"]
            by = "the hub" if x["name"] != "hub" else \
                ", ".join(names.get(d, d) for d in x.get("countersigned_by", []))
            echo(f"  {x['name']:<13} {cp['size']:>5} entries  root {cp['root'][:12]}…  "
                 + (f"witnessed by {by}" if x["witnessed"] else f"not witnessed ({x['witness_detail']})"))
        ok = ok and all(x["witnessed"] for x in logs)
        echo(f"dashboard: {space.nodes['hub'].url}/barometre (admin token: {space.nodes['hub'].directory}/admin.token)")
        if not once:
            echo("data space running; Ctrl-C to stop")
            try:
                while all(n.process and n.process.poll() is None for n in space.nodes.values()):
                    time.sleep(0.5)
                echo("a node stopped; shutting down")
                ok = False
            except KeyboardInterrupt:
                echo("stopping")
    finally:
        space.stop()
        if temp:
            shutil.rmtree(root, ignore_errors=True)
    return ok
