"""Synthetic salaried jobs in accommodation and food services (NAF 55–56) by département × quarter (SYNTHETIC).

Calibration (tourism.md §3.2): about 1.1 M salaried jobs in tourism-characteristic industries (2013), tourism ≈ 4 %
of total employment; total salaried employment ≈ 38 % of the population. Tourist départements get a larger share
and a stronger summer peak (Q3), which gives the seasonal share its spread.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.sustainable.synthetic import GeneratedFiles, departement_weights, populations, write_table

__all__ = ["generate_employment", "EMPLOYMENT_COLUMNS"]

EMPLOYMENT_COLUMNS = ("quarter_start", "dep_code", "jobs_accommodation_food", "jobs_total")
NATIONAL_TOURISM_JOBS = 1_100_000
EMPLOYMENT_RATE = 0.38


def generate_employment(out_dir: str | Path, *, years: tuple[int, ...] = (2024, 2025), seed: int = 0,
                        fmt: str = "parquet") -> GeneratedFiles:
    """Write ``employment.<fmt>``: one row per département × quarter of ``years``."""
    rng = np.random.default_rng(seed)
    pop = populations()
    deps, w = departement_weights()
    base = w * NATIONAL_TOURISM_JOBS
    touristic = w / (np.array([pop[d][1] for d in deps]) / sum(pop[d][1] for d in deps))  # > 1: more tourism
    rows: dict[str, list] = {c: [] for c in EMPLOYMENT_COLUMNS}
    for year in years:
        growth = 1.01 ** (year - years[0])
        for q in range(4):
            summer = 0.18 * (touristic.clip(0.5, 4.0) - 0.5) if q == 2 else (
                0.04 * touristic.clip(0.5, 4.0) if q == 1 else np.zeros(len(deps)))
            jobs = np.round(base * growth * (1 + summer) * rng.normal(1.0, 0.02, len(deps))).astype(np.int64)
            total = np.round(np.array([pop[d][1] for d in deps]) * EMPLOYMENT_RATE * growth
                             * rng.normal(1.0, 0.01, len(deps))).astype(np.int64) + jobs
            rows["quarter_start"] += [dt.date(year, 3 * q + 1, 1)] * len(deps)
            rows["dep_code"] += deps
            rows["jobs_accommodation_food"] += jobs.tolist()
            rows["jobs_total"] += total.tolist()
    table = pa.table({"quarter_start": pa.array(rows["quarter_start"], pa.date32()),
                      "dep_code": pa.array(rows["dep_code"], pa.string()),
                      "jobs_accommodation_food": pa.array(rows["jobs_accommodation_food"], pa.int64()),
                      "jobs_total": pa.array(rows["jobs_total"], pa.int64())})
    return write_table(Path(out_dir), "employment", table, fmt, schemas={"employment": "tourism-employment"},
                       params={"years": list(years), "seed": seed})
