"""``passerelle generate campsites``: a synthetic weekly campsite export calibrated on real figures.

The files are labelled synthetic (Parquet metadata and MANIFEST.json). Register ``generate`` in the CLI group.
"""

from __future__ import annotations

import datetime as dt
import json

import click

__all__ = ["generate"]


@click.group()
def generate() -> None:
    """Generate synthetic data sets (labelled as synthetic)."""


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@generate.command()
@click.option("--campsites", type=click.IntRange(1, 6000), default=1400, show_default=True,
              help="participating campsites (the classified list holds 5,711)")
@click.option("--season", type=click.IntRange(2001, 2099), default=2026, show_default=True)
@click.option("--snapshot", callback=_date, required=True, help="extraction date, YYYY-MM-DD (a Monday)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--csv", "as_csv", is_flag=True, help="write the bookings as CSV instead of Parquet")
@click.option("--no-previous", is_flag=True, help="omit season N-1 (needed for pace vs N-1)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def campsites(campsites: int, season: int, snapshot: dt.date, out_dir: str, seed: int, as_csv: bool,
              no_previous: bool, as_json: bool) -> None:
    """Bookings (one row per booking × night, seasons N and N-1), capacity and the campsite dimension."""
    from hub.generate import generate_campsites

    if not (dt.date(season - 1, 6, 1) <= snapshot <= dt.date(season + 1, 3, 31)):
        raise click.BadParameter(f"snapshot {snapshot} is too far from season {season}", param_hint="--snapshot")
    try:
        result = generate_campsites(out_dir, campsites=campsites, season=season, snapshot=snapshot, seed=seed,
                                    fmt="csv" if as_csv else "parquet", previous=not no_previous)
    except (OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    rows = result.rows
    click.echo(f"synthetic export written to {out_dir}: {rows['bookings']:,} booking-night rows, "
               f"{rows['capacity']:,} capacity rows, {rows['campsites']:,} campsites in {result.seconds:.1f} s")


def _years(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        years = tuple(sorted({int(y) for y in value.split(",") if y.strip()}))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of years") from None
    if not years or not all(2000 <= y <= 2099 for y in years):
        raise click.BadParameter(f"years must be between 2000 and 2099, got {value!r}")
    return years


_YEARS = click.option("--years", callback=_years, default="2024,2025", show_default=True,
                      help="calendar years, comma-separated; the first is the base year")
_OUT = click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
_SEED = click.option("--seed", type=int, default=0, show_default=True)
_CSV = click.option("--csv", "as_csv", is_flag=True, help="write CSV instead of Parquet")
_JSON = click.option("--json", "as_json", is_flag=True, help="print the result as JSON")


def _report(result, as_json: bool, what: str, out_dir: str) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    rows = ", ".join(f"{n:,} {k} rows" for k, n in result.rows.items())
    click.echo(f"synthetic {what} written to {out_dir}: {rows} (labelled synthetic, {result.manifest.name})")


@generate.command()
@click.option("--establishments", type=click.IntRange(1, 100_000), default=2000, show_default=True)
@_YEARS
@_OUT
@_SEED
@_CSV
@_JSON
def energy(establishments: int, years: tuple[int, ...], out_dir: str, seed: int, as_csv: bool,
           as_json: bool) -> None:
    """Monthly energy (kWh), water (m³) and nights per accommodation establishment (pseudonymised)."""
    from hub.generate.energy import generate_energy
    try:
        result = generate_energy(out_dir, establishments=establishments, years=years, seed=seed,
                                 fmt="csv" if as_csv else "parquet")
    except (OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    _report(result, as_json, "energy data", out_dir)


@generate.command()
@_YEARS
@_OUT
@_SEED
@_CSV
@_JSON
def employment(years: tuple[int, ...], out_dir: str, seed: int, as_csv: bool, as_json: bool) -> None:
    """Salaried jobs in accommodation and food services and total employment by département × quarter."""
    from hub.generate.employment import generate_employment
    try:
        result = generate_employment(out_dir, years=years, seed=seed, fmt="csv" if as_csv else "parquet")
    except (OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    _report(result, as_json, "employment data", out_dir)


@generate.command()
@_YEARS
@_OUT
@_SEED
@_CSV
@_JSON
def arrivals(years: tuple[int, ...], out_dir: str, seed: int, as_csv: bool, as_json: bool) -> None:
    """Arrivals and nights by country × région × month, and trips by transport mode and distance band."""
    from hub.generate.arrivals import generate_arrivals
    try:
        result = generate_arrivals(out_dir, years=years, seed=seed, fmt="csv" if as_csv else "parquet")
    except (OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    _report(result, as_json, "visitor statistics", out_dir)
