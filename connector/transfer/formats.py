"""What the data plane serves: the stored Parquet, the same data as Arrow IPC stream or CSV, or an aggregate.

Every variant is a file on the provider's node, so every response is a plain file response: the server's file
wrapper (1 MiB reads under ``passerelle serve``), its size and sha256 known before the first byte, HTTP Range for free. Arrow and
CSV are written once per published version from the Parquet file by record batches (bounded memory), atomically
(temp, fsync, rename), and kept next to it in ``<data_dir>/derived/<dataset>/``.

Compute-to-data (DESIGN §6): an agreement permitting only ``aggregate`` gets the aggregate named in the offer,
computed here with DuckDB over the Parquet file and protected by the disclosure rules (``hub.disclosure``). The
offer carries the aggregation as an offer-level property (kept in the agreement)::

    "https://w3id.org/passerelle/odrl/aggregation": {
        "groupBy": ["dep_code", "unit_type"],       # columns of the dataset
        "measures": ["nights", "amount_eur"],       # summed
        "unit": "campsite_pid"                      # the contributing unit (or "unitCount": a column of counts)
    }

A cell is published only when it has at least ``min_units`` contributing units (the agreement's ``cellSize``
constraint, at least 3) and no unit contributes more than 85 % of any measure; other cells are left out. Only
cells leave the node — no margins — so a left-out cell cannot be recomputed by difference.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FORMATS", "MEDIA_TYPES", "AGGREGATION", "Served", "AggregateSpec", "AggregationError",
           "aggregate_spec", "served_file", "file_sha256", "land_atomically"]

FORMATS = ("parquet", "arrow", "csv")
MEDIA_TYPES = {"parquet": "application/vnd.apache.parquet", "arrow": "application/vnd.apache.arrow.stream",
               "csv": "text/csv; charset=utf-8"}
AGGREGATION = "https://w3id.org/passerelle/odrl/aggregation"
CELL_SIZE = "https://w3id.org/passerelle/odrl/cellSize"
_BATCH = 64 * 1024
_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


class AggregationError(ValueError):
    pass


@dataclass(frozen=True)
class Served:
    path: Path
    size: int
    sha256: str
    rows: int | None
    media_type: str


@dataclass(frozen=True)
class AggregateSpec:
    group_by: tuple[str, ...]
    measures: tuple[str, ...]
    unit: str | None = None
    unit_count: str | None = None
    min_units: int = 3
    dominance: float = 0.85

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True, default=list).encode()).hexdigest()[:16]


def aggregate_spec(policy: dict[str, Any]) -> AggregateSpec:
    """The aggregation an agreement allows (offer-level property), with its cell size (≥ 3 whatever it says)."""
    raw = policy.get(AGGREGATION) or policy.get("passerelle:aggregation")
    problems = []
    if not isinstance(raw, dict):
        raise AggregationError(f"the agreement names no aggregation ({AGGREGATION}): nothing may leave the node")
    group = raw.get("groupBy") or []
    measures = raw.get("measures") or []
    if not group or not all(isinstance(c, str) for c in group):
        problems.append("groupBy: expected a non-empty list of column names")
    if not measures or not all(isinstance(c, str) for c in measures):
        problems.append("measures: expected a non-empty list of column names")
    if not (isinstance(raw.get("unit"), str) or isinstance(raw.get("unitCount"), str)):
        problems.append("unit or unitCount: expected the column of the contributing unit (or of unit counts)")
    if problems:
        raise AggregationError("aggregation: " + "; ".join(problems))
    min_units = 3
    for perm in policy.get("permission") or []:
        for c in perm.get("constraint") or []:
            if str(c.get("leftOperand", "")).endswith("cellSize"):
                value = c.get("rightOperand")
                value = value.get("@value") if isinstance(value, dict) else value
                try:
                    min_units = max(min_units, int(value))
                except (TypeError, ValueError):
                    pass
    return AggregateSpec(tuple(group), tuple(measures), raw.get("unit"), raw.get("unitCount"), min_units)


def file_sha256(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def land_atomically(tmp: Path, target: Path) -> None:
    """fsync the temp file, rename it into place, fsync the directory (DESIGN §5)."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    dfd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _lock(key: str) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def _meta(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _described(path: Path, media: str) -> Served | None:
    meta = _meta(path)
    if path.exists() and meta.exists():
        m = json.loads(meta.read_text())
        return Served(path, m["size"], m["sha256"], m.get("rows"), media)
    return None


def _describe(path: Path, rows: int | None, media: str) -> Served:
    size, digest = file_sha256(path)
    tmp = _meta(path).with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"size": size, "sha256": digest, "rows": rows}))
    land_atomically(tmp, _meta(path))
    return Served(path, size, digest, rows, media)


