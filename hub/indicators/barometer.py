"""The campsite barometer: every indicator table for one snapshot, disclosure-controlled, on DuckDB or Spark."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from hub.disclosure import GEO, STARS, UNIT, Dimension, Rules, TableSpec, protect
from hub.disclosure.rules import LINKED
from hub.indicators import expressions as ex
from hub.indicators.columns import ALL, BOOKING_REQUIRED, CAMPSITE_REQUIRED, CAPACITY_REQUIRED
from hub.indicators.engine import InputError, connect, materialise, read_table, require_columns, scratch_dir
from policies import territory

TABLES = ("weekly", "pace", "country_mix", "lead_time", "cancellations")

_CELL = ("week_start", "geo_code", "unit_group", "stars_band")

SPECS: dict[str, TableSpec] = {
    "weekly": TableSpec(
        keys=_CELL, dims=(GEO, UNIT, STARS),
        measures=("unit_nights", "capacity", "unit_nights_prev_week", "person_nights", "foreign_person_nights",
                  "arrivals", "arrival_nights", "arrival_persons"),
        derived=("occupancy_rate", "pickup_unit_nights", "persons_per_unit", "foreign_share", "avg_length_of_stay",
                 "avg_lead_time_days"),
        dominance=("capacity", "unit_nights", "person_nights"), private=("lead_days", "bookings_present")),
    "pace": TableSpec(
        keys=_CELL, dims=(GEO, UNIT, STARS),
        measures=("unit_nights", "capacity", "unit_nights_ly", "capacity_ly"),
        derived=("occupancy_otb", "occupancy_otb_ly", "pace_points", "pace_pct"),
        dominance=("capacity", "unit_nights", "unit_nights_ly"), units="panel_campsites"),
    "country_mix": TableSpec(
        keys=(*_CELL, "country_code"),
        dims=(GEO, Dimension("country_code", lambda c: None if c == "FOREIGN" else "FOREIGN")),
        measures=("person_nights",), derived=("share_of_person_nights", "share_of_foreign"),
        dominance=("person_nights",), persons="bookings_present", private=("bookings_present",)),
    "lead_time": TableSpec(
        keys=(*_CELL, "lead_bucket"),
        dims=(GEO, UNIT, Dimension("lead_bucket", lambda b: None if b == ALL else ALL)),
        measures=("arrivals",), derived=("share",), dominance=("arrivals",), persons="arrivals"),
    "cancellations": TableSpec(
        keys=_CELL, dims=(GEO, UNIT),
        measures=("bookings_created", "bookings_cancelled"), derived=("cancellation_rate",),
        dominance=("bookings_created",), persons="bookings_created"),
}

# Breakdown tables whose total row repeats a weekly-table value: the total's value in their extra dimension.
_LINKED = {"country_mix": "FOREIGN", "lead_time": ALL}


def _dep_reg(con, engine: str):
    """The INSEE département → région table, registered on the backend (Spark does not see memtables in caches)."""
    deps = territory.all_departements()
    data = pa.table({"dep_code_": [d.code for d in deps], "reg_code": [d.region for d in deps]})
    if engine == "duckdb":
        return ibis.memtable(data)
    name = f"_dep_reg_{uuid.uuid4().hex}"
    con._session.createDataFrame(data.to_pylist()).createOrReplaceTempView(name)
    return con.table(name)


def _select_snapshot(t, date_col: str, snapshot: dt.date | None):
    """Rows of the snapshot in force: per ISO season, the latest snapshot taken on or before ``snapshot``.

    One export usually carries both seasons in one snapshot; when several snapshots are given (weekly files put
    together, or last season's file apart), each season is read from its most recent snapshot.
    """
    snaps = sorted(d for d in t.select("snapshot_date").distinct().to_pyarrow().column(0).to_pylist() if d)
    if not snaps:
        raise InputError("input has no snapshot_date values")
    if snapshot is None:
        snapshot = snaps[-1]
    usable = [s for s in snaps if s <= snapshot]
    if not usable:
        raise InputError(f"no snapshot on or before {snapshot} (first is {snaps[0]})")
    if len(snaps) == 1:
        return t, snapshot
    if len(usable) == 1:
        return t.filter(t.snapshot_date == usable[0]), snapshot
    monday = ex.week_start(t[date_col].cast("date"))
    season = (monday + ex.days(3)).year()
    pairs = t.group_by(snapshot_date=t.snapshot_date, season=season).aggregate(n=t.count()).to_pyarrow()
    best: dict[int, dt.date] = {}
    for s, y in zip(pairs.column("snapshot_date").to_pylist(), pairs.column("season").to_pylist()):
        if s <= snapshot and (y not in best or s > best[y]):
            best[y] = s
    cond = None
    for y, s in best.items():
        c = (t.snapshot_date == s) & (season == y)
        cond = c if cond is None else cond | c
    return t.filter(cond), snapshot


def build_expressions(b, c, stars, snapshot: dt.date, cl, dep_reg) -> dict:
    """The ibis expressions of every table (unexecuted), for one backend's tables.

    ``cl``: the campsite-level table already materialised (the backends cache it; it feeds four tables).
    """
    b = ex.prepare_bookings(b)
    return {
        "weekly": ex.weekly_table(cl, snapshot),
        "pace": ex.pace_table(cl, snapshot),
        "country_mix": ex.country_table(b, snapshot, dep_reg, stars),
        "lead_time": ex.lead_time_table(cl),
        "cancellations": ex.cancellation_table(b, snapshot, dep_reg, stars),
    }


def compute_raw(bookings: str | Path, capacity: str | Path, snapshot: dt.date | None = None,
                engine: str = "duckdb", campsites: str | Path | None = None) -> tuple[dict[str, pa.Table], dt.date]:
    """Every indicator table before disclosure control (with the per-cell campsite counts and maxima)."""
    con = connect(engine)
    tmp = scratch_dir()
    try:
        b = read_table(con, engine, bookings, "bookings", tmp)
        c = read_table(con, engine, capacity, "capacity", tmp)
        require_columns(b, BOOKING_REQUIRED, "bookings")
        require_columns(c, CAPACITY_REQUIRED, "capacity")
        stars = None
        if campsites is not None:
            s = read_table(con, engine, campsites, "campsites", tmp)
            require_columns(s, CAMPSITE_REQUIRED, "campsites")
            stars = s.select(campsite_pid_=s.campsite_pid.cast("string"),
                             stars_band=s.stars_band.cast("string")).distinct()
        b, snap = _select_snapshot(b, "stay_date", snapshot)
        c, _ = _select_snapshot(c, "date", snap)
        dep_reg = _dep_reg(con, engine)
        cl, release = materialise(
            con, engine, ex.campsite_level(ex.prepare_bookings(b), ex.prepare_capacity(c), snap, dep_reg, stars))
        try:
            exprs = build_expressions(b, c, stars, snap, cl, dep_reg)
            raw = {name: _sorted(e.to_pyarrow(), SPECS[name].keys) for name, e in exprs.items()}
        finally:
            release()
        return raw, snap
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _sorted(t: pa.Table, keys: Sequence[str]) -> pa.Table:
    return t.sort_by([(k, "ascending") for k in keys])


def protect_all(raw: dict[str, pa.Table], rules: Rules = Rules(), exact: bool = True) -> dict[str, pa.Table]:
    """Disclosure control on every table.

    The guest breakdowns (country, lead time) carry their own total row (``FOREIGN``, bucket ``ALL``), equal to a
    weekly-table value; a cell hidden in the weekly table hides that total in the breakdown too.
    """
    weekly = protect(raw["weekly"], SPECS["weekly"], rules, exact=exact)
    out = {"weekly": weekly.table}
    for name, root in _LINKED.items():
        force = {(*k, root): LINKED for k in weekly.hidden}
        out[name] = protect(raw[name], SPECS[name], rules, force=force, exact=exact).table
    for name in ("pace", "cancellations"):
        out[name] = protect(raw[name], SPECS[name], rules, exact=exact).table
    return {n: out[n] for n in TABLES}


def _finish(t: pa.Table, snapshot: dt.date, week_col: str = "week_start") -> pa.Table:
    """Name the snapshot and the ISO year/week of each row; put identifying columns first."""
    weeks = t.column(week_col).to_pylist()
    iso = [w.isocalendar() if w else (None, None, None) for w in weeks]
    t = t.append_column("iso_year", pa.array([i[0] for i in iso], pa.int32()))
    t = t.append_column("iso_week", pa.array([i[1] for i in iso], pa.int32()))
    t = t.append_column("snapshot_date", pa.array([snapshot] * t.num_rows, pa.date32()))
    first = ["snapshot_date", "iso_year", "iso_week", week_col, "geo_level", "geo_code", "unit_group", "stars_band",
             "country_code", "lead_bucket", "status", "suppression", "fallback_geo", "n_campsites", "panel_campsites"]
    order = [c for c in first if c in t.column_names] + [c for c in t.column_names if c not in first]
    return t.select(order)


def compute_barometer(bookings: str | Path, capacity: str | Path, snapshot: dt.date | None = None,
                      engine: str = "duckdb", *, campsites: str | Path | None = None, rules: Rules = Rules(),
                      week: str | None = None) -> dict[str, pa.Table]:
    """The published barometer for one snapshot: one table per indicator family, suppressed cells marked.

    ``bookings``/``capacity``/``campsites``: export files (CSV, CSV.gz or Parquet, or folders of them) in the
    collection schema. ``snapshot``: the snapshot date (default: the latest in the bookings). ``week``: keep only
    one ISO week (``2025-W28``, or ``28`` for the snapshot's ISO year). Every table has a ``snapshot_date`` column
    and its schema metadata names the snapshot and the engine.
    """
    raw, snap = compute_raw(bookings, capacity, snapshot, engine, campsites)
    published = protect_all(raw, rules)
    out = {}
    for name, t in published.items():
        t = _finish(t, snap)
        if name == "pace":
            t = t.append_column("snapshot_date_ly", pa.array([snap - dt.timedelta(days=364)] * t.num_rows,
                                                             pa.date32()))
        if name == "cancellations":
            t = t.rename_columns(["created_week_start" if c == "week_start" else c for c in t.column_names])
        if week is not None:
            y, w = parse_week(week, snap)
            t = t.filter(pc.and_(pc.equal(t.column("iso_year"), y), pc.equal(t.column("iso_week"), w)))
        out[name] = t.replace_schema_metadata({"snapshot_date": snap.isoformat(), "engine": engine,
                                               "table": name})
    return out


def parse_week(value: str, snapshot: dt.date) -> tuple[int, int]:
    """``2025-W28`` / ``2025W28`` / ``28`` (ISO week of the snapshot's ISO year) → (ISO year, week)."""
    v = value.strip().upper().replace("-W", "W")
    try:
        if "W" in v:
            y, w = v.split("W")
            year, wk = int(y), int(w)
        else:
            year, wk = snapshot.isocalendar()[0], int(v)
        dt.date.fromisocalendar(year, wk, 1)
    except ValueError:
        raise InputError(f"invalid ISO week {value!r}; expected e.g. 2025-W28 or 28") from None
    return year, wk


def write_csvs(tables: dict[str, pa.Table], out_dir: str | Path) -> list[Path]:
    """One CSV per table; suppressed cells have empty values and ``status = suppressed``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, t in tables.items():
        p = out / f"{name}.csv"
        tmp = p.with_suffix(".csv.tmp")
        pacsv.write_csv(t, tmp)
        tmp.replace(p)
        paths.append(p)
    return paths
