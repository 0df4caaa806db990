"""All sustainable-tourism indicators for one year of monthly data for every département (plus the base year the
energy change needs), against a baseline DuckDB scan of the same files in the same run.

    .venv/bin/python benchmarks/sustainable.py [--quick]

Prints as its last line one JSON object of its figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer establishments (ends well within a minute)")
    ap.add_argument("--establishments", type=int, default=None)
    args = ap.parse_args()
    n = args.establishments or (1500 if args.quick else 10000)
    from hub.generate.arrivals import generate_arrivals
    from hub.generate.employment import generate_employment
    from hub.generate.energy import generate_energy
    from hub.sustainable import compute_sustainable
    import duckdb
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        generate_energy(out, establishments=n, seed=1)
        generate_employment(out, seed=1)
        generate_arrivals(out, seed=1)
        t_gen = time.perf_counter() - t0
        inputs = {k: out / f"{k}.parquet" for k in ("energy", "employment", "arrivals", "trips")}
        t0 = time.perf_counter()
        con = duckdb.connect()
        for p in inputs.values():
            con.sql(f"SELECT count(*), count(DISTINCT COLUMNS(*)) FROM '{p}'").fetchall()
        t_scan = time.perf_counter() - t0
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            tables = compute_sustainable(inputs)
            times.append(time.perf_counter() - t0)
        rows = {k: v.num_rows for k, v in tables.items()}
        energy_rows = duckdb.sql(f"SELECT count(*) FROM '{inputs['energy']}'").fetchall()[0][0]
    best = min(times)
    print(f"{n} establishments × 24 months ({energy_rows:,} energy rows), 101 départements: all indicators in "
          f"{best:.2f} s (best of 3), baseline scan {t_scan:.2f} s, generation {t_gen:.1f} s")
    print(json.dumps({"benchmark": "sustainable", "quick": args.quick, "establishments": n,
                      "energy_rows": energy_rows, "indicators_s": round(best, 3),
                      "indicators_runs_s": [round(t, 3) for t in times], "baseline_scan_s": round(t_scan, 3),
                      "ratio_to_scan": round(best / t_scan, 1) if t_scan else None, "goal_s": 3.0,
                      "output_rows": rows}))


if __name__ == "__main__":
    main()
