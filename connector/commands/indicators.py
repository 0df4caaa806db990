"""`passerelle indicators`: compute the campsite barometer from export files, and show indicator tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.csv as pacsv

from hub.sustainable.cli import durable


@click.group("indicators")
def indicators() -> None:
    """Campsite barometer and sustainable-tourism indicators, with statistical disclosure control."""


indicators.add_command(durable)


@indicators.command("compute")
@click.option("--bookings", "bookings", type=click.Path(path_type=Path), default=None,
              help="Bookings export (CSV, CSV.gz or Parquet; a file or a folder).")
@click.option("--capacity", "capacity", type=click.Path(path_type=Path), default=None,
              help="Capacity export (CSV or Parquet).")
@click.option("--campsites", "campsites", type=click.Path(path_type=Path), default=None,
              help="Campsite dimension with stars_band (optional: without it, no stars breakdown).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="Folder for one CSV per table.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Hub directory: compute with the hub's barometer service (stored, recorded, re-published).")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True)
@click.option("--snapshot", default=None, help="Snapshot date YYYY-MM-DD (default: the latest in the file).")
@click.option("--week", default=None, help="Only this ISO week: 2025-W28, or 28 for the snapshot's year.")
def compute(bookings: Path | None, capacity: Path | None, campsites: Path | None, out: Path | None,
            directory: Path | None, engine: str, snapshot: str | None, week: str | None) -> None:
    """Compute every indicator table.

    From files: ``--bookings --capacity --out`` writes one CSV per table (suppressed cells marked, values empty).
    On the hub: ``--dir HUB_DIR`` lands the given files (or, without them, the last snapshot the hub received) in
    the barometer service, which stores the result, records the run and re-publishes the régions' slices;
    ``--week`` then only limits the summary printed.
    """
    from hub.indicators import InputError, compute_barometer, write_csvs

    try:
        snap = dt.date.fromisoformat(snapshot) if snapshot else None
    except ValueError:
        raise click.ClickException(f"invalid --snapshot {snapshot!r}; expected YYYY-MM-DD") from None
    if directory is not None:
        _compute_on_hub(directory, bookings, capacity, campsites, engine, snap, week)
        return
    missing = [f"--{n}" for n, v in (("bookings", bookings), ("capacity", capacity), ("out", out)) if v is None]
    if missing:
        raise click.ClickException(f"missing {', '.join(missing)} (or give --dir HUB_DIR to compute on the hub)")
    assert bookings is not None and capacity is not None and out is not None
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


def _hub_service(directory: Path, engine: str = "duckdb"):  # type: ignore[no-untyped-def]
    from connector.config import ConfigError, load_config
    from connector.node import Node
    from hub.service import BarometerService
    try:
        node = Node(load_config(directory / "node.toml"))
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    if not node.is_authority:
        raise click.ClickException(f"{directory} is not the hub: only the hub computes the barometer")
    return BarometerService(node, engine=engine)


def _compute_on_hub(directory: Path, bookings: Path | None, capacity: Path | None, campsites: Path | None,
                    engine: str, snap: dt.date | None, week: str | None) -> None:
    import pyarrow.compute as pc

    from hub.indicators import InputError, parse_week
    service = _hub_service(directory, engine)
    if (bookings is None) != (capacity is None):
        raise click.ClickException("give both --bookings and --capacity, or neither (the last landed snapshot)")
    if bookings is None:
        landed = service.latest_inputs()
        if landed is None:
            raise click.ClickException("no campsite snapshot has landed at this hub yet; give --bookings and "
                                       "--capacity")
        bookings, capacity, campsites = landed.bookings, landed.capacity, landed.campsites
        snap = snap or landed.snapshot
    try:
        run, fresh = service.land(bookings, capacity, campsites, snap)
    except (InputError, FileNotFoundError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    if run.status != "done":
        raise click.ClickException(f"run {run.id} is {run.status}" + (f": {run.error}" if run.error else ""))
    click.echo(f"run {run.id} · snapshot {run.snapshot_date} · engine {run.engine} · "
               + (f"computed in {run.seconds:.2f} s" if fresh else "already computed for these files")
               + f" → {run.result_dir}")
    tables = service.tables(run)
    if week is not None:
        try:
            y, w = parse_week(week, run.snapshot_date)
        except InputError as exc:
            raise click.ClickException(str(exc)) from None
    for name, t in tables.items():
        if week is not None:
            t = t.filter(pc.and_(pc.equal(t.column("iso_year"), y), pc.equal(t.column("iso_week"), w)))
        hidden = t.column("status").to_pylist().count("suppressed")
        click.echo(f"{name:<14} {t.num_rows:>8} cells {hidden:>8} suppressed")
    published = run.published or {}
    if "error" in published:
        click.echo(f"re-publication refused: {published['error']}")
    elif published:
        click.echo(f"re-published for {len(published)} région(s): "
                   + ", ".join(f"{r} v{p['version']}" for r, p in sorted(published.items())))


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
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Hub directory: show the hub's current barometer result instead of a PATH.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--geo", default=None, help="Only this territory: FR, REG-76, DEP-34.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows per table in table format (0: all).")
def show(path: Path | None, directory: Path | None, fmt: str, geo: str | None, limit: int) -> None:
    """Show indicator tables (a CSV or a folder of them, or the hub's current result with --dir); suppressed cells
    show as '·', never as 0."""
    if (path is None) == (directory is None):
        raise click.ClickException("give either PATH (a CSV or a folder of them) or --dir HUB_DIR")
    if directory is not None:
        run = _hub_service(directory).current()
        if run is None or not run.result_dir:
            raise click.ClickException(f"no barometer computed at {directory} yet")
        if fmt == "table":
            click.echo(f"run {run.id} · snapshot {run.snapshot_date} · {run.result_dir}")
        path = Path(run.result_dir)
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
