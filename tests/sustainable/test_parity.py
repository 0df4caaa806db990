"""DuckDB and Spark (local mode) give the same sustainable-indicator tables, all six, before and after disclosure
control.

One Spark computation covers one input set: a small calibrated set from the generators (every région and
département, two years, so the change against the base year, every transport mode and both seasons are there) with
the hand-made establishments of conftest.py added to its energy file (their values are checked by hand in
test_values.py; the Gard's lone establishment exercises suppression). The session is the process's one Spark session,
shared with the barometer's parity test.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.sustainable import TABLES


@pytest.fixture(scope="module")
def combined(small: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from hub.generate.arrivals import generate_arrivals
    from hub.generate.employment import generate_employment
    from hub.generate.energy import generate_energy
    from hub.sustainable.inputs import check_inputs
    out = tmp_path_factory.mktemp("sustainable-parity")
    generate_energy(out, establishments=60, seed=5)
    generate_employment(out, seed=5)
    generate_arrivals(out, seed=5)
    energy = pq.read_table(out / "energy.parquet")
    hand = pq.read_table(small["energy"]).select(energy.column_names).cast(energy.schema)
    pq.write_table(pa.concat_tables([energy, hand]), out / "energy.parquet")
    paths = {k: out / f"{k}.parquet" for k in ("energy", "employment", "arrivals", "trips")}
    check_inputs(paths)  # the parity input is a valid input
    return paths


@pytest.fixture(scope="module")
def both(spark: Any, combined: dict[str, Path]) -> dict[str, dict[str, dict[str, pa.Table]]]:
    """Raw and published tables from each engine (one computation each)."""
    from hub.sustainable.compute import compute_raw, protect_tables
    out: dict[str, dict[str, dict[str, pa.Table]]] = {}
    for engine in ("duckdb", "spark"):
        raw = compute_raw(combined, engine)
        out[engine] = {"raw": raw, "published": protect_tables(raw, "parity", engine)}
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9,
                                                                                               abs_tol=1e-9))
    return a == b


@pytest.mark.parametrize("stage", ["raw", "published"])
@pytest.mark.parametrize("name", TABLES)
def test_duckdb_and_spark_agree(both: dict[str, dict[str, dict[str, pa.Table]]], name: str, stage: str) -> None:
    d = both["duckdb"][stage][name]
    s = both["spark"][stage][name]
    assert set(d.column_names) == set(s.column_names), name
    s = s.select(d.column_names)
    assert d.num_rows == s.num_rows > 0, name
    for col in d.column_names:
        bad = [(i, x, y) for i, (x, y) in enumerate(zip(d.column(col).to_pylist(), s.column(col).to_pylist()))
               if not _same(x, y)]
        assert not bad, (name, col, bad[:3])


def test_the_parity_set_exercises_suppression_and_the_base_year(both: dict[str, Any]) -> None:
    energy = both["duckdb"]["published"]["energy"].to_pylist()
    assert any(r["status"] == "suppressed" for r in energy) and any(r["status"] == "published" for r in energy)
    assert any(r["energy_change_pct"] is not None for r in energy)
    assert all(r["energy_kwh"] is None and r["energy_per_night_kwh"] is None
               for r in energy if r["status"] == "suppressed")
    modes = {r["transport_mode"] for r in both["duckdb"]["raw"]["transport"].to_pylist()}
    assert modes == {"ALL", "car", "train", "plane", "coach", "other"}
