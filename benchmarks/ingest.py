"""Ingest benchmark: a weekly booking CSV validated, pseudonymised and written as Parquet by hub.collection,
against DuckDB scanning the same CSV (``SELECT count(*), sum(nights)``) and pandas doing the same steps.

Each contender runs in its own process; time is measured inside it after imports, peak RSS by the parent
(``os.wait4``). DuckDB and the pipeline run in turn for several rounds (``--rounds``, 3 by default): on a shared
machine one run of either can be 1.5 × slower than the next, so the ratio is that of the two medians, and every
round's figures are printed. Goal: pipeline ≤ 3 × DuckDB, peak RSS < 1 GB.
Usage: ``benchmarks/ingest.py [--quick] [--rows N] [--rounds N]``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = bytes(range(32))


def make_csv(rows: int, work: Path) -> Path:
    path = work / f"bookings-{rows}.csv"
    if path.exists():
        return path
    from hub.generate import generate_campsites

    out = work / f"gen-{rows}"
    # ~14k booking-night rows per campsite over seasons N and N-1 (snapshot after season N)
    generate_campsites(out, campsites=max(5, rows // 12_000), season=2026, snapshot=dt.date(2026, 11, 2), seed=7,
                       fmt="csv", max_rows=rows)
    (out / "bookings.csv").rename(path)
    return path


def run_duckdb(csv: Path) -> dict:
    import duckdb

    t = time.perf_counter()
    con = duckdb.connect()
    n, s = con.sql(f"SELECT count(*), sum(nights) FROM read_csv('{csv}', types={{'dep_code': 'VARCHAR'}})").fetchall()[0]
    return {"seconds": time.perf_counter() - t, "rows": n, "sum_nights": int(s)}


def run_pipeline(csv: Path, out: Path) -> dict:
    from hub.collection import Limits, ingest
    from hub.collection.threads import WORKERS
    from hub.collection.validate import _codelist

    _codelist("insee:departement")   # the process's one-time set-up (pyarrow's pandas import), like the imports
    t = time.perf_counter()
    r = ingest(csv, "campsite-bookings", out / "out", out / "quarantine", KEY, 1)
    assert r.ok, r.message
    return {"seconds": time.perf_counter() - t, "rows": r.rows, "output_bytes": r.output_bytes,
            "distinct": r.pseudonyms, "workers": WORKERS, "block_bytes": Limits().csv_block_bytes}


def run_pandas(csv: Path, out: Path) -> dict:
    """The same steps as an analyst would write them with pandas (reference only)."""
    import base64
    import hmac

    import pandas as pd

    from policies.territory import all_departements

    t = time.perf_counter()
    dates = ["snapshot_date", "booking_date", "cancel_date", "arrival_date", "departure_date", "stay_date"]
    df = pd.read_csv(csv, dtype={"dep_code": str, "campsite_pid": str, "booking_pid": str}, parse_dates=dates)
    bad = 0
    bad += (~df["status"].isin(["CONFIRMED", "OPTION", "CANCELLED"])).sum()
    bad += (~df["dep_code"].isin([d.code for d in all_departements()])).sum()
    bad += ((df["departure_date"] - df["arrival_date"]).dt.days != df["nights"]).sum()
    bad += ((df["stay_date"] < df["arrival_date"]) | (df["stay_date"] >= df["departure_date"])).sum()
    bad += df.duplicated(["booking_pid", "stay_date"]).sum()
    assert bad == 0
    for col, ns in (("campsite_pid", b"campsite"), ("booking_pid", b"booking")):
        uniq = df[col].unique()
        m = {v: base64.b32encode(hmac.digest(KEY, ns + b"\x1f" + v.encode(), "sha256")).decode()[:26] for v in uniq}
        df[col] = df[col].map(m)
    df.to_parquet(out / "pandas.parquet", compression="zstd")
    return {"seconds": time.perf_counter() - t, "rows": len(df)}


def child(kind: str, csv: Path, out: Path) -> dict:
    """Run one contender in a fresh process; returns its figures plus peak RSS."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, str(csv), str(out)], stdout=subprocess.PIPE,
                            cwd=ROOT)
    started = time.perf_counter()
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{kind} failed with status {status}")
    res = json.loads(stdout.decode().strip().splitlines()[-1])
    res["wall_seconds"] = wall
    res["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    res["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # robust to other load on a shared machine
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 M rows")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=3, help="DuckDB and the pipeline in turn, this many times")
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--work", default=None, help="directory for the generated CSV (kept between runs)")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "CSV", "OUT"))
    a = ap.parse_args()
    if a.child:
        kind, csv, out = a.child
        sys.path.insert(0, str(ROOT))
        fn = {"duckdb": lambda: run_duckdb(Path(csv)), "pipeline": lambda: run_pipeline(Path(csv), Path(out)),
              "pandas": lambda: run_pandas(Path(csv), Path(out))}[kind]
        print(json.dumps(fn()))
        return
    rows = a.rows or (1_000_000 if a.quick else 10_000_000)
    work = Path(a.work or Path(tempfile.gettempdir()) / "passerelle-bench")
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    csv = make_csv(rows, work)
    print(f"CSV: {csv} ({csv.stat().st_size / 1e6:.0f} MB, prepared in {time.perf_counter() - t:.1f} s)")
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        out = Path(tmp)
        ducks, pipes = [], []
        for r in range(max(1, a.rounds)):
            duck = child("duckdb", csv, out)
            pipe = child("pipeline", csv, out)
            ducks.append(duck)
            pipes.append(pipe)
            print(f"round {r + 1}: duckdb count/sum {duck['seconds']:6.2f} s {duck['peak_rss_mb']:5.0f} MB "
                  f"cpu {duck['cpu_seconds']:5.2f} s | pipeline {pipe['seconds']:6.2f} s {pipe['peak_rss_mb']:5.0f} MB "
                  f"cpu {pipe['cpu_seconds']:5.2f} s | {pipe['seconds'] / duck['seconds']:.2f} x", flush=True)
        duck_s = statistics.median(d["seconds"] for d in ducks)
        pipe_s = statistics.median(p["seconds"] for p in pipes)
        print(f"median:  duckdb {duck_s:.2f} s, pipeline {pipe_s:.2f} s: {pipe_s / duck_s:.2f} x duckdb")
        pand = None
        if not a.no_pandas:
            pand = child("pandas", csv, out)
            print(f"pandas   same steps      {pand['seconds']:6.2f} s  {pand['peak_rss_mb']:6.0f} MB  "
                  f"cpu {pand['cpu_seconds']:.2f} s")
    assert all(p["rows"] == d["rows"] == rows for p, d in zip(pipes, ducks)), (pipe["rows"], duck["rows"], rows)
    rss = max(p["peak_rss_mb"] for p in pipes)
    figures = {"benchmark": "ingest", "rows": rows, "csv_bytes": csv.stat().st_size, "cores": os.cpu_count(),
               "pipeline_workers": pipe["workers"], "pipeline_block_bytes": pipe["block_bytes"],
               "rounds": len(pipes), "duckdb_s": round(duck_s, 3),
               "duckdb_s_rounds": [round(d["seconds"], 3) for d in ducks],
               "duckdb_rss_mb": round(max(d["peak_rss_mb"] for d in ducks)),
               "duckdb_cpu_s": round(statistics.median(d["cpu_seconds"] for d in ducks), 2),
               "pipeline_cpu_s": round(statistics.median(p["cpu_seconds"] for p in pipes), 2),
               "load_average_1m": round(os.getloadavg()[0], 2),
               "pipeline_s": round(pipe_s, 3), "pipeline_s_rounds": [round(p["seconds"], 3) for p in pipes],
               "pipeline_wall_s": round(statistics.median(p["wall_seconds"] for p in pipes), 3),
               "pipeline_rss_mb": round(rss), "pipeline_output_bytes": pipe["output_bytes"],
               "ratio_vs_duckdb": round(pipe_s / duck_s, 2),
               "ratio_rounds": [round(p["seconds"] / d["seconds"], 2) for p, d in zip(pipes, ducks)],
               "goal_ratio_le_3": pipe_s <= 3 * duck_s, "goal_rss_lt_1gb": rss < 1000}
    if pand:
        figures.update({"pandas_s": round(pand["seconds"], 3), "pandas_rss_mb": round(pand["peak_rss_mb"]),
                        "pandas_cpu_s": round(pand["cpu_seconds"], 2)})
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
