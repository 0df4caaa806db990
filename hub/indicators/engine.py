"""Backends the indicator expressions run on: embedded DuckDB (default) or Spark in local mode / on a cluster."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import ibis
import ibis.expr.types as ir

from hub.indicators.columns import BOOKING_COLUMNS, CAMPSITE_COLUMNS, CAPACITY_COLUMNS

ENGINES = ("duckdb", "spark")

_SPARK = None

# CSV readers guess types; identifiers such as "01" or "2A" must stay strings and dates must be dates.
_DUCKDB_TYPES = {"string": "VARCHAR", "date": "DATE", "int16": "BIGINT", "int8": "BIGINT", "int32": "BIGINT",
                 "boolean": "BOOLEAN", "decimal": "DOUBLE"}


class InputError(ValueError):
    """An input file is missing, unreadable or lacks required columns."""


def spark_session(master: str | None = None):
    """One Spark session per process (starting one costs ~6 s); local[2] unless PASSERELLE_SPARK_MASTER says."""
    global _SPARK
    if _SPARK is None:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise RuntimeError("the spark engine needs the optional extra: pip install 'passerelle[spark]'") from exc
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise RuntimeError("the spark engine needs a Java runtime (java not found on PATH, JAVA_HOME unset)")
        master = master or os.environ.get("PASSERELLE_SPARK_MASTER", "local[2]")
        if master.startswith("local"):
            # a local session talks to itself only: keep its driver on loopback, not the host's first interface
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        _SPARK = (SparkSession.builder.master(master).appName("passerelle-indicators")
                  .config("spark.sql.shuffle.partitions", os.environ.get("PASSERELLE_SPARK_PARTITIONS", "4"))
                  .config("spark.ui.enabled", "false")
                  .config("spark.ui.showConsoleProgress", "false")
                  .config("spark.sql.session.timeZone", "UTC")
                  .config("spark.driver.memory", os.environ.get("PASSERELLE_SPARK_DRIVER_MEMORY", "4g"))
                  .getOrCreate())
        _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


def connect(engine: str):
    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "spark":
        return ibis.pyspark.connect(spark_session())
    raise InputError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")


def _is_csv(path: Path) -> bool:
    name = path.name.lower()
    if path.is_dir():
        return any(p.name.lower().endswith((".csv", ".csv.gz")) for p in path.iterdir())
    return name.endswith((".csv", ".csv.gz", ".tsv"))


def _parquet_glob(path: Path) -> str:
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def _csv_glob(path: Path) -> str:
    return str(path / "*.csv*") if path.is_dir() else str(path)


def _csv_sql(path: Path, columns: dict[str, str]) -> str:
    types = ", ".join(f"'{c}': '{_DUCKDB_TYPES[t]}'" for c, t in columns.items())
    return f"read_csv('{_csv_glob(path)}', header=true, types={{{types}}})"


def read_table(con, engine: str, path: str | Path, kind: str, tmp: Path) -> ir.Table:
    """Open an export file (CSV, CSV.gz or Parquet; a file or a folder of them) lazily on the backend."""
    columns = {"bookings": BOOKING_COLUMNS, "capacity": CAPACITY_COLUMNS, "campsites": CAMPSITE_COLUMNS}[kind]
    path = Path(path)
    if not path.exists():
        raise InputError(f"{kind} file not found: {path}")
    csv = _is_csv(path)
    if csv:
        present = _csv_columns(path)
        wanted = {c: t for c, t in columns.items() if c in present}
    try:
        if engine == "duckdb":
            if csv:
                return con.read_csv(_csv_glob(path), types={c: _DUCKDB_TYPES[t] for c, t in wanted.items()})
            return con.read_parquet(_parquet_glob(path))
        if csv:
            # Spark's CSV reader is slow and guesses types: convert once, typed, to Parquet with DuckDB.
            import duckdb

            target = tmp / f"{kind}.parquet"
            duckdb.sql(f"COPY (SELECT * FROM {_csv_sql(path, wanted)}) TO '{target}' (FORMAT parquet)")
            path = target
        return con.read_parquet(str(path))
    except Exception as exc:  # the backends raise many types; name the file in one line
        raise InputError(f"cannot read {kind} from {path}: {str(exc).splitlines()[0]}") from exc


def _csv_columns(path: Path) -> set[str]:
    import gzip

    first = path if path.is_file() else next(p for p in sorted(path.iterdir()) if p.name.lower().endswith(
        (".csv", ".csv.gz")))
    opener = gzip.open if first.name.lower().endswith(".gz") else open
    with opener(first, "rt", encoding="utf-8-sig") as fh:
        header = fh.readline().strip()
    return {c.strip().strip('"') for c in header.split(",")}


def require_columns(t: ir.Table, required: tuple[str, ...], kind: str) -> None:
    missing = [c for c in required if c not in t.columns]
    if missing:
        raise InputError(f"{kind} input lacks required columns: {', '.join(missing)}")


def materialise(con, engine: str, expr: ir.Table):
    """Compute ``expr`` once for the tables built on it; returns (table, release)."""
    if engine == "duckdb":
        name = f"_cl_{uuid.uuid4().hex}"
        table = con.create_table(name, expr, temp=True)
        return table, lambda: con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
    cached = expr.cache()
    return cached, cached.release


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="passerelle-indicators-"))
