"""Stored barometer results: one Parquet and one CSV per indicator table, and each région's slice, per run.

A run's folder is written under a hidden temporary name and renamed once complete, so a reader (the dashboard,
the data plane) sees every file of a run or none.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hub.collection.atomic import fsync_dir
from hub.indicators import TABLES, write_csvs
from policies import territory

__all__ = ["write_run", "read_tables", "regional_slice", "regions_present", "SLICE_FIRST"]

#: the leading columns of a regional slice (one CSV holding the rows of every table, marked by ``table``)
SLICE_FIRST = ("table", "snapshot_date", "iso_year", "iso_week", "week_start", "created_week_start", "geo_level",
               "geo_code", "unit_group", "stars_band", "country_code", "lead_bucket", "basis", "status",
               "suppression", "fallback_geo", "n_campsites", "panel_campsites")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def regions_present(tables: dict[str, pa.Table]) -> list[str]:
    """The régions (``REG-xx``) that have rows in the weekly table, i.e. campsites in the snapshot."""
    codes = pc.unique(tables["weekly"].column("geo_code")).to_pylist()
    return sorted(c for c in codes if c and c.startswith("REG-"))


def regional_slice(tables: dict[str, pa.Table], region: str) -> pa.Table:
    """Every row of every table about ``region`` or one of its départements, in one table marked by ``table``.

    Suppressed cells keep ``status = suppressed`` and empty values, as in the hub's own tables.
    """
    reg = territory.region(region)
    if reg is None:
        raise ValueError(f"unknown région {region!r}")
    codes = pa.array([f"REG-{reg.code}"] + [f"DEP-{d.code}" for d in territory.departements_of(reg.code)])
    parts = []
    for name in TABLES:
        t = tables[name]
        t = t.filter(pc.is_in(t.column("geo_code"), value_set=codes))
        t = t.add_column(0, "table", pa.array([name] * t.num_rows, pa.string()))
        parts.append(t.replace_schema_metadata(None))
    out = pa.concat_tables(parts, promote_options="default")
    order = [c for c in SLICE_FIRST if c in out.column_names] + [c for c in out.column_names if c not in SLICE_FIRST]
    return out.select(order)


def write_run(tables: dict[str, pa.Table], directory: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    """Write a run's tables (Parquet + CSV), its regional slices (CSV) and ``run.json``; returns slice paths.

    ``directory`` must not exist yet; it appears complete or not at all.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}-{uuid.uuid4().hex}.partial"
    tmp.mkdir()
    try:
        for name, t in tables.items():
            pq.write_table(t, tmp / f"{name}.parquet", compression="zstd")
        write_csvs(tables, tmp)
        (tmp / "regions").mkdir()
        slices: dict[str, Path] = {}
        import pyarrow.csv as pacsv
        for reg in regions_present(tables):
            path = tmp / "regions" / f"{reg}.csv"
            pacsv.write_csv(regional_slice(tables, reg), path)
            slices[reg] = directory / "regions" / path.name
        (tmp / "run.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n",
                                      encoding="utf-8")
        for f in list(tmp.iterdir()) + list((tmp / "regions").iterdir()):
            if f.is_file():
                _fsync(f)
        fsync_dir(tmp / "regions")
        fsync_dir(tmp)
        os.replace(tmp, directory)
        fsync_dir(directory.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return slices


def read_tables(directory: Path) -> dict[str, pa.Table]:
    """The indicator tables of a stored run (from its Parquet files)."""
    directory = Path(directory)
    missing = [n for n in TABLES if not (directory / f"{n}.parquet").is_file()]
    if missing:
        raise FileNotFoundError(f"barometer results incomplete in {directory}: missing {', '.join(missing)}")
    return {n: pq.read_table(directory / f"{n}.parquet") for n in TABLES}
