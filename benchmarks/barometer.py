"""Benchmark: the whole campsite barometer for one weekly snapshot (10 M booking-nights; --quick: 1 M).

Baseline measured in the same run: one DuckDB ``SELECT count(*), sum(...)`` scan of the same Parquet file.
Figures: DuckDB barometer (raw indicators, then with disclosure control), and the same on Spark local mode.
The last line printed is one JSON object with the figures.

    .venv/bin/python benchmarks/barometer.py [--quick] [--rows N] [--no-spark] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SNAPSHOT = dt.date(2025, 6, 16)
# Share of season unit-nights by ISO week 14..40 (tourism.md §5.3).
WEEK_SHARE = np.array([0.42, 0.71, 1.21, 1.18, 1.35, 1.46, 1.21, 1.36, 2.63, 2.20, 2.17, 2.56, 3.48, 5.55,
                       6.63, 7.41, 8.15, 8.88, 9.63, 9.70, 8.09, 5.04, 2.91, 2.42, 1.92, 1.43, 0.32])
COUNTRIES = np.array(["FR", "NL", "DE", "GB", "BE", "CH", "IT", "ES", "DK", "US"])
COUNTRY_P = np.array([0.68, 0.10, 0.07, 0.045, 0.045, 0.015, 0.01, 0.008, 0.006, 0.021])
UNIT_TYPES = np.array(["PITCH_BARE", "PITCH_SERVICED", "MOBILHOME", "CHALET", "TENT_EQUIPPED"])


def generate(rows: int, out: Path, seed: int = 7) -> dict[str, Path]:
    """A synthetic weekly export (bookings of seasons 2024 and 2025 at snapshot 2025-06-16, capacity, campsites).

    Vectorised numpy; shapes follow tourism.md §5.3 loosely (weekly seasonality, stays, lead times, countries),
    enough to exercise the barometer at scale, not a calibrated generator.
    """
    from policies import territory

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    deps = np.array([d.code for d in territory.all_departements() if len(d.code) <= 2 or d.code in ("2A", "2B")])
    dep_w = rng.gamma(0.6, 1.0, len(deps))
    n_camp = max(30, rows // 7000)
    camp_dep = rng.choice(deps, n_camp, p=dep_w / dep_w.sum())
    camp_stars = rng.choice(np.array(["1-2", "3", "4-5"]), n_camp, p=[0.3, 0.4, 0.3])
    camp_pid = np.array([f"c_{i:014x}" for i in range(n_camp)])
    size = np.maximum(10, rng.lognormal(np.log(100), 0.6, n_camp)).astype(np.int64)
    popularity = size / size.sum()

    # Bookings: seasons 2024 (complete) and 2025 (only those created by the snapshot).
    mean_nights = 5.8
    n_book = int(rows / mean_nights / 1.18)  # two seasons, the current one partly booked
    year = np.where(rng.random(n_book) < 0.55, 2024, 2025)
    week = 14 + rng.choice(len(WEEK_SHARE), n_book, p=WEEK_SHARE / WEEK_SHARE.sum())
    monday = np.array([np.datetime64(dt.date.fromisocalendar(y, 1, 1)) for y in (2024, 2025)])
    base = np.where(year == 2024, monday[0], monday[1])
    arrival = base + ((week - 1) * 7 + rng.integers(0, 7, n_book)).astype("timedelta64[D]")
    nights = np.clip(rng.choice([1, 2, 3, 4, 5, 6, 7, 7, 7, 10, 14], n_book), 1, 21).astype(np.int64)
    lead = np.minimum(rng.lognormal(np.log(45), 1.0, n_book), 400).astype(np.int64)
    booking = arrival - lead.astype("timedelta64[D]")
    snap = np.datetime64(SNAPSHOT)
    keep = booking <= snap
    arrival, nights, booking, year = arrival[keep], nights[keep], booking[keep], year[keep]
    n_book = len(arrival)
    camp = rng.choice(n_camp, n_book, p=popularity)
    utype = rng.choice(len(UNIT_TYPES), n_book, p=[0.35, 0.25, 0.3, 0.05, 0.05])
    country = rng.choice(len(COUNTRIES), n_book, p=COUNTRY_P / COUNTRY_P.sum())
    adults = rng.choice([1, 2, 2, 2, 3, 4], n_book).astype(np.int8)
    children = rng.choice([0, 0, 1, 2, 3], n_book).astype(np.int8)
    u = rng.random(n_book)
    horizon = (snap - booking).astype(np.int64)
    cancel_after = (rng.random(n_book) * np.maximum(horizon, 1)).astype(np.int64)
    cancel_date = booking + cancel_after.astype("timedelta64[D]")
    cancelled = (u < 0.08) & (cancel_date <= np.minimum(arrival, snap))
    option = (~cancelled) & (u > 0.985) & (arrival > snap)
    status = np.where(cancelled, 2, np.where(option, 1, 0))

    # Expand to one row per booking-night.
    idx = np.repeat(np.arange(n_book), nights)
    offset = np.arange(len(idx)) - np.repeat(np.cumsum(nights) - nights, nights)
    stay = arrival[idx] + offset.astype("timedelta64[D]")
    n = len(idx)

    def dict_arr(indices: np.ndarray, values: np.ndarray) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(values))

    cancel_col = np.where(cancelled, cancel_date, np.datetime64("NaT"))[idx]
    bookings = pa.table({
        "snapshot_date": pa.array(np.full(n, snap), pa.date32()),
        "campsite_pid": dict_arr(camp[idx], camp_pid),
        "dep_code": dict_arr(_codes(camp_dep, deps)[camp[idx]], deps),
        "booking_pid": pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pc.binary_join_element_wise(
            "b_", pa.array(np.arange(n_book)).cast(pa.string()), "")),
        "booking_date": pa.array(booking[idx], pa.date32()),
        "status": dict_arr(status[idx], np.array(["CONFIRMED", "OPTION", "CANCELLED"])),
        "cancel_date": pa.array(cancel_col, pa.date32(), mask=np.isnat(cancel_col)),
        "arrival_date": pa.array(arrival[idx], pa.date32()),
        "departure_date": pa.array((arrival + nights.astype("timedelta64[D]"))[idx], pa.date32()),
        "stay_date": pa.array(stay, pa.date32()),
        "nights": pa.array(nights[idx].astype(np.int16)),
        "unit_type": dict_arr(utype[idx], UNIT_TYPES),
        "adults": pa.array(adults[idx]),
        "children": pa.array(children[idx]),
        "country_code": dict_arr(country[idx], COUNTRIES),
        "residential": pa.array(np.zeros(n, dtype=bool)),
    })
    paths = {"bookings": out / "bookings.parquet", "capacity": out / "capacity.parquet",
             "campsites": out / "campsites.parquet"}
    pq.write_table(bookings, paths["bookings"], compression="zstd", row_group_size=1_000_000)

    # Capacity: campsite × date (1 Apr – 30 Sep, both years) × two unit types, ~40 % season occupancy.
    days_ = np.concatenate([np.arange(np.datetime64("2024-04-01"), np.datetime64("2024-10-01")),
                            np.arange(np.datetime64("2025-04-01"), np.datetime64("2025-10-01"))])
    per_camp_nights = np.bincount(camp, weights=nights, minlength=n_camp) / 2
    units = np.maximum(2, per_camp_nights / (183 * 0.4)).astype(np.int64)
    ci = np.repeat(np.arange(n_camp), len(days_) * 2)
    di = np.tile(np.repeat(np.arange(len(days_)), 2), n_camp)
    ti = np.tile(np.array([0, 2]), n_camp * len(days_))
    avail = np.where(ti == 0, units[ci] * 6 // 10, units[ci] - units[ci] * 6 // 10)
    capacity = pa.table({
        "snapshot_date": pa.array(np.full(len(ci), snap), pa.date32()),
        "campsite_pid": dict_arr(ci, camp_pid),
        "dep_code": pa.array(camp_dep[ci]),
        "date": pa.array(days_[di], pa.date32()),
        "unit_type": dict_arr(ti, UNIT_TYPES),
        "units_available": pa.array(avail.astype(np.int32)),
        "is_open": pa.array(np.ones(len(ci), dtype=bool)),
    })
    pq.write_table(capacity, paths["capacity"], compression="zstd")
    pq.write_table(pa.table({"campsite_pid": camp_pid, "dep_code": camp_dep, "stars_band": camp_stars}),
                   paths["campsites"])
    return paths


def make_export(rows: int, out: Path) -> dict[str, Path]:
    """The project's calibrated generator when present (1,400 campsites ≈ 16.7 M rows for two seasons), else ours."""
    try:
        from hub.generate.campsites import generate_campsites
    except ImportError:
        return generate(rows, out)
    campsites = max(10, round(1400 * rows / 16_700_000))
    res = generate_campsites(out, campsites=campsites, season=2026, seed=1)
    return {k: Path(v) for k, v in res.files.items() if k in ("bookings", "capacity", "campsites")}


