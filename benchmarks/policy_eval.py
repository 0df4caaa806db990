"""Policy decisions per second on one core, for the tourism-standard template policy.

Baselines measured in the same run: a trivial always-permit function taking the same arguments (the floor of a
Python call that builds a decision object), and a dict lookup of a precomputed decision (what a cache would cost).
Each figure is the best of several rounds of ``n`` decisions, so noise from other processes on the shared machine
lowers the figure rather than raising it. The last line printed is one JSON object of the figures.

    .venv/bin/python benchmarks/policy_eval.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies import Decision, Request, World, evaluate, parse_policy  # noqa: E402
from policies import templates  # noqa: E402


def _rate(fn, n: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(n)
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (a few seconds)")
    args = ap.parse_args()
    n, rounds = (20_000, 3) if args.quick else (200_000, 5)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    offer = templates.load("tourism-standard", until="2027-01-01T00:00:00Z", territory="DEP-34")
    policy = parse_policy(offer)
    t0 = time.perf_counter()
    policy.compiled  # noqa: B018  (compile once, as a node does when it loads its offers)
    compile_ms = (time.perf_counter() - t0) * 1000
    now = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)
    permit_req = Request(party="did:web:occitanie.example", action="aggregate", purpose="OfficialStatistics",
                         claims={"membershipRole": ["regional_node"], "territory": "REG-76"})
    deny_req = Request(party="did:web:bretagne.example", action="distribute", purpose="Statistics",
                       claims={"membershipRole": ["regional_node"], "territory": "REG-53"})
    world = World(now=now, count=12, agreement_start=now - timedelta(days=3))
    assert evaluate(policy, permit_req, world).permitted
    assert not evaluate(policy, deny_req, world).permitted

    def run_permit(k: int) -> None:
        for _ in range(k):
            evaluate(policy, permit_req, world)

    def run_deny(k: int) -> None:
        for _ in range(k):
            evaluate(policy, deny_req, world)

    fixed = Decision(True, (), ())

    def always_permit(p, r, w):  # same call shape, no work
        return fixed

    def run_trivial(k: int) -> None:
        for _ in range(k):
            always_permit(policy, permit_req, world)

    cache = {(permit_req.party, permit_req.action): fixed}

    def run_lookup(k: int) -> None:
        for _ in range(k):
            cache[(permit_req.party, permit_req.action)]

    def run_parse(k: int) -> None:
        for _ in range(k):
            parse_policy(offer).compiled  # noqa: B018

    permit = _rate(run_permit, n, rounds)
    deny = _rate(run_deny, n, rounds)
    trivial = _rate(run_trivial, n, rounds)
    lookup = _rate(run_lookup, n, rounds)
    parse_rate = _rate(run_parse, max(n // 20, 500), rounds)
    reasons = len(evaluate(policy, permit_req, world).reasons)
    figures = {
        "benchmark": "policy_eval", "quick": args.quick, "n": n, "rounds": rounds,
        "policy": "tourism-standard (5 constraints, 1 prohibition, 1 obligation)", "reasons_per_decision": reasons,
        "decisions_per_s_permit": round(permit), "decisions_per_s_deny": round(deny),
        "us_per_decision_permit": round(1e6 / permit, 2), "us_per_decision_deny": round(1e6 / deny, 2),
        "baseline_always_permit_per_s": round(trivial), "baseline_dict_lookup_per_s": round(lookup),
        "ratio_permit_to_always_permit": round(permit / trivial, 4),
        "parse_and_compile_per_s": round(parse_rate), "first_compile_ms": round(compile_ms, 3),
        "target_decisions_per_s": 50_000, "meets_target": min(permit, deny) >= 50_000,
    }
    print(f"evaluate (permit): {permit:,.0f}/s   evaluate (deny): {deny:,.0f}/s   "
          f"always-permit call: {trivial:,.0f}/s   dict lookup: {lookup:,.0f}/s   parse+compile: {parse_rate:,.0f}/s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