def served_file(data_dir: Path, dataset: str, source: Path, source_sha256: str, fmt: str,
                aggregate: AggregateSpec | None = None) -> Served:
    """The file to serve for ``fmt`` (and the aggregate, if the agreement allows only that); made once."""
    if fmt not in FORMATS:
        raise AggregationError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    media = MEDIA_TYPES[fmt]
    stored = "csv" if source.suffix.lower() == ".csv" else "parquet"
    if aggregate is None and fmt == "csv" and stored == "csv":
        return Served(source, source.stat().st_size, source_sha256, None, media)
    if aggregate is None and fmt == "parquet" and stored == "parquet":
        # content-addressed: the published file's name is its sha256 (connector.publishing)
        import pyarrow.parquet as pq
        rows = pq.ParquetFile(source).metadata.num_rows
        return Served(source, source.stat().st_size, source_sha256, rows, media)
    name = f"{source_sha256}.{aggregate.key() + '.agg.' if aggregate else ''}{fmt}"
    target = data_dir / "derived" / dataset / name
    with _lock(str(target)):
        found = _described(target, media)
        if found:
            return found
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
        if aggregate is not None:
            table = compute_aggregate(source, aggregate)
            rows = _write_table(table, tmp, fmt)
        else:
            rows = _convert(source, tmp, fmt)
        land_atomically(tmp, target)
        return _describe(target, rows, media)


def _batches(source: Path) -> tuple[Any, Any]:
    """(schema, iterator of record batches) of the stored file, Parquet or CSV, streamed."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    if source.suffix.lower() == ".csv":
        reader = pcsv.open_csv(source)
        return reader.schema, iter(reader)
    pf = pq.ParquetFile(source)
    return pf.schema_arrow, pf.iter_batches(batch_size=_BATCH)


def _convert(source: Path, tmp: Path, fmt: str) -> int:
    """Stored file → Parquet, Arrow IPC stream or CSV, one record batch at a time (bounded memory)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    schema, batches = _batches(source)
    rows = 0
    with open(tmp, "wb") as out:
        if fmt == "arrow":
            writer: Any = pa.ipc.new_stream(out, schema)
        elif fmt == "csv":
            writer = pcsv.CSVWriter(out, schema)
        else:
            writer = pq.ParquetWriter(out, schema)
        for batch in batches:
            writer.write_batch(batch) if fmt != "csv" else writer.write(batch)
            rows += batch.num_rows
        writer.close()
    return rows


def _write_table(table: Any, tmp: Path, fmt: str) -> int:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    if fmt == "parquet":
        pq.write_table(table, tmp)
    elif fmt == "arrow":
        with open(tmp, "wb") as out, pa.ipc.new_stream(out, table.schema) as w:
            w.write_table(table)
    else:
        pcsv.write_csv(table, tmp)
    return table.num_rows


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compute_aggregate(source: Path, spec: AggregateSpec) -> Any:
    """DuckDB over the Parquet file, then the primary disclosure rules; returns the published cells only."""
    import duckdb
    import numpy as np
    from hub.disclosure import Rules, primary_reasons
    con = duckdb.connect()
    try:
        reader = "read_csv_auto" if source.suffix.lower() == ".csv" else "read_parquet"
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}(?)", [str(source)]).fetchall()}
        named = [*spec.group_by, *spec.measures, *(c for c in (spec.unit, spec.unit_count) if c)]
        unknown = [c for c in named if c not in cols]
        if unknown:
            raise AggregationError(f"aggregation names columns the dataset lacks: {', '.join(unknown)}")
        g = ", ".join(_ident(c) for c in spec.group_by)
        m_sum = ", ".join(f"sum({_ident(m)}) AS {_ident(m)}" for m in spec.measures)
        m_max = ", ".join(f"max({_ident(m)}) AS {_ident('max_' + m)}" for m in spec.measures)
        if spec.unit:
            sql = (f"WITH per_unit AS (SELECT {g}, {_ident(spec.unit)}, "
                   + ", ".join(f"sum({_ident(m)}) AS {_ident(m)}" for m in spec.measures)
                   + f" FROM {reader}(?) GROUP BY ALL) "
                   f"SELECT {g}, count(*) AS n_units, {m_sum}, {m_max} FROM per_unit GROUP BY {g} ORDER BY {g}")
        else:
            sql = (f"SELECT {g}, sum({_ident(spec.unit_count)})::BIGINT AS n_units, {m_sum}, {m_max} "
                   f"FROM {reader}(?) GROUP BY {g} ORDER BY {g}")
        table = con.sql(sql, params=[str(source)]).to_arrow_table()
    finally:
        con.close()
    units = table.column("n_units").fill_null(0).to_numpy(zero_copy_only=False)
    totals = {m: table.column(m).fill_null(0).to_numpy(zero_copy_only=False) for m in spec.measures}
    maxima = {m: table.column("max_" + m).fill_null(0).to_numpy(zero_copy_only=False) for m in spec.measures}
    reason = primary_reasons(units, totals, maxima, None, Rules(min_units=spec.min_units, dominance=spec.dominance))
    keep = np.asarray([r == "" for r in reason])
    table = table.filter(keep) if len(keep) else table
    return table.drop_columns([f"max_{m}" for m in spec.measures]).replace_schema_metadata(
        {"passerelle:aggregation": json.dumps({"groupBy": spec.group_by, "measures": spec.measures,
                                               "min_units": spec.min_units, "dominance": spec.dominance,
                                               "suppressed_cells": int((~keep).sum())})})
