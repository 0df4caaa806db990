"""A small hand-made set of the three providers' files; every expected value is worked out by hand in
test_values.py from the rows written here.

Energy, July 2025 (and July 2024 with every kWh × 1.25): Hérault (DEP-34, Occitanie) 3 establishments, Gard
(DEP-30, Occitanie) 1, Finistère (DEP-29, Bretagne) 3.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

D = dt.date
ENERGY_2025 = [  # pid, dep, ecolabel, kWh, m³, nights
    ("e1", "34", True, 1000.0, 30.0, 100), ("e2", "34", False, 2000.0, 40.0, 200),
    ("e3", "34", False, 3000.0, 50.0, 300), ("e4", "30", False, 500.0, 10.0, 50),
    ("e5", "29", True, 800.0, 20.0, 100), ("e6", "29", False, 900.0, 25.0, 100),
    ("e7", "29", False, 1000.0, 30.0, 100),
]
EMPLOYMENT = {"34": ([100, 120, 200, 80], 1000), "30": ([50, 50, 50, 50], 500)}  # jobs by quarter, total


def hand_made(out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for year, k in ((2024, 1.25), (2025, 1.0)):
        for pid, dep, eco, kwh, m3, n in ENERGY_2025:
            rows.append(dict(month=D(year, 7, 1), establishment_pid=pid, dep_code=dep, accommodation_type="HOTEL",
                             ecolabel=eco, energy_kwh=kwh * k, water_m3=m3, nights=n))
    pq.write_table(pa.Table.from_pylist(rows), out / "energy.parquet")
    rows = []
    for dep, (jobs, total) in EMPLOYMENT.items():
        for q, j in enumerate(jobs):
            rows.append(dict(quarter_start=D(2025, 3 * q + 1, 1), dep_code=dep, jobs_accommodation_food=j,
                             jobs_total=total))
    pq.write_table(pa.Table.from_pylist(rows), out / "employment.parquet")
    rows = []
    for m in range(1, 13):
        de = {7: 40, 8: 50}.get(m, 10)
        rows.append(dict(month=D(2025, m, 1), reg_code="76", country_code="FR", arrivals=100, nights=200))
        rows.append(dict(month=D(2025, m, 1), reg_code="76", country_code="DE", arrivals=de, nights=2 * de))
        rows.append(dict(month=D(2025, m, 1), reg_code="53", country_code="DE", arrivals=5, nights=10))
        if m == 7:
            rows.append(dict(month=D(2025, m, 1), reg_code="76", country_code="GB", arrivals=30, nights=60))
    pq.write_table(pa.Table.from_pylist(rows), out / "arrivals.parquet")
    rows = [dict(month=D(2025, 7, 1), reg_code="76", transport_mode="car", distance_band="100-499", trips=10,
                 distance_km=2000.0, nights=30),
            dict(month=D(2025, 7, 1), reg_code="76", transport_mode="plane", distance_band="1000+", trips=2,
                 distance_km=3000.0, nights=10)]
    pq.write_table(pa.Table.from_pylist(rows), out / "trips.parquet")
    return {k: out / f"{k}.parquet" for k in ("energy", "employment", "arrivals", "trips")}


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return hand_made(tmp_path_factory.mktemp("sustainable-small"))


@pytest.fixture(scope="session")
def tables(small: dict[str, Path]):
    from hub.sustainable import compute_sustainable
    return compute_sustainable(small)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small calibrated set from the generators (400 establishments, one year plus the base year)."""
    from hub.generate.arrivals import generate_arrivals
    from hub.generate.employment import generate_employment
    from hub.generate.energy import generate_energy
    out = tmp_path_factory.mktemp("sustainable-generated")
    generate_energy(out, establishments=400, seed=2)
    generate_employment(out, seed=2)
    generate_arrivals(out, seed=2)
    return {k: out / f"{k}.parquet" for k in ("energy", "employment", "arrivals", "trips")}
