"""All sustainable-tourism indicator tables for one set of inputs, on DuckDB (default) or Spark.

Inputs are the three providers' files (energy per establishment, employment, arrivals and trips). The energy table
comes from an establishment-level source and goes through disclosure control (≥ 3 establishments, no single one
above 85 %, secondary suppression along France ⊃ région ⊃ département) before anything is derived from it; the
change against the base year is computed from published cells only, so a hidden cell never leaks through it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from hub.disclosure import GEO, Rules, TableSpec, protect
from hub.indicators.engine import InputError, connect, scratch_dir
from hub.sustainable import expressions as ex
from hub.sustainable.catalogue import REQUIRED, TABLES
from policies import territory

__all__ = ["compute_sustainable", "compute_raw", "ENERGY_SPEC", "REQUIRED", "emission_factors", "population_table",
           "Inputs", "check_kinds", "protect_tables", "snapshot_of", "snapshot_id"]

_KEYS = ("period_type", "period_start", "geo_level", "geo_code")

ENERGY_SPEC = TableSpec(
    keys=("period_type", "period_start", "geo_code"), dims=(GEO,),
    measures=("energy_kwh", "water_m3", "nights", "ecolabel_nights"),
    derived=("energy_per_night_kwh", "water_per_night_l", "ecolabel_share_pct"),
    dominance=("energy_kwh", "water_m3", "nights"), units="n_establishments")

Inputs = dict  # {"energy": path, "employment": path, "arrivals": path, "trips": path}


def emission_factors() -> pa.Table:
    """Transport emission factors (kgCO2e per passenger-km) declared as data in hub/reference (indicative)."""
    text = resources.files("hub.reference").joinpath("emission_factors_transport.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return pa.table({"mode_": [r["mode"] for r in rows],
                     "kgco2e_per_passenger_km": [float(r["kgco2e_per_passenger_km"]) for r in rows]})


def population_table() -> pa.Table:
    """INSEE legal population of France, each région and each département, keyed by the tables' geo codes."""
    from hub.sustainable.synthetic import populations
    pop = populations()
    codes: dict[str, int] = {"FR": 0}
    for dep, (reg, n) in pop.items():
        codes["FR"] += n
        codes[f"REG-{reg}"] = codes.get(f"REG-{reg}", 0) + n
        codes[f"DEP-{dep}"] = n
    return pa.table({"geo_code_": list(codes), "population": pa.array(list(codes.values()), pa.int64())})


def _dep_reg() -> pa.Table:
    deps = territory.all_departements()
    return pa.table({"dep_code_": [d.code for d in deps], "reg_code": [d.region for d in deps]})


def _small(con, engine: str, data: pa.Table):
    """A small reference table on the backend (registered as a view on Spark, a memtable on DuckDB)."""
    if engine == "duckdb":
        return ibis.memtable(data)
    name = f"_ref_{uuid.uuid4().hex}"
    con._session.createDataFrame(data.to_pandas()).createOrReplaceTempView(name)
    return con.table(name)


def _read(con, engine: str, kind: str, path: str | Path, tmp: Path):
    path = Path(path)
    if not path.exists():
        raise InputError(f"{kind} file not found: {path}")
    try:
        if path.name.lower().endswith((".csv", ".csv.gz")):
            import duckdb
            target = tmp / f"{kind}.parquet"
            duckdb.sql(f"COPY (SELECT * FROM read_csv('{path}', header=true, types={{'dep_code': 'VARCHAR', "
                       f"'reg_code': 'VARCHAR'}})) TO '{target}' (FORMAT parquet)") if kind in (
                "energy", "employment", "arrivals", "trips") else None
            path = target
        t = con.read_parquet(str(path))
    except Exception as exc:  # the backends raise many types; name the file in one line
        raise InputError(f"cannot read {kind} from {path}: {str(exc).splitlines()[0]}") from exc
    missing = [c for c in REQUIRED[kind] if c not in t.columns]
    if missing:
        raise InputError(f"{kind} input lacks required columns: {', '.join(missing)}")
    return t


def check_kinds(inputs: dict[str, Any]) -> None:
    """The four inputs, no more, no fewer (``InputError`` names what is missing or unknown)."""
    unknown = sorted(set(inputs) - set(REQUIRED))
    absent = sorted(set(REQUIRED) - set(inputs))
    if unknown or absent:
        raise InputError("inputs must be energy, employment, arrivals, trips"
                         + (f"; missing: {', '.join(absent)}" if absent else "")
                         + (f"; unknown: {', '.join(unknown)}" if unknown else ""))


