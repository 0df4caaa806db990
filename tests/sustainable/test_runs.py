"""Every sustainable-tourism computation is recorded in the hub's database (kind ``sustainable`` of the run table):
its inputs with sha256, when, the tables and their row counts, the outcome and the error. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from connector.catalog_service import CatalogService
from connector.clock import FixedClock
from connector.config import load_config
from connector.init_node import init_node
from connector.node import Node
from hub.collection.atomic import sha256_file
from hub.service import BarometerService
from hub.service.records import claim_run
from hub.sustainable import TABLES, InputRefused, snapshot_of
from hub.sustainable.service import SustainableService, dataset_id, run_json


def _hub(tmp_path: Path, database_url: str = "") -> Node:
    d = init_node(tmp_path / "hub", name="hub", role="hub", port=1, roles=["national_hub"], database_url=database_url)
    return Node(load_config(d), FixedClock(1_780_000_000))


def _broken_energy(small: dict[str, Path], out: Path) -> dict[str, Path]:
    """The hand-made set with one bad value: row 4 (header = row 1) of the energy file has a negative kWh."""
    t = pq.read_table(small["energy"])
    kwh = t.column("energy_kwh").to_pylist()
    kwh[2] = -5.0
    i = t.schema.get_field_index("energy_kwh")
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(t.set_column(i, "energy_kwh", pa.array(kwh, pa.float64())), out / "energy.parquet")
    return {**small, "energy": out / "energy.parquet"}


def test_a_run_is_recorded_with_inputs_tables_and_outcome(tmp_path: Path, small: dict[str, Path],
                                                          db_factory: Any) -> None:
    node = _hub(tmp_path, db_factory())
    service = SustainableService(node)
    run, computed = service.land(small)
    assert computed and run.kind == "sustainable" and run.status == "done" and run.error is None
    for kind, path in small.items():  # the run names the exact files it rests on
        assert run.inputs[kind] == {"path": str(path.resolve()), "sha256": sha256_file(path),
                                    "bytes": path.stat().st_size}
    assert run.inputs["snapshot"] == snapshot_of(small)["id"] and run.inputs["base_year"] is None
    assert set(run.tables) == set(TABLES)
    manifest = json.loads((Path(run.result_dir) / "run.json").read_text(encoding="utf-8"))
    assert manifest["run"] == run.id and manifest["snapshot"]["id"] == run.inputs["snapshot"]
    for name in TABLES:
        assert run.tables[name]["rows"] == pq.read_metadata(Path(run.result_dir) / f"{name}.parquet").num_rows > 0
    assert run.tables["energy"]["suppressed"] > 0  # the Gard's single establishment
    assert run.started_at is not None and run.finished_at is not None and run.seconds is not None
    # re-published, and the publications recorded on the run
    assert run.published and "error" not in run.published and "REG-76" in run.published
    assert CatalogService(node).dataset(dataset_id("REG-76")) is not None
    assert [r.id for r in service.runs()] == [run.id] and service.current_id() == run.id
    assert service.current()["record"]["id"] == run.id  # type: ignore[index]


def test_the_same_files_are_computed_once_and_a_new_base_year_is_a_new_run(tmp_path: Path, small: dict[str, Path],
                                                                            db_factory: Any) -> None:
    node = _hub(tmp_path, db_factory())
    service = SustainableService(node, republish=False)
    first, _ = service.land(small)
    again, computed = SustainableService(node, republish=False).land(small)  # another worker, same files
    assert again.id == first.id and computed is False
    other, computed = service.land(small, base_year=2025)
    assert computed and other.id != first.id and other.inputs["base_year"] == 2025
    assert [r.id for r in service.runs()] == [other.id, first.id] and service.current_id() == other.id


def test_a_file_that_does_not_conform_fails_the_run_with_row_and_column(tmp_path: Path, small: dict[str, Path],
                                                                        db_factory: Any) -> None:
    node = _hub(tmp_path, db_factory())
    service = SustainableService(node, republish=False)
    broken = _broken_energy(small, tmp_path / "broken")
    with pytest.raises(InputRefused, match=r"row 4, column energy_kwh \('-5.0'\): below the minimum 0"):
        service.land(broken)
    run = service.runs()[0]
    assert run.status == "failed" and run.result_dir is None and run.tables is None
    assert "does not conform to accommodation-energy 1.0.0" in (run.error or "")
    assert run.inputs["energy"]["sha256"] == sha256_file(broken["energy"])
    assert service.current() is None  # nothing computed from it
    quarantined = list((node.data_dir / "tourisme-durable" / "quarantine" / "energy").glob("*/report.json"))
    assert len(quarantined) == 1
    # the same files again are checked again (the failed run is claimed anew), not silently skipped
    with pytest.raises(InputRefused):
        service.land(broken)
    assert [r.status for r in service.runs()] == ["failed"]
    good, _ = service.land(small)
    assert good.status == "done" and service.current_id() == good.id


def test_barometer_and_sustainable_runs_stay_apart(tmp_path: Path, small: dict[str, Path], db_factory: Any) -> None:
    node = _hub(tmp_path, db_factory())
    sustainable = SustainableService(node, republish=False)
    run, _ = sustainable.land(small)
    barometer = BarometerService(node, republish=False)
    assert barometer.runs() == [] and barometer.current() is None
    assert barometer.run(run.id) is None  # type: ignore[arg-type]
    other, claimed = claim_run(node, "barometer", "b" * 64, {"bookings": {}}, "duckdb")
    assert claimed and [r.id for r in barometer.runs()] == [other.id]
    assert [r.id for r in sustainable.runs()] == [run.id]
    assert sustainable.run(other.id) is None  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown run kind"):
        claim_run(node, "weather", "c" * 64, {}, "duckdb")


def test_missing_or_unknown_inputs_are_refused_before_anything_is_recorded(tmp_path: Path, small: dict[str, Path],
                                                                           db_factory: Any) -> None:
    from hub.indicators import InputError
    node = _hub(tmp_path, db_factory())
    service = SustainableService(node, republish=False)
    with pytest.raises(InputError, match="missing: trips"):
        service.land({k: v for k, v in small.items() if k != "trips"})
    with pytest.raises(InputError, match="energy file not found"):
        service.land({**small, "energy": tmp_path / "nowhere.parquet"})
    assert service.runs() == []


def test_cli_computes_on_the_hub_and_lists_the_runs(tmp_path: Path, small: dict[str, Path], db_factory: Any) -> None:
    from connector.cli import cli
    node = _hub(tmp_path, db_factory())
    hub = str(node.config.base)
    r = CliRunner()
    files = [x for k, p in small.items() for x in (f"--{k}", str(p))]
    args = ["indicators", "durable", "compute", "--dir", hub, *files]
    res = r.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "run 1 · snapshot " + snapshot_of(small)["id"] in res.output and "energy" in res.output
    res = r.invoke(cli, ["indicators", "durable", "compute", "--dir", hub])  # the last run's files again
    assert res.exit_code == 0 and "already computed for these files" in res.output
    broken = _broken_energy(small, tmp_path / "broken")
    res = r.invoke(cli, args[:5] + [x for k, p in broken.items() for x in (f"--{k}", str(p))])
    assert res.exit_code != 0 and "row 4, column energy_kwh" in res.output
    res = r.invoke(cli, ["indicators", "durable", "runs", "--dir", hub, "--json"])
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)
    assert listed["current"] == 1 and [x["status"] for x in listed["runs"]] == ["failed", "done"]
    assert listed["runs"][1]["inputs"]["trips"]["sha256"] == sha256_file(small["trips"])
    assert listed["runs"][1]["tables"]["transport"]["rows"] > 0 and "energy_kwh" in listed["runs"][0]["error"]
    res = r.invoke(cli, ["indicators", "durable", "runs", "--dir", hub])
    assert res.exit_code == 0 and "* run 1" in res.output and "error: " in res.output
    res = r.invoke(cli, ["indicators", "durable", "compute", "--dir", hub, "--energy", str(small["energy"])])
    assert res.exit_code != 0 and "missing --employment, --arrivals, --trips" in res.output


def test_run_json_shows_what_the_api_lists(tmp_path: Path, small: dict[str, Path]) -> None:
    node = _hub(tmp_path)
    run, _ = SustainableService(node, republish=False).land(small)
    j = run_json(run)
    assert j["kind"] == "sustainable" and j["snapshot"] == run.inputs["snapshot"] and set(j["inputs"]) == set(small)
    assert j["started_at"].endswith("+00:00") and j["status"] == "done"
