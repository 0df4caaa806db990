"""Generator benchmark: time for ``generate_campsites`` to write N booking-night rows (Parquet, plus capacity and
the dimension), against numpy drawing the same number of uniform random columns (the floor for any generator).

Goal: 10 M rows in under 2 minutes. Usage: ``benchmarks/generate.py [--quick] [--rows N]``; last line is JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.generate import generate_campsites  # noqa: E402
from hub.schemas import load_schema  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 M rows")
    ap.add_argument("--rows", type=int, default=None)
    a = ap.parse_args()
    rows = a.rows or (1_000_000 if a.quick else 10_000_000)
    ncols = len(load_schema("campsite-bookings").fields)

    t = time.perf_counter()
    rng = np.random.default_rng(0)
    cols = [rng.random(rows) for _ in range(ncols)]
    baseline = time.perf_counter() - t
    del cols

    # seasons N-1 and N, snapshot after N: ~14 k booking-night rows per campsite
    campsites = max(5, rows // 12_000)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = generate_campsites(tmp, campsites=campsites, season=2026, snapshot=dt.date(2026, 11, 2), seed=1,
                                 max_rows=rows)
        took = time.perf_counter() - t
        size = Path(res.files["bookings"]).stat().st_size
    got = res.rows["bookings"]
    print(f"numpy {ncols} uniform columns x {rows:,}: {baseline:.2f} s")
    print(f"generate_campsites: {got:,} booking rows ({campsites} campsites, {size / 1e6:.0f} MB Parquet) + "
          f"{res.rows['capacity']:,} capacity rows in {took:.2f} s ({took / baseline:.1f} x numpy)")
    print(json.dumps({"benchmark": "generate", "rows": got, "campsites": campsites, "seconds": round(took, 2),
                      "numpy_uniform_s": round(baseline, 2), "ratio_vs_numpy": round(took / baseline, 1),
                      "rows_per_s": round(got / took), "parquet_bytes": size, "goal_under_120s": took < 120}))


if __name__ == "__main__":
    main()