def _codes(values: np.ndarray, dictionary: np.ndarray) -> np.ndarray:
    order = np.argsort(dictionary)
    return order[np.searchsorted(dictionary[order], values)]


def _timed(fn):
    t0 = time.perf_counter()
    res = fn()
    return res, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 M rows instead of 10 M")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--no-spark", action="store_true", help="skip the Spark run (default with --quick)")
    ap.add_argument("--spark", action="store_true", help="run Spark even with --quick (takes minutes)")
    ap.add_argument("--keep", type=Path, default=None, help="generate into (and keep) this folder")
    args = ap.parse_args()
    rows = args.rows or (1_000_000 if args.quick else 10_000_000)
    work = args.keep or Path(tempfile.mkdtemp(prefix="barometer-bench-"))
    try:
        paths, t_gen = _timed(lambda: make_export(rows, work))
        n_rows = pq.ParquetFile(paths["bookings"]).metadata.num_rows
        print(f"generated {n_rows:,} booking-nights in {t_gen:.1f} s ({paths['bookings'].stat().st_size/1e6:.0f} MB)")

        import duckdb

        base_sql = (f"SELECT count(*), sum(nights), sum(adults + children) FROM read_parquet('{paths['bookings']}')"
                    f" WHERE status = 'CONFIRMED'")
        duckdb.sql(base_sql).fetchall()  # warm the file cache like the runs below
        _, t_base = _timed(lambda: duckdb.connect().sql(base_sql).fetchall())
        print(f"baseline DuckDB scan: {t_base:.2f} s")

        from hub.indicators import compute_raw, protect_all

        def run(engine: str):
            raw, t_raw = _timed(lambda: compute_raw(paths["bookings"], paths["capacity"], None, engine,
                                                    paths["campsites"]))
            pub, t_prot = _timed(lambda: protect_all(raw[0]))
            cells = sum(t.num_rows for t in pub.values())
            hidden = sum(t.column("status").to_pylist().count("suppressed") for t in pub.values())
            return raw[0], t_raw, t_prot, cells, hidden

        compute_raw(paths["bookings"], paths["capacity"], None, "duckdb", paths["campsites"])  # warm imports
        raw_d, t_d, t_p, cells, hidden = run("duckdb")
        print(f"DuckDB barometer: indicators {t_d:.2f} s + disclosure control {t_p:.2f} s = {t_d + t_p:.2f} s; "
              f"{cells:,} cells, {hidden:,} suppressed")
        figures = {"benchmark": "barometer", "rows": n_rows, "campsites": None,
                   "baseline_duckdb_scan_s": round(t_base, 3), "duckdb_indicators_s": round(t_d, 3),
                   "disclosure_s": round(t_p, 3), "duckdb_total_s": round(t_d + t_p, 3),
                   "ratio_to_baseline": round((t_d + t_p) / t_base, 1), "cells": cells, "suppressed": hidden}
        figures["campsites"] = pq.read_metadata(paths["campsites"]).num_rows
        if args.spark or not (args.no_spark or args.quick):
            try:
                from hub.indicators import spark_session

                _, t_start = _timed(spark_session)
                raw_s, t_s, t_ps, _, _ = run("spark")
                same = all(raw_s[k].equals(raw_d[k]) for k in raw_d)
                print(f"Spark local[2]: session start {t_start:.1f} s, indicators {t_s:.2f} s "
                      f"(+ disclosure {t_ps:.2f} s); identical to DuckDB: {same}")
                figures.update(spark_session_start_s=round(t_start, 2), spark_indicators_s=round(t_s, 3),
                               spark_total_s=round(t_s + t_ps, 3), spark_identical=same)
            except RuntimeError as exc:
                print(f"Spark skipped: {exc}")
                figures["spark_skipped"] = str(exc)
        figures["cpus"] = os.cpu_count()
        print(json.dumps(figures))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
