"""Witnessing benchmark: what a node's checkpoint costs it and the hub, on real nodes over loopback HTTP (SQLite).

A node's log is filled with N entries (20,000 with --quick, 200,000 by default); then, ten times, 100 entries are
added and the node runs one scheduler ``tick``: it signs a checkpoint, builds the consistency proof from the size
the hub countersigned last, and submits it; the hub authenticates the node, checks the signature and the proof,
persists its state and returns the cosignature, which the node checks and stores.

Figures (milliseconds per checkpoint): ``tick_ms`` (all of the above), ``proof_edge_ms`` (the node's consistency
proof as it builds it, from the tree edge stored with the last countersigned checkpoint and the new leaves),
``idle_tick_ms`` (a tick with nothing to do: the lease and two reads). Baselines in the same run:
``proof_all_leaves_ms``, the same proof built from every leaf of the log (``connector.audit.consistency_proof``),
and ``auth_roundtrip_ms``, an authenticated request to the hub's witness endpoint refused after authentication (the
cost of any member-to-member call).

Run: .venv/bin/python benchmarks/audit_witness.py [--quick]. The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from connector.audit import append, consistency_proof  # noqa: E402
from connector.audit_node import tick, witness_proof  # noqa: E402
from connector.audit_service import ensure_log  # noqa: E402
from connector.clock import FixedClock  # noqa: E402
from connector.testing import LiveSpace  # noqa: E402


def fill(node, count: int, now: float) -> None:  # type: ignore[no-untyped-def]
    body = {"actor": {"did": node.did, "role": "provider"}, "counterparty": {"did": node.did},
            "catalog": {"datasets": 3}}
    ensure_log(node)
    done = 0
    while done < count:
        with node.session() as s, s.begin():
            for _ in range(min(1000, count - done)):
                append(s, "catalog.response", body, now)
                done += 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    entries = 20_000 if args.quick else 200_000
    rounds = 10
    with tempfile.TemporaryDirectory() as tmp:
        space = LiveSpace(Path(tmp), FixedClock(time.time()))
        try:
            space.add("hub", role="hub", enrol=False)
            space.enrol("hub")
            occ = space.add("occitanie", territory=["REG-76"])
            node, trust, hub = occ.node, occ.trust, space.nodes["hub"]
            t0 = time.perf_counter()
            fill(node, entries, space.clock.now())
            fill_s = time.perf_counter() - t0
            first = tick(node, trust, owner="bench")
            assert first.witness is not None and first.witness.witnessed, first
            ticks, proofs, edges, idles, auths = [], [], [], [], []
            for _ in range(rounds):
                fill(node, 100, space.clock.now())
                space.clock.advance(61)  # type: ignore[attr-defined]
                with node.session() as s:
                    from connector.audit.log import head
                    size = head(s).size
                    t = time.perf_counter()
                    slow = consistency_proof(s, size - 100, size)
                    proofs.append(time.perf_counter() - t)
                t = time.perf_counter()
                result = tick(node, trust, owner="bench")
                ticks.append(time.perf_counter() - t)
                assert result.checkpoint is not None and result.witness is not None and result.witness.witnessed
                with node.session() as s:
                    t = time.perf_counter()
                    fast = witness_proof(s, size - 100, size)
                    edges.append(time.perf_counter() - t)
                assert fast == slow
                t = time.perf_counter()
                assert tick(node, trust, owner="bench").checkpoint is None
                idles.append(time.perf_counter() - t)
                t = time.perf_counter()
                r = httpx.post(hub.url + "/audit/witness", json={},
                               headers={"Authorization": f"Bearer {trust.self_issued_token(hub.did)}"})
                auths.append(time.perf_counter() - t)
                assert r.status_code == 400, r.text
        finally:
            space.stop()

    def ms(xs: list[float]) -> float:
        return round(statistics.median(xs) * 1000, 2)

    figures = {"entries": entries, "rounds": rounds, "fill_s": round(fill_s, 2), "tick_ms": ms(ticks),
               "proof_edge_ms": ms(edges), "proof_all_leaves_ms": ms(proofs), "idle_tick_ms": ms(idles),
               "auth_roundtrip_ms": ms(auths)}
    print(f"log of {entries} entries; per checkpoint (median of {rounds}): tick + witness {figures['tick_ms']} ms; "
          f"consistency proof from the stored edge {figures['proof_edge_ms']} ms vs from every leaf "
          f"{figures['proof_all_leaves_ms']} ms; idle tick {figures['idle_tick_ms']} ms; "
          f"baseline authenticated round trip {figures['auth_roundtrip_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
