"""Catalogue benchmark: serving a node's DSP catalogue from the cached view, and indexing a crawl at the hub.

Part 1 — a node with 1,000 datasets: median time to produce the ``catalog/request`` response body from the cached
``CatalogView`` (whole catalogue, and one page of 100), against two baselines measured in the same run:
``json.dumps`` of the same message dict (serialising per request), and building the dicts from the model then
dumping them (no cache at all).
Part 2 — a crawl of 100 nodes × 100 datasets: ingesting every node's catalogue pages into a fresh
``FederatedIndex``, re-ingesting the unchanged crawl (skipped by digest), against a ``json.loads`` of the same pages.
The HTTP part (a real ``POST catalog/request`` through the node's server) is measured elsewhere.

Run: .venv/bin/python benchmarks/catalog_request.py [--quick]   (last line: JSON figures)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog import CatalogView, FederatedIndex, dataset_node  # noqa: E402
from catalog.dsp_views import CATALOG_CONTEXT, dumps  # noqa: E402
from catalog.samples import synthetic_catalogue  # noqa: E402

NOW = datetime(2025, 7, 1, tzinfo=timezone.utc)


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def serve(n_datasets: int, repeat: int) -> dict:
    t = time.perf_counter()
    cat = synthetic_catalogue(n_datasets, NOW)
    build_model_s = time.perf_counter() - t
    t = time.perf_counter()
    view = CatalogView(cat)
    build_view_s = time.perf_counter() - t
    message = view.catalog_message()
    body_bytes = len(view.catalog_page().body)

    def no_cache():
        head = {k: v for k, v in message.items() if k != "dataset"}
        head["@context"] = CATALOG_CONTEXT
        head["dataset"] = [dataset_node(cat.datasets[i], cat) for i in sorted(cat.datasets)]
        return dumps(head).encode()

    url = "https://node-0.passerelle.example/dsp/2025-1/catalog/request"
    return {
        "datasets": n_datasets,
        "body_bytes": body_bytes,
        "build_model_s": round(build_model_s, 3),
        "build_view_s": round(build_view_s, 3),
        "cached_full_median_ms": round(median_ms(lambda: view.catalog_page(), repeat), 3),
        "cached_page100_median_ms": round(median_ms(lambda: view.catalog_page(offset=n_datasets // 2, limit=100, url=url),
                                                    repeat), 3),
        "cached_dataset_median_ms": round(median_ms(lambda: view.dataset_body(f"ds-0-{n_datasets // 2:05d}"), repeat), 4),
        "baseline_json_dumps_full_median_ms": round(median_ms(lambda: dumps(message).encode(), repeat), 3),
        "baseline_no_cache_full_median_ms": round(median_ms(no_cache, max(3, repeat // 5)), 3),
    }


def crawl(n_nodes: int, per_node: int, page_size: int) -> dict:
    t = time.perf_counter()
    crawl_pages = []
    for node in range(n_nodes):
        view = CatalogView(synthetic_catalogue(per_node, NOW, node=node))
        total = view.catalog_page().total
        crawl_pages.append((f"node-{node}", [view.catalog_page(offset=o, limit=page_size).body
                                             for o in range(0, total, page_size)]))
    generate_s = time.perf_counter() - t
    total_bytes = sum(len(p) for _, pages in crawl_pages for p in pages)

    t = time.perf_counter()
    for _, pages in crawl_pages:
        for p in pages:
            json.loads(p)
    baseline_s = time.perf_counter() - t

    index = FederatedIndex()
    t = time.perf_counter()
    for node, pages in crawl_pages:
        index.ingest(node, pages, at=NOW)
    ingest_s = time.perf_counter() - t

    t = time.perf_counter()
    changed = sum(index.ingest(node, pages, at=NOW).changed for node, pages in crawl_pages)
    recrawl_s = time.perf_counter() - t
    assert changed == 0 and len(index) == n_nodes * per_node

    queries = [dict(text="fréquentation hérault"), dict(spatial="REG-76"), dict(theme="REGI", spatial="DEP-34"),
               dict(start=date(2024, 1, 1), end=date(2024, 3, 31), publisher="Organisme 7")]
    search_ms = {str(i): round(median_ms(lambda q=q: index.search(**q), 5), 3) for i, q in enumerate(queries)}
    return {
        "nodes": n_nodes, "datasets_per_node": per_node, "page_size": page_size, "pages_bytes": total_bytes,
        "generate_s": round(generate_s, 2),
        "ingest_all_s": round(ingest_s, 3),
        "recrawl_unchanged_s": round(recrawl_s, 3),
        "baseline_json_loads_s": round(baseline_s, 3),
        "search_median_ms": search_ms,
        "hits_region_76": len(index.search(spatial="REG-76")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, ends well within a minute")
    args = parser.parse_args()
    if args.quick:
        serve_figures = serve(200, 11)
        crawl_figures = crawl(10, 100, 50)
    else:
        serve_figures = serve(1000, 31)
        crawl_figures = crawl(100, 100, 50)
    print(f"serve {serve_figures['datasets']} datasets: cached body {serve_figures['cached_full_median_ms']} ms "
          f"(json.dumps baseline {serve_figures['baseline_json_dumps_full_median_ms']} ms, no cache "
          f"{serve_figures['baseline_no_cache_full_median_ms']} ms); page of 100: "
          f"{serve_figures['cached_page100_median_ms']} ms")
    print(f"crawl {crawl_figures['nodes']}×{crawl_figures['datasets_per_node']}: ingest {crawl_figures['ingest_all_s']} s, "
          f"unchanged re-crawl {crawl_figures['recrawl_unchanged_s']} s (json.loads baseline "
          f"{crawl_figures['baseline_json_loads_s']} s)")
    print(json.dumps({"benchmark": "catalog_request", "quick": args.quick, "serve": serve_figures,
                      "crawl": crawl_figures}))


if __name__ == "__main__":
    main()
