"""`passerelle indicators`: compute the campsite barometer from export files, and show indicator tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.csv as pacsv


@click.group("indicators")
def indicators() -> None:
    """Campsite barometer indicators, with statistical disclosure control."""


@indicators.command("compute")
@click.option("--bookings", "bookings", required=True, type=click.Path(path_type=Path),
              help="Bookings export (CSV, CSV.gz or Parquet; a file or a folder).")
@click.option("--capacity", "capacity", required=True, type=click.Path(path_type=Path),
              help="Capacity export (CSV or Parquet).")
@click.option("--campsites", "campsites", type=click.Path(path_type=Path), default=None,
              help="Campsite dimension with stars_band (optional: without it, no stars breakdown).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for one CSV per table.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True)
@click.option("--snapshot", default=None, help="Snapshot date YYYY-MM-DD (default: the latest in the file).")
@click.option("--week", default=None, help="Only this ISO week: 2025-W28, or 28 for the snapshot's year.")
def compute(bookings: Path, capacity: Path, campsites: Path | None, out: Path, engine: str, snapshot: str | None,
            week: str | None) -> None:
    """Compute every indicator table and write one CSV per table (suppressed cells marked, values left empty)."""
    from hub.indicators import InputError, compute_barometer, write_csvs

    try:
        snap = dt.date.fromisoformat(snapshot) if snapshot else None
    except ValueError:
        raise click.ClickException(f"invalid --snapshot {snapshot!r}; expected YYYY-MM-DD") from None
    try:
        tables = compute_barometer(bookings, capacity, snap, engine, campsites=campsites, week=week)
    except (InputError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    paths = write_csvs(tables, out)
    any_table = next(iter(tables.values()))
    click.echo(f"snapshot {any_table.schema.metadata[b'snapshot_date'].decode()} · engine {engine}")
    for p, (name, t) in zip(paths, tables.items()):
        hidden = t.column("status").to_pylist().count("suppressed")
        click.echo(f"{name:<14} {t.num_rows:>8} cells {hidden:>8} suppressed  → {p}")


def _load(path: Path) -> dict[str, pa.Table]:
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise click.ClickException(f"no indicator CSV in {path}")
    elif path.is_file():
        files = [path]
    else:
        raise click.ClickException(f"not found: {path}")
    out = {}
    for f in files:
        try:
            # keep codes as text ("01", "2A") and never turn an empty (suppressed) cell into anything
            opts = pacsv.ConvertOptions(strings_can_be_null=True,
                                        column_types={c: pa.string() for c in ("geo_code", "country_code",
                                                                                "stars_band", "lead_bucket")})
            out[f.stem] = pacsv.read_csv(f, convert_options=opts)
        except (pa.ArrowInvalid, OSError) as exc:
            raise click.ClickException(f"cannot read {f}: {str(exc).splitlines()[0]}") from None
    return out


def _fmt(v) -> str:
    if v is None:
        return "·"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@indicators.command("show")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--geo", default=None, help="Only this territory: FR, REG-76, DEP-34.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows per table in table format (0: all).")
def show(path: Path, fmt: str, geo: str | None, limit: int) -> None:
    """Show indicator tables (a CSV or a folder of them); suppressed cells show as '·', never as 0."""
    tables = _load(path)
    for name, t in tables.items():
        if geo and "geo_code" in t.column_names:
            t = t.filter(pa.compute.equal(t.column("geo_code"), geo))
        if fmt == "csv":
            import io

            buf = io.BytesIO()
            pacsv.write_csv(t, buf)
            click.echo(buf.getvalue().decode(), nl=False)
        elif fmt == "json":
            rows = [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in t.to_pylist()]
            click.echo(json.dumps({"table": name, "rows": rows}, ensure_ascii=False))
        else:
            click.echo(f"== {name} ({t.num_rows} rows)")
            rows = t.to_pylist()
            if limit:
                rows = rows[:limit]
            cols = t.column_names
            cells = [[_fmt(r[c]) for c in cols] for r in rows]
            widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
            click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
            for row in cells:
                click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)))
