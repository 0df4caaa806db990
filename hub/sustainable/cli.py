"""`passerelle indicators durable`: compute the sustainable-tourism indicators on the hub, and list its runs.

Kept light: the analytics stack is imported when a command runs, not when the CLI starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = ["durable"]

_KINDS = ("energy", "employment", "arrivals", "trips")


def _service(directory: Path, engine: str = "duckdb") -> Any:
    from connector.config import ConfigError, load_config
    from connector.node import Node
    from hub.sustainable.service import SustainableService
    try:
        node = Node(load_config(directory / "node.toml"))
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    if not node.is_authority:
        raise click.ClickException(f"{directory} is not the hub: only the hub computes the sustainable indicators")
    return SustainableService(node, engine=engine)


@click.group("durable")
def durable() -> None:
    """Sustainable-tourism indicators on the hub (tourisme durable): compute, list the runs."""


@durable.command("compute")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Hub directory (its node.toml).")
@click.option("--energy", type=click.Path(path_type=Path), default=None, help="Energy per establishment × month.")
@click.option("--employment", type=click.Path(path_type=Path), default=None, help="Employment by département × "
                                                                                   "quarter.")
@click.option("--arrivals", type=click.Path(path_type=Path), default=None, help="Arrivals by country × région × "
                                                                               "month.")
@click.option("--trips", type=click.Path(path_type=Path), default=None, help="Trips by mode × distance band.")
@click.option("--base-year", type=int, default=None, help="Reference year of the energy change (default: the "
                                                         "earliest year of the energy file).")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True)
def compute(directory: Path, energy: Path | None, employment: Path | None, arrivals: Path | None,
            trips: Path | None, base_year: int | None, engine: str) -> None:
    """Check the four files against their declared schemas, compute, store, record the run and re-publish each
    région's slice. Without files: the files of the hub's most recent run."""
    from hub.indicators import InputError
    service = _service(directory, engine)
    given = {k: v for k, v in zip(_KINDS, (energy, employment, arrivals, trips)) if v is not None}
    if not given:
        latest = service.latest_inputs()
        if latest is None:
            raise click.ClickException("no sustainable-tourism run at this hub yet; give --energy, --employment, "
                                       "--arrivals and --trips")
        given = latest
    elif len(given) != len(_KINDS):
        missing = ", ".join(f"--{k}" for k in _KINDS if k not in given)
        raise click.ClickException(f"give all four files or none (the last run's); missing {missing}")
    try:
        run, fresh = service.land(given, base_year=base_year)
    except (InputError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    if run.status != "done":
        raise click.ClickException(f"run {run.id} is {run.status}" + (f": {run.error}" if run.error else ""))
    click.echo(f"run {run.id} · snapshot {run.inputs['snapshot']} · engine {run.engine} · "
               + (f"computed in {run.seconds:.2f} s" if fresh else "already computed for these files")
               + f" → {run.result_dir}")
    for name, t in (run.tables or {}).items():
        click.echo(f"{name:<12} {t['rows']:>8} cells {t['suppressed']:>8} suppressed")
    published = run.published or {}
    if "error" in published:
        click.echo(f"re-publication refused: {published['error']}")
    elif published:
        click.echo(f"re-published for {len(published)} région(s)")


@durable.command("runs")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Hub directory (its node.toml).")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the current run and every run.")
def runs(directory: Path, limit: int, as_json: bool) -> None:
    """The recorded computations, newest first: outcome, snapshot, input files (sha256), rows per table, error."""
    from hub.sustainable.service import run_json
    service = _service(directory)
    rows = service.runs(limit)
    if as_json:
        click.echo(json.dumps({"current": service.current_id(), "runs": [run_json(r) for r in rows]},
                              ensure_ascii=False))
        return
    if not rows:
        click.echo("no sustainable-tourism run recorded")
        return
    current = service.current_id()
    for r in rows:
        mark = "*" if r.id == current else " "
        total = sum(t["rows"] for t in (r.tables or {}).values())
        click.echo(f"{mark} run {r.id:<4} {r.status:<8} {r.started_at:%Y-%m-%d %H:%M:%S} snapshot "
                   f"{r.inputs.get('snapshot')} engine {r.engine} "
                   + (f"{len(r.tables or {})} tables, {total} cells" if r.status == "done" else "")
                   + (f" {r.seconds:.2f} s" if r.seconds is not None else ""))
        for kind, f in sorted(r.inputs.items()):
            if isinstance(f, dict):
                click.echo(f"    {kind:<10} {f['sha256'][:16]}  {f['path']}")
        if r.error:
            click.echo(f"    error: {r.error}")
