"""The barometer service on a hub: compute and store on a landed snapshot, once per set of files, recompute on a
new snapshot, name the snapshot and inputs of every result, and keep failures visible."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlmodel import select

from connector.catalog_service import CatalogService
from connector.clock import FixedClock
from connector.config import load_config
from connector.init_node import init_node
from connector.node import Node
from hub.collection.atomic import sha256_file
from hub.indicators import TABLES, InputError
from hub.service import (LEASE_SECONDS, BarometerRun, BarometerService, dataset_id, on_snapshot_landed,
                         regional_slice, run_json)
from policies import territory


def _hub(tmp_path: Path, clock: FixedClock | None = None, database_url: str = "") -> Node:
    d = init_node(tmp_path / "hub", name="hub", role="hub", port=1, roles=["national_hub"], database_url=database_url)
    return Node(load_config(d), clock or FixedClock(1_780_000_000))


def test_a_landed_snapshot_is_computed_stored_and_recorded(space: Any, landed: dict[str, Any],
                                                           export: dict[str, Path]) -> None:
    hub = space.nodes["hub"].node
    assert landed["status"] == "done" and landed["snapshot_date"] == "2026-06-15"
    for name, path in export.items():  # the run names the exact files it rests on
        assert landed["inputs"][name]["sha256"] == sha256_file(path)
        assert landed["inputs"][name]["path"] == str(path.resolve())
    result = Path(landed["result_dir"])
    assert result.parent == hub.data_dir / "barometer" and "2026-06-15" in result.name
    manifest = json.loads((result / "run.json").read_text())
    assert manifest["snapshot_date"] == "2026-06-15" and manifest["run"] == landed["id"]
    for name in TABLES:
        t = pq.read_table(result / f"{name}.parquet")
        csv = pacsv.read_csv(result / f"{name}.csv")
        assert t.num_rows == csv.num_rows == landed["tables"][name]["rows"] > 0
        assert set(t.column("snapshot_date").to_pylist()) == {dt.date(2026, 6, 15)}
        hidden = t.filter(pc.equal(t.column("status"), "suppressed"))
        assert hidden.num_rows == landed["tables"][name]["suppressed"] > 0
        value = "person_nights" if name == "country_mix" else ("arrivals" if name == "lead_time" else
                                                               "bookings_created" if name == "cancellations" else
                                                               "unit_nights")
        assert hidden.column(value).null_count == hidden.num_rows  # suppressed is empty, never 0
    with hub.session() as s:
        rows = s.exec(select(BarometerRun)).all()
    assert [r.id for r in rows] == [landed["id"]] and rows[0].seconds and rows[0].seconds > 0


def test_the_same_files_landing_again_are_not_recomputed(space: Any, landed: dict[str, Any],
                                                         export: dict[str, Path]) -> None:
    hub = space.nodes["hub"]
    r = hub.api("POST", "/api/barometre/snapshots", {k: str(v) for k, v in export.items()})
    assert r.status_code == 200 and r.json()["id"] == landed["id"]
    run, computed = BarometerService(hub.node).land(export["bookings"], export["capacity"], export["campsites"])
    assert run.id == landed["id"] and computed is False


def test_a_new_snapshot_triggers_a_recompute_and_a_new_version_of_each_slice(tmp_path: Path, export: dict[str, Path],
                                                                             make_export: Any) -> None:
    generate = make_export
    node = _hub(tmp_path)
    first = on_snapshot_landed(node, export["bookings"], export["capacity"], export["campsites"])
    assert first.status == "done" and first.published and "error" not in first.published
    later = generate(tmp_path / "w26", snapshot=dt.date(2026, 6, 22))
    node.clock.advance(7 * 86400)  # type: ignore[attr-defined]
    service = BarometerService(node)
    second = service.on_snapshot_landed(later["bookings"], later["capacity"], later["campsites"])
    assert second.id != first.id and second.snapshot_date == dt.date(2026, 6, 22)
    assert service.current().id == second.id  # type: ignore[union-attr]
    assert second.inputs["bookings"]["sha256"] == sha256_file(later["bookings"])
    versions = {v["identifier"]: v for v in CatalogService(node).versions()}
    for region, pub in second.published.items():  # type: ignore[union-attr]
        entry = versions[dataset_id(region)]
        assert pub["version"] == entry["current"] == 2 and [x["version"] for x in entry["versions"]] == [1, 2]
    ds = CatalogService(node).dataset(dataset_id("REG-76"))
    assert ds is not None and "22/06/2026" in ds.version_notes["fr"]

    # an older snapshot landing late is kept, but neither becomes current nor is re-published
    older = generate(tmp_path / "w24", snapshot=dt.date(2026, 6, 8), campsites=6)
    late = service.on_snapshot_landed(older["bookings"], older["capacity"], older["campsites"])
    assert late.status == "done" and late.published is None
    assert service.current().id == second.id  # type: ignore[union-attr]
    assert {r.id for r in service.runs()} == {first.id, second.id, late.id}

    # a worker died after writing the first run's folder but before recording it: the lease lapses, the run is
    # taken over, computed again into the same folder, and recorded
    with node.session() as s:
        row = s.get(BarometerRun, first.id)
        row.status, row.started_at = "running", node.clock.utcnow()  # type: ignore[union-attr]
        s.add(row)
        s.commit()
    assert service.land(export["bookings"], export["capacity"], export["campsites"])[1] is False
    node.clock.advance(LEASE_SECONDS + 1)  # type: ignore[attr-defined]
    again, computed = service.land(export["bookings"], export["capacity"], export["campsites"])
    assert computed and again.id == first.id and again.status == "done"
    assert again.result_dir == first.result_dir and (Path(first.result_dir) / "weekly.parquet").is_file()
    assert again.published is None  # not the newest snapshot: not re-published


def test_bad_input_fails_the_run_with_its_reason_and_is_retried(tmp_path: Path, export: dict[str, Path],
                                                                db_factory: Any) -> None:
    node = _hub(tmp_path, database_url=db_factory())
    service = BarometerService(node, republish=False)
    with pytest.raises(InputError, match="lacks required columns"):
        service.on_snapshot_landed(export["capacity"], export["capacity"])
    run = service.runs()[0]
    assert run.status == "failed" and "lacks required columns" in (run.error or "")
    assert service.current() is None
    with pytest.raises(FileNotFoundError, match="no such input"):
        service.on_snapshot_landed(tmp_path / "missing.parquet", export["capacity"])
    # the same failed files landing again are retried (the run is claimed again), not silently skipped
    with pytest.raises(InputError):
        service.on_snapshot_landed(export["capacity"], export["capacity"])
    assert len(service.runs()) == 1


def test_a_running_computation_is_claimed_once_until_its_lease_expires(tmp_path: Path, db_factory: Any) -> None:
    clock = FixedClock(1_780_000_000)
    node = _hub(tmp_path, clock, db_factory())
    a, b = BarometerService(node), BarometerService(node)
    run, claimed = a._claim("k" * 64, {"bookings": {}}, None)
    assert claimed and run.status == "running"
    assert b._claim("k" * 64, {"bookings": {}}, None)[1] is False  # another worker: not twice
    clock.advance(LEASE_SECONDS + 1)  # the first worker died mid-computation
    again, claimed = b._claim("k" * 64, {"bookings": {}}, None)
    assert claimed and again.id == run.id
    assert a._claim("k" * 64, {"bookings": {}}, None)[1] is False


def test_a_regional_slice_holds_only_its_region_and_departements(space: Any, landed: dict[str, Any]) -> None:
    service = BarometerService(space.nodes["hub"].node)
    tables = service.tables(service.current())  # type: ignore[arg-type]
    sl = regional_slice(tables, "REG-76")
    geos = set(sl.column("geo_code").to_pylist())
    allowed = {"REG-76"} | {f"DEP-{d.code}" for d in territory.departements_of("76")}
    assert "REG-76" in geos and geos <= allowed
    assert set(sl.column("table").to_pylist()) == set(TABLES)
    published = sl.filter(pc.equal(sl.column("status"), "published"))
    assert published.num_rows > 0  # Occitanie has enough campsites for some published cells
    hidden = sl.filter(pc.equal(sl.column("status"), "suppressed"))
    for col in ("unit_nights", "capacity", "occupancy_rate", "person_nights", "arrivals"):
        assert hidden.column(col).null_count == hidden.num_rows
    stored = Path(landed["result_dir"]) / "regions" / "REG-76.csv"
    assert pacsv.read_csv(stored).num_rows == sl.num_rows
    assert run_json(service.current())["id"] == landed["id"]  # type: ignore[arg-type]
