"""Synthetic visitor statistics (SYNTHETIC): arrivals and nights by country of residence × région × month, and
trips by transport mode × distance band × région × month.

Calibration (tourism.md §3.2): about 100 M international arrivals a year (2023), residents about 1.6 times as
many arrivals in tourist accommodation; nights per arrival ≈ 2.4 (non-residents) and 2.1 (residents); July and
August carry about a third of the year. Trips: car about two thirds, train ~15 %, plane ~10 % (mostly long
distances), coach and others the rest.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.sustainable.synthetic import GeneratedFiles, departement_weights, populations, write_table

__all__ = ["generate_arrivals", "ARRIVAL_COLUMNS", "TRIP_COLUMNS", "COUNTRIES", "MODES", "DISTANCE_BANDS"]

ARRIVAL_COLUMNS = ("month", "reg_code", "country_code", "arrivals", "nights")
TRIP_COLUMNS = ("month", "reg_code", "transport_mode", "distance_band", "trips", "distance_km", "nights")
INTERNATIONAL_PER_YEAR = 100_000_000
RESIDENT_FACTOR = 1.6
COUNTRIES = {"GB": 0.13, "DE": 0.13, "BE": 0.12, "CH": 0.07, "IT": 0.07, "ES": 0.07, "NL": 0.06, "US": 0.05,
             "CN": 0.02, "XX": 0.28}  # XX: other countries
_MONTHS = np.array([0.05, 0.05, 0.06, 0.08, 0.09, 0.10, 0.16, 0.17, 0.09, 0.07, 0.04, 0.04])
MODES = {"car": 0.66, "train": 0.15, "plane": 0.10, "coach": 0.05, "other": 0.04}
# band → (low km, high km, share of trips by mode)
DISTANCE_BANDS = {
    "0-99": (20, 99, {"car": 0.35, "train": 0.15, "plane": 0.0, "coach": 0.25, "other": 0.5}),
    "100-499": (100, 499, {"car": 0.45, "train": 0.45, "plane": 0.05, "coach": 0.5, "other": 0.4}),
    "500-999": (500, 999, {"car": 0.17, "train": 0.35, "plane": 0.35, "coach": 0.2, "other": 0.1}),
    "1000+": (1000, 6000, {"car": 0.03, "train": 0.05, "plane": 0.6, "coach": 0.05, "other": 0.0}),
}


def generate_arrivals(out_dir: str | Path, *, years: tuple[int, ...] = (2024, 2025), seed: int = 0,
                      fmt: str = "parquet", scale: float = 1.0) -> GeneratedFiles:
    """Write ``arrivals.<fmt>`` and ``trips.<fmt>`` for every région × month of ``years``."""
    rng = np.random.default_rng(seed)
    pop = populations()
    deps, w = departement_weights()
    regions: dict[str, float] = {}
    for d, wd in zip(deps, w):
        regions[pop[d][0]] = regions.get(pop[d][0], 0.0) + float(wd)
    regs = sorted(regions)
    a: dict[str, list] = {c: [] for c in ARRIVAL_COLUMNS}
    t: dict[str, list] = {c: [] for c in TRIP_COLUMNS}
    for year in years:
        growth = 1.03 ** (year - years[0])
        for m in range(1, 13):
            month = dt.date(year, m, 1)
            for reg in regs:
                share = regions[reg] * _MONTHS[m - 1] * growth * scale
                foreign = INTERNATIONAL_PER_YEAR * share
                for country, cs in {"FR": None, **COUNTRIES}.items():
                    n = foreign * RESIDENT_FACTOR if cs is None else foreign * cs
                    n = int(round(n * rng.normal(1.0, 0.05)))
                    a["month"].append(month)
                    a["reg_code"].append(reg)
                    a["country_code"].append(country)
                    a["arrivals"].append(n)
                    a["nights"].append(int(round(n * (2.1 if cs is None else 2.4) * rng.normal(1.0, 0.03))))
                trips = foreign * (1 + RESIDENT_FACTOR)
                for mode, ms in MODES.items():
                    total_band = sum(b[2][mode] for b in DISTANCE_BANDS.values())
                    for band, (lo, hi, by_mode) in DISTANCE_BANDS.items():
                        if by_mode[mode] == 0:
                            continue
                        n = int(round(trips * ms * by_mode[mode] / total_band * rng.normal(1.0, 0.05)))
                        mean_km = (lo + min(hi, 2500)) / 2
                        t["month"].append(month)
                        t["reg_code"].append(reg)
                        t["transport_mode"].append(mode)
                        t["distance_band"].append(band)
                        t["trips"].append(n)
                        t["distance_km"].append(round(n * mean_km * 2 * rng.normal(1.0, 0.03), 1))  # return trip
                        t["nights"].append(int(round(n * 2.2 * rng.normal(1.0, 0.03))))
    arrivals = pa.table({"month": pa.array(a["month"], pa.date32()), "reg_code": pa.array(a["reg_code"]),
                         "country_code": pa.array(a["country_code"]),
                         "arrivals": pa.array(a["arrivals"], pa.int64()), "nights": pa.array(a["nights"], pa.int64())})
    trips_t = pa.table({"month": pa.array(t["month"], pa.date32()), "reg_code": pa.array(t["reg_code"]),
                        "transport_mode": pa.array(t["transport_mode"]), "distance_band": pa.array(t["distance_band"]),
                        "trips": pa.array(t["trips"], pa.int64()),
                        "distance_km": pa.array(t["distance_km"], pa.float64()),
                        "nights": pa.array(t["nights"], pa.int64())})
    return write_table(Path(out_dir), "arrivals", arrivals, fmt,
                       schemas={"arrivals": "visitor-arrivals", "trips": "visitor-trips"},
                       params={"years": list(years), "seed": seed, "scale": scale}, extra={"trips": trips_t})
