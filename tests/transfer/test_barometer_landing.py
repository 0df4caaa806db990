"""The hub starts the campsite barometer when the federation's bookings and capacity table have both landed: real
nodes on loopback (the hub and the federation publishing both through its collection pipeline), agreements
negotiated for real, files pulled through the hub's API. The run is computed on the hub's barometer thread, not in
the pull. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq
import pytest

from connector.clock import FixedClock
from connector.testing import LiveSpace, open_offer
from hub.service import BarometerService, barometer_recomputer, snapshot_kind

SNAPSHOT = dt.date(2026, 6, 15)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small season of the federation's members (generated, synthetic): bookings and capacity, as exported."""
    from hub.generate import generate_campsites
    out = tmp_path_factory.mktemp("federation-export")
    generate_campsites(out, campsites=6, season=SNAPSHOT.year, snapshot=SNAPSHOT, seed=0)
    thin = out / "thin" / "capacity.parquet"  # the four columns that name a capacity table, and nothing else
    thin.parent.mkdir()
    pq.write_table(pq.read_table(out / "capacity.parquet",
                                 columns=["campsite_pid", "date", "unit_type", "units_available"]), thin)
    return {"bookings": out / "bookings.parquet", "capacity": out / "capacity.parquet", "thin": thin}


class GatedService(BarometerService):
    """The hub's barometer service, whose computations wait for the test's go and note the thread they ran on: a
    pull that answers while its run is held did not compute it."""

    def __init__(self, node: Any, **kwargs: Any):
        super().__init__(node, **kwargs)
        self.go = threading.Event()
        self.threads: list[str] = []

    def run_claimed(self, claim: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        assert self.go.wait(300), "the test never let the run go"
        return super().run_claimed(claim)


class Federation:
    """The hub and the campsite federation on loopback; ``pull(ident)`` lands the federation's dataset at the hub."""

    def __init__(self, space: LiveSpace, export: dict[str, Path]):
        self.space = space
        self.hub, self.federation = space.nodes["hub"], space.nodes["campings"]
        self.service = GatedService(self.hub.node, catalog=self.hub.app.config["CATALOG"])
        self.recomputer = barometer_recomputer(self.hub.node, self.service)
        assert self.recomputer.service is self.service
        self.agreements = {
            ident: self._agree(self._publish(ident, path, schema)) for ident, path, schema in (
                ("reservations", export["bookings"], "campsite-bookings"),
                ("capacites", export["capacity"], "campsite-capacity"),
                ("capacites-partielles", export["thin"], None))}

    def _publish(self, ident: str, path: Path, schema: str | None) -> str:
        # with a schema, through the collection pipeline: validated, pseudonymised, Parquet
        return self.federation.publish(ident, path, schema=schema)

    def _agree(self, iri: str) -> str:
        ident = iri.rstrip("/").rsplit("/", 1)[-1]
        return self.space.agree("hub", "campings", iri, open_offer(ident)["@id"])

    def pull(self, ident: str, slot: str = "manual") -> dict[str, Any]:
        """Pull through the hub's API; returns the landed file with the barometer's part of the landing's outcome
        (in the pull's answer, and recorded the same on the transfer)."""
        r = self.hub.api("POST", "/api/transfers/pull", {"agreement": self.agreements[ident], "format": "parquet",
                                                         "slot": slot})
        assert r.status_code == 201, r.text
        landed = r.json()
        answered = {k: v for k, v in landed.items() if k.startswith("barometer")}
        recorded = self.hub.app.config["TRANSFERS"].get(landed["transfer"]).get("outcome") or {}
        assert answered == {k: v for k, v in recorded.items() if k.startswith("barometer")}
        return {**landed, "outcome": answered}

    def runs(self) -> list[dict[str, Any]]:
        """The hub's barometer runs, as its API shows them (newest first)."""
        r = self.hub.api("GET", "/api/barometre/runs")
        assert r.status_code == 200, r.text
        return r.json()["runs"]


@pytest.fixture
def fed(tmp_path: Path, db_factory: Any, export: dict[str, Path]) -> Iterator[Federation]:
    space = LiveSpace(tmp_path / "space", FixedClock(time.time()), db_factory)
    recomputers = []
    try:
        live = space.add("hub", role="hub", enrol=False)
        live.app.config["SCHEDULER_STARTED"] = True  # these tests pull themselves; no scheduled pull runs
        space.enrol("hub")
        space.add("campings", roles=["private_provider"])
        federation = Federation(space, export)
        recomputers.append(federation.recomputer)
        yield federation
    finally:
        for r in recomputers:
            r.service.go.set()
            r.close()
        space.stop()


def test_the_capacity_table_landing_after_the_bookings_starts_one_run_off_the_pull(fed: Federation) -> None:
    bookings = fed.pull("reservations")
    assert snapshot_kind(bookings["path"]) == "bookings" and bookings["rows"] > 0
    assert bookings["outcome"] == {"barometer": "waiting: a capacity table has not landed yet"}
    assert fed.runs() == []

    capacity = fed.pull("capacites")
    assert snapshot_kind(capacity["path"]) == "capacity"
    started = capacity["outcome"]
    run_id = started["barometer_run"]
    assert started["barometer"] == f"run {run_id} started"
    # the pull has answered while its run is held on the barometer thread: the pull did not compute it
    [held] = fed.runs()
    assert (held["id"], held["status"]) == (run_id, "running")
    assert held["inputs"]["bookings"]["path"] == str(Path(bookings["path"]).resolve())
    assert held["inputs"]["capacity"]["sha256"] == capacity["sha256"]

    fed.service.go.set()
    [done] = fed.recomputer.wait(timeout=300)
    assert (done.id, done.status) == (run_id, "done"), done.error
    assert len(fed.service.threads) == 1 and fed.service.threads[0].startswith("barometer-recompute")
    [shown] = fed.runs()
    assert shown["status"] == "done" and shown["snapshot_date"] == SNAPSHOT.isoformat()
    assert shown["published"] and "REG-52" in shown["published"]  # régions' slices re-published, as before

    # the same pair lands again: a week's scheduled pull of unchanged data (a new slot), then a retried pull
    again = fed.pull("capacites", slot="2026-06-22T06:00")
    assert again["duplicate"] is False and again["path"] == capacity["path"]
    assert again["outcome"] == {"barometer": f"run {run_id} done (these files were seen before)",
                                "barometer_run": run_id}
    again = fed.pull("reservations", slot="2026-06-22T06:00")
    assert again["outcome"]["barometer"] == f"run {run_id} done (these files were seen before)"
    retried = fed.pull("reservations", slot="2026-06-22T06:00")
    assert retried["duplicate"] is True and "barometer" not in retried["outcome"]
    assert [r.id for r in fed.recomputer.wait(timeout=300)] == [run_id]
    assert [(r["id"], r["status"]) for r in fed.runs()] == [(run_id, "done")]
    assert len(fed.service.threads) == 1


def test_a_run_that_fails_is_recorded_and_the_landing_stands(fed: Federation) -> None:
    fed.service.go.set()
    assert fed.pull("capacites-partielles")["outcome"] == {
        "barometer": "waiting: a bookings snapshot has not landed yet"}
    landed = fed.pull("reservations")  # with a capacity table that lacks the barometer's other columns
    run_id = landed["outcome"]["barometer_run"]
    assert landed["outcome"]["barometer"] == f"run {run_id} started"
    [failed] = fed.recomputer.wait(timeout=300)
    assert (failed.id, failed.status) == (run_id, "failed") and failed.error
    [shown] = fed.runs()
    assert shown["status"] == "failed" and shown["error"] == failed.error
    assert BarometerService(fed.hub.node).current() is None  # nothing for the dashboard
    assert Path(landed["path"]).is_file()  # the hub keeps what it received
