"""The catalogue over real HTTP.

1. A node with 1,000 datasets, served by ``passerelle serve`` (granian, process workers), answers
   ``POST /dsp/2025-1/catalog/request`` with full token + membership verification: median latency of sequential
   requests (each with a fresh self-issued token), for the default page (100 datasets) and the whole catalogue in one
   page, against the unauthenticated ``GET /.well-known/dspace-version`` on the same server (baseline).
2. A node with N publication rows already recorded (D datasets × V versions: a weekly dataset for years, regional
   slices re-published) takes one new publication: time until its catalogue (and DSP view) holds it, for the worker
   that holds the previous catalogue (applies the new row) against a full replay of every row (what each worker did
   on every publication before), both measured here on the same rows.
3. The hub crawls N nodes × 100 datasets: every node is a real node (own keys, database, DID document, membership
   credential) served over loopback HTTP (in-process threaded servers, all in this process), the crawler sends a
   fresh token per request, each node verifies it and the hub's membership, and the hub parses and stores every
   catalogue; then a re-crawl of the unchanged catalogues (not parsed again).

    .venv/bin/python benchmarks/catalog_http.py [--quick]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.catalog_store import DatasetVersion  # noqa: E402
from connector.testing import LiveSpace  # noqa: E402
from contracts.schemas import DSP_CONTEXT  # noqa: E402
from policies.territory import all_departements  # noqa: E402

REQUEST = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}
LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
THEMES = (["ECON"], ["ECON", "REGI"], ["REGI", "SOCI"], ["ENVI"], ["TRAN", "REGI"])
FREQ = ("WEEKLY", "MONTHLY", "ANNUAL", "QUARTERLY")


def mapping(node: int, i: int) -> dict[str, Any]:
    """Metadata of a realistic dataset (what a [datasets.<id>] section plus a published file give)."""
    deps = all_departements()
    dep = deps[(node * 7 + i) % len(deps)]
    year = 2020 + i % 6
    ident = f"ds-{node}-{i:05d}"
    return {
        "title": {"fr": f"Fréquentation touristique {dep.name} {year} n°{i}",
                  "en": f"Tourism attendance {dep.name} {year} #{i}"},
        "description": {"fr": f"Nuitées et arrivées en hébergement collectif, {dep.name}.",
                        "en": f"Nights and arrivals in collective accommodation, {dep.name}."},
        "themes": THEMES[i % len(THEMES)], "keywords": {"fr": ["tourisme", "fréquentation"], "en": ["tourism"]},
        "spatial": [f"DEP-{dep.code}"], "temporal": {"start": f"{year}-01-01", "end": f"{year}-12-31"},
        "frequency": FREQ[i % len(FREQ)], "licence": LICENCE, "access_rights": "RESTRICTED",
        "publisher": {"name": {"fr": f"Organisme {node}", "en": f"Organisation {node}"}, "type": "LocalAuthority"},
        "contact": {"name": "Données", "email": f"data@node-{node}.example"},
        "conforms_to": ["https://passerelle.example/schemas/attendance/1.0"],
        "distributions": [{"identifier": "parquet", "file_type": "PARQUET", "byte_size": 10_000 + i,
                           "sha256": hashlib.sha256(ident.encode()).hexdigest()}],
        "offers": [{"@id": f"urn:passerelle:offer:{ident}:stats", "@type": "Offer",
                    "permission": [{"action": "use", "constraint": [
                        {"leftOperand": "odrl:purpose", "operator": "isA",
                         "rightOperand": {"@id": "https://w3id.org/passerelle/purpose/Statistics"}}]}]}],
    }


def fill(live: Any, node: int, n: int) -> None:
    """Record n publications at once (as n ``passerelle publish`` calls would), rebuilt by the node on next use."""
    now = datetime.now(timezone.utc)
    with live.node.session() as s:
        for i in range(n):
            s.add(DatasetVersion(identifier=f"ds-{node}-{i:05d}", version=1, mapping=json.dumps(mapping(node, i)),
                                 published_at=now))
        s.commit()


def median_ms(fn: Any, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def serve_bench(root: Path, n_datasets: int, n_requests: int) -> dict[str, Any]:
    space = LiveSpace(root)
    proc = None
    try:
        space.add("hub", role="hub", enrol=False)
        space.enrol("hub")
        consumer = space.add("consumer")
        provider = space.add("provider")
        fill(provider, 0, n_datasets)
        provider.stop()  # the same node, now served by `passerelle serve`
        log = open(root / "serve.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--dir", str(root / "provider")],
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        client = httpx.Client(timeout=60)
        url = provider.url
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get(url + "/.well-known/dspace-version").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("provider did not start: " + (root / "serve.log").read_text()[-2000:])
            time.sleep(0.1)

        def call(limit: int) -> int:
            tok = consumer.trust.self_issued_token(provider.did)
            r = client.post(f"{url}/dsp/2025-1/catalog/request?limit={limit}", json=REQUEST,
                            headers={"Authorization": f"Bearer {tok}"})
            assert r.status_code == 200, r.text[:300]
            return len(r.content)

        for _ in range(6):  # warm every worker: catalogue built, membership of the caller verified and cached
            call(1000)
        full_bytes = call(1000)
        # tokens are minted outside the timed part, as a client would have them ready
        def timed(limit: int) -> float:
            toks = [consumer.trust.self_issued_token(provider.did) for _ in range(n_requests)]
            it = iter(toks)

            def one() -> None:
                r = client.post(f"{url}/dsp/2025-1/catalog/request?limit={limit}", json=REQUEST,
                                headers={"Authorization": f"Bearer {next(it)}"})
                assert r.status_code == 200
            return median_ms(one, n_requests)

        page_ms = timed(100)
        full_ms = timed(1000)
        base_ms = median_ms(lambda: client.get(url + "/.well-known/dspace-version"), n_requests)
        client.close()
        return {"datasets": n_datasets, "requests": n_requests, "catalog_page100_median_ms": round(page_ms, 2),
                "catalog_full_median_ms": round(full_ms, 2), "catalog_full_bytes": full_bytes,
                "baseline_version_median_ms": round(base_ms, 2)}
    finally:
        if proc is not None and proc.poll() is None:
            import os
            import signal
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        space.stop()


def publication_bench(root: Path, n_datasets: int, n_versions: int, repeat: int) -> dict[str, Any]:
    from connector.catalog_service import CatalogService
    from connector.clock import SystemClock
    from connector.config import load_config
    from connector.init_node import init_node
    from connector.node import Node
    node = Node(load_config(init_node(root / "node", name="node", role="hub", port=1, roles=["national_hub"])),
                SystemClock())
    now = datetime.now(timezone.utc)
    version = {}

    def record(count: int, start: int) -> None:
        with node.session() as s:
            for k in range(start, start + count):
                i = k % n_datasets
                version[i] = version.get(i, 0) + 1
                m = mapping(0, i)
                m["title"] = {"fr": m["title"]["fr"] + f" v{version[i]}", "en": m["title"]["en"]}
                s.add(DatasetVersion(identifier=f"ds-0-{i:05d}", version=version[i], mapping=json.dumps(m),
                                     published_at=now))
            s.commit()
    t0 = time.perf_counter()
    record(n_datasets * n_versions, 0)
    fill_s = time.perf_counter() - t0
    warm = CatalogService(node)
    warm.catalogue()
    rebuilds = warm.full_rebuilds
    incremental, replay = [], []
    for r in range(repeat):
        record(1, n_datasets * n_versions + r)
        t0 = time.perf_counter()
        cat = warm.catalogue()
        incremental.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        again = CatalogService(node).catalogue()
        replay.append((time.perf_counter() - t0) * 1000)
        assert again == cat
    assert warm.full_rebuilds == rebuilds  # every new row was applied, never replayed
    node.engine.dispose()
    return {"datasets": n_datasets, "rows_before": n_datasets * n_versions, "repeat": repeat,
            "fill_s": round(fill_s, 2), "incremental_median_ms": round(statistics.median(incremental), 2),
            "full_replay_median_ms": round(statistics.median(replay), 1)}


def crawl_bench(root: Path, n_nodes: int, per_node: int) -> dict[str, Any]:
    from connector.federation import FederatedCatalogue
    space = LiveSpace(root)
    try:
        t0 = time.perf_counter()
        hub = space.add("hub", role="hub", enrol=False)
        space.enrol("hub")
        for k in range(n_nodes):
            live = space.add(f"n{k:03d}")
            fill(live, k, per_node)
            live.app.config["CATALOG"].view()  # a node builds its view once per publication, not per crawl
        setup_s = time.perf_counter() - t0
        fed = FederatedCatalogue(hub.node, hub.trust)
        t0 = time.perf_counter()
        first = fed.crawl()
        first_s = time.perf_counter() - t0
        assert all(r.ok and r.changed for r in first), [r for r in first if not r.ok][:3]
        # every node publishes a new version of one dataset: every catalogue changed, trust caches warm
        for k in range(n_nodes):
            live = space.nodes[f"n{k:03d}"]
            m = mapping(k, 0)
            m["title"] = {"fr": m["title"]["fr"] + " (révisé)", "en": m["title"]["en"] + " (revised)"}
            live.app.config["CATALOG"].publish(f"ds-{k}-00000", m)
            live.app.config["CATALOG"].view()
        t0 = time.perf_counter()
        changed = fed.crawl()
        changed_s = time.perf_counter() - t0
        assert all(r.ok and r.changed for r in changed)
        t0 = time.perf_counter()
        second = fed.crawl()
        second_s = time.perf_counter() - t0
        assert all(r.ok and not r.changed for r in second)
        total = sum(r.datasets for r in first)
        t0 = time.perf_counter()
        hits = fed.search("tourisme", spatial="REG-76")
        search_ms = (time.perf_counter() - t0) * 1000
        return {"nodes": n_nodes, "datasets_per_node": per_node, "datasets_indexed": total,
                "setup_s": round(setup_s, 1), "crawl_first_s": round(first_s, 2),
                "crawl_all_changed_warm_s": round(changed_s, 2),
                "crawl_unchanged_s": round(second_s, 2), "search_region_ms": round(search_ms, 1),
                "search_hits": len(hits)}
    finally:
        space.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    root = Path(tempfile.mkdtemp(prefix="bench-catalog-http-"))
    try:
        serve = serve_bench(root / "serve", 1000 if not args.quick else 300, 200 if not args.quick else 50)
        print(f"catalog/request under passerelle serve, {serve['datasets']} datasets: page of 100 median "
              f"{serve['catalog_page100_median_ms']} ms, whole catalogue ({serve['catalog_full_bytes']} bytes) "
              f"{serve['catalog_full_median_ms']} ms; baseline dspace-version {serve['baseline_version_median_ms']} ms")
        pub = publication_bench(root / "publication", 50, 40 if not args.quick else 10, 7 if not args.quick else 5)
        print(f"one new publication with {pub['rows_before']} rows already recorded ({pub['datasets']} datasets): "
              f"catalogue up to date in {pub['incremental_median_ms']} ms (new row applied) against "
              f"{pub['full_replay_median_ms']} ms (every row replayed), median of {pub['repeat']}")
        crawl = crawl_bench(root / "crawl", 100 if not args.quick else 15, 100)
        print(f"crawl of {crawl['nodes']} nodes × {crawl['datasets_per_node']} datasets: {crawl['crawl_first_s']} s "
              f"(first contact), {crawl['crawl_all_changed_warm_s']} s (every catalogue changed, trust caches warm), "
              f"(unchanged re-crawl {crawl['crawl_unchanged_s']} s; setup {crawl['setup_s']} s)")
        print(json.dumps({"serve": serve, "publication": pub, "crawl": crawl, "quick": args.quick}), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    import os
    os._exit(0)  # background workers of the stopped in-process nodes must not print after the figures


if __name__ == "__main__":
    main()