def compute_raw(inputs: dict[str, str | Path], engine: str = "duckdb",
                only: tuple[str, ...] | None = None) -> dict[str, pa.Table]:
    """Every indicator table (or those in ``only``) before disclosure control (energy keeps counts and maxima)."""
    check_kinds(inputs)
    con = connect(engine)
    tmp = scratch_dir()
    try:
        t = {k: _read(con, engine, k, p, tmp) for k, p in inputs.items()}
        dep_reg = _small(con, engine, _dep_reg())
        exprs = {
            "energy": ex.energy_table(t["energy"], dep_reg),
            "arrivals": ex.arrivals_table(t["arrivals"]),
            "employment": ex.employment_table(t["employment"], _small(con, engine, _dep_reg())),
            "transport": ex.transport_table(t["trips"], _small(con, engine, emission_factors())),
            "seasonality": ex.seasonality_table(t["arrivals"]),
            "intensity": ex.intensity_table(t["arrivals"], _small(con, engine, population_table())),
        }
        extra = {"arrivals": ("country_code",), "transport": ("transport_mode",)}
        return {n: _sorted(e.to_pyarrow(), (*_KEYS, *extra.get(n, ()))) for n, e in exprs.items()
                if only is None or n in only}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _sorted(t: pa.Table, keys) -> pa.Table:
    return t.sort_by([(k, "ascending") for k in keys])


def _energy_change(t: pa.Table, base_year: int | None) -> pa.Table:
    """Energy per night of the same period in the base year and the change against it, from published cells."""
    starts = t.column("period_start").to_pylist()
    years = [s.year for s in starts]
    base = base_year if base_year is not None else (min(years) if years else None)
    epn = t.column("energy_per_night_kwh").to_pylist()
    ref: dict[tuple, float | None] = {}
    for ptype, s, geo, v in zip(t.column("period_type").to_pylist(), starts, t.column("geo_code").to_pylist(), epn):
        if s.year == base:
            ref[(ptype, s.month, geo)] = v
    base_vals, change = [], []
    for ptype, s, geo, v in zip(t.column("period_type").to_pylist(), starts, t.column("geo_code").to_pylist(), epn):
        b = ref.get((ptype, s.month, geo))
        base_vals.append(b)
        change.append((v / b - 1.0) * 100.0 if v is not None and b else None)
    t = t.append_column("base_year", pa.array([base] * t.num_rows, pa.int32()))
    t = t.append_column("energy_per_night_base_kwh", pa.array(base_vals, pa.float64()))
    return t.append_column("energy_change_pct", pa.array(change, pa.float64()))


def compute_sustainable(inputs: dict[str, str | Path], engine: str = "duckdb", *, rules: Rules = Rules(),
                        base_year: int | None = None) -> dict[str, pa.Table]:
    """The published sustainable-tourism tables; each names in its metadata the inputs (sha256) it rests on.

    ``base_year``: the reference year of the energy change (default: the earliest year in the energy input).
    """
    return protect_tables(compute_raw(inputs, engine), snapshot_of(inputs)["id"], engine, rules=rules,
                          base_year=base_year)


def protect_tables(raw: dict[str, pa.Table], snapshot: str, engine: str, *, rules: Rules = Rules(),
                   base_year: int | None = None) -> dict[str, pa.Table]:
    """The published tables from :func:`compute_raw`'s: disclosure control on the energy table, then its change
    against the base year from published cells; every table named with its snapshot and engine."""
    raw = dict(raw)
    raw["energy"] = _energy_change(protect(raw["energy"], ENERGY_SPEC, rules).table, base_year)
    meta = {"engine": engine, "snapshot": snapshot, "synthetic_inputs": "see inputs' MANIFEST"}
    return {name: raw[name].replace_schema_metadata({**meta, "table": name}) for name in TABLES}


def snapshot_of(inputs: dict[str, str | Path]) -> dict[str, Any]:
    """The snapshot the indicators rest on: each input file's sha256 and a short id over all of them."""
    from hub.collection.atomic import sha256_file
    files = {k: {"path": str(Path(p).resolve()), "sha256": sha256_file(Path(p))} for k, p in sorted(inputs.items())}
    return {"id": snapshot_id(files), "inputs": files,
            "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def snapshot_id(files: dict[str, dict[str, Any]]) -> str:
    """The short id of a set of inputs, from each input kind's sha256 (``{kind: {"sha256": …}}``)."""
    return hashlib.sha256("".join(f"{k}:{files[k]['sha256']}" for k in sorted(files)).encode()).hexdigest()[:16]


def suppressed_count(t: pa.Table) -> int:
    if "status" not in t.column_names:
        return 0
    return int(pc.sum(pc.equal(t.column("status"), "suppressed")).as_py() or 0)
