"""Synthetic monthly energy, water and nights per accommodation establishment (SYNTHETIC, for demos and tests).

Calibration (tourism.md §3.2): energy per night ≈ 26 kWh in hotels (ADEME ≈ 240 kWh/m²/yr with ~40 m² per room,
~60 % occupancy, 1.7 persons per room), ≈ 3–4 kWh per person-night in campsites (5–15 kWh per pitch-night, about 3
persons), in between for tourist residences; water ≈ 300 L per night in hotels, 100–200 L in campsites. The current
year uses about 4 % less energy per night than the base year. About 12 % of establishments hold an ecolabel.
Establishments are spread over départements in proportion to population with a tourism weight; identifiers are
pseudonyms (``e`` + a hash), never names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.sustainable.synthetic import GeneratedFiles, departement_weights, write_table

__all__ = ["generate_energy", "ENERGY_COLUMNS", "TYPES"]

# type → (share of establishments, kWh per night, litres per night, mean nights per month at peak)
TYPES = {
    "HOTEL": (0.55, 26.0, 300.0, 1500),
    "CAMPING": (0.25, 3.5, 150.0, 2500),
    "RESIDENCE": (0.12, 15.0, 220.0, 1800),
    "AUTRE": (0.08, 12.0, 180.0, 600),
}
# relative nights by calendar month (peak in July–August), hotels flatter than campsites
_SEASON = {
    "HOTEL": [0.55, 0.6, 0.7, 0.8, 0.85, 0.9, 1.0, 1.0, 0.85, 0.75, 0.6, 0.6],
    "CAMPING": [0.0, 0.0, 0.05, 0.25, 0.4, 0.65, 1.0, 1.0, 0.45, 0.1, 0.0, 0.0],
    "RESIDENCE": [0.5, 0.6, 0.5, 0.5, 0.6, 0.75, 1.0, 1.0, 0.6, 0.45, 0.35, 0.5],
    "AUTRE": [0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 1.0, 1.0, 0.7, 0.55, 0.4, 0.45],
}
ENERGY_COLUMNS = ("month", "establishment_pid", "dep_code", "accommodation_type", "ecolabel", "energy_kwh",
                  "water_m3", "nights")
BASE_YEAR_GAIN = 0.04


def _pid(seed: int, i: int) -> str:
    return "e" + hashlib.sha256(f"energy:{seed}:{i}".encode()).hexdigest()[:16]


def generate_energy(out_dir: str | Path, *, establishments: int = 2000, years: tuple[int, ...] = (2024, 2025),
                    seed: int = 0, fmt: str = "parquet", departements: list[str] | None = None) -> GeneratedFiles:
    """Write ``energy.<fmt>``: one row per establishment × month of ``years`` (the first is the base year)."""
    if establishments < 1:
        raise ValueError("establishments must be ≥ 1")
    rng = np.random.default_rng(seed)
    deps, weights = departement_weights(departements)
    dep_of = rng.choice(len(deps), size=establishments, p=weights)
    types = list(TYPES)
    type_of = rng.choice(len(types), size=establishments, p=[TYPES[t][0] for t in types])
    size = rng.lognormal(0.0, 0.6, establishments)  # establishment size factor
    eco = rng.random(establishments) < 0.12
    efficiency = rng.normal(1.0, 0.15, establishments).clip(0.5, 1.6) * np.where(eco, 0.85, 1.0)
    cols: dict[str, list] = {c: [] for c in ENERGY_COLUMNS}
    first = years[0]
    pids = [_pid(seed, i) for i in range(establishments)]
    dep_names = [deps[d] for d in dep_of]
    type_names = [types[t] for t in type_of]
    season_by_type = np.array([_SEASON[t] for t in types])  # type × month
    peak = np.array([TYPES[t][3] for t in types])[type_of]
    kwh_type = np.array([TYPES[t][1] for t in types])[type_of]
    l_n = np.array([TYPES[t][2] for t in types])[type_of] * efficiency
    for year in years:
        gain = (1 - BASE_YEAR_GAIN) ** (year - first)
        for m in range(1, 13):
            month = dt.date(year, m, 1)
            season = season_by_type[type_of, m - 1]
            nights = np.round(peak * size * season * rng.normal(1.0, 0.08, establishments).clip(0.6, 1.4))
            nights = nights.astype(np.int64)
            kwh_n = kwh_type * efficiency * gain
            # a closed establishment still uses some energy (frost protection, standby)
            base_load = 0.03 * peak * size * kwh_n
            energy = np.round(nights * kwh_n * rng.normal(1.0, 0.05, establishments) + base_load, 1)
            water = np.round(nights * l_n / 1000.0 * rng.normal(1.0, 0.05, establishments), 2)
            cols["month"] += [month] * establishments
            cols["establishment_pid"] += pids
            cols["dep_code"] += dep_names
            cols["accommodation_type"] += type_names
            cols["ecolabel"] += eco.tolist()
            cols["energy_kwh"] += energy.tolist()
            cols["water_m3"] += water.clip(0).tolist()
            cols["nights"] += nights.tolist()
    table = pa.table({
        "month": pa.array(cols["month"], pa.date32()),
        "establishment_pid": pa.array(cols["establishment_pid"], pa.string()),
        "dep_code": pa.array(cols["dep_code"], pa.string()),
        "accommodation_type": pa.array(cols["accommodation_type"], pa.string()),
        "ecolabel": pa.array(cols["ecolabel"], pa.bool_()),
        "energy_kwh": pa.array(cols["energy_kwh"], pa.float64()),
        "water_m3": pa.array(cols["water_m3"], pa.float64()),
        "nights": pa.array(cols["nights"], pa.int64()),
    })
    return write_table(Path(out_dir), "energy", table, fmt, schemas={"energy": "accommodation-energy"},
                       params={"establishments": establishments, "years": list(years), "seed": seed,
                               "base_year": first})
