"""The hub recomputes the sustainable-tourism indicators when a pulled input lands: real nodes on loopback (the hub
and a provider publishing the four inputs), agreements negotiated for real, files pulled through the hub's API.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connector.clock import FixedClock
from connector.testing import LiveSpace, open_offer
from hub.sustainable.landing import input_kind, recomputer
from hub.sustainable.service import SustainableService

DATASETS = {"energy": "energie", "employment": "emploi", "arrivals": "arrivees", "trips": "sejours"}


def _broken_energy(energy: Path, out: Path) -> Path:
    """The energy file with one negative kWh (row 4 of the file, header = row 1)."""
    t = pq.read_table(energy)
    kwh = t.column("energy_kwh").to_pylist()
    kwh[2] = -5.0
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(t.set_column(t.schema.get_field_index("energy_kwh"), "energy_kwh", pa.array(kwh, pa.float64())),
                   out)
    return out


class Hub:
    """The hub and one provider on loopback; ``pull(ident)`` lands the provider's dataset at the hub."""

    def __init__(self, space: LiveSpace, files: dict[str, Path]):
        self.space = space
        self.hub, self.provider = space.nodes["hub"], space.nodes["provider"]
        self.agreements: dict[str, str] = {}
        for ident, path in files.items():
            self.agreements[ident] = self._agree(self._publish(ident, path))

    def _publish(self, ident: str, path: Path) -> str:
        return self.provider.publish(ident, path, frequency="MONTHLY")

    def _agree(self, iri: str) -> str:
        ident = iri.rstrip("/").rsplit("/", 1)[-1]
        return self.space.agree("hub", "provider", iri, open_offer(ident)["@id"])

    def pull(self, ident: str, slot: str = "manual") -> dict[str, Any]:
        """Pull through the hub's API; returns the landed file with the hook's outcome (the transfer's)."""
        r = self.hub.api("POST", "/api/transfers/pull", {"agreement": self.agreements[ident], "format": "parquet",
                                                         "slot": slot})
        assert r.status_code == 201, r.text
        landed = r.json()
        outcome = self.hub.app.config["TRANSFERS"].get(landed["transfer"]).get("outcome") or {}
        return {**landed, "outcome": outcome}

    def runs(self) -> list[Any]:
        return SustainableService(self.hub.node).runs()


@pytest.fixture
def hub(tmp_path: Path, db_factory: Any, small: dict[str, Path]) -> Iterator[Hub]:
    space = LiveSpace(tmp_path / "space", FixedClock(time.time()), db_factory)
    try:
        live = space.add("hub", role="hub", enrol=False)
        live.app.config["SCHEDULER_STARTED"] = True  # these tests pull themselves; no scheduled pull runs
        space.enrol("hub")
        space.add("provider", roles=["private_provider"])
        files = {DATASETS[k]: p for k, p in small.items()}
        files["energie-defaut"] = _broken_energy(small["energy"], tmp_path / "bad" / "energy.parquet")
        yield Hub(space, files)
    finally:
        for live in space.nodes.values():
            recomputer(live.node).close()
        space.stop()


def test_the_last_missing_input_starts_one_run_and_the_same_files_again_start_none(hub: Hub) -> None:
    landed = {}
    for kind in ("energy", "employment", "arrivals"):
        landed[kind] = hub.pull(DATASETS[kind])
        assert input_kind(landed[kind]["path"]) == kind
        assert landed[kind]["outcome"]["sustainable"].startswith("waiting: no ")
    assert "trips" in landed["arrivals"]["outcome"]["sustainable"] and hub.runs() == []
    landed["trips"] = hub.pull(DATASETS["trips"])
    started = landed["trips"]["outcome"]
    assert started["sustainable"] == f"run {started['sustainable_run']} started"
    done = recomputer(hub.hub.node).wait(timeout=300)
    assert [r.id for r in done] == [started["sustainable_run"]] and done[0].status == "done", done[0].error
    runs = hub.runs()
    assert [(r.id, r.status) for r in runs] == [(started["sustainable_run"], "done")]
    assert {k: runs[0].inputs[k]["path"] for k in DATASETS} == {k: v["path"] for k, v in landed.items()}
    assert runs[0].inputs["trips"]["sha256"] == landed["trips"]["sha256"]
    assert runs[0].published and "REG-76" in runs[0].published  # re-published as after an explicit computation

    # the same files land again: a week's scheduled pull of unchanged data (a new slot) and a retried pull
    again = hub.pull(DATASETS["employment"], slot="2026-06-22T06:00")
    assert again["duplicate"] is False and again["path"] == landed["employment"]["path"]
    assert again["outcome"]["sustainable"] == f"run {runs[0].id} done (these files were seen before)"
    assert again["outcome"]["sustainable_run"] == runs[0].id
    retried = hub.pull(DATASETS["trips"])
    assert retried["duplicate"] is True and "sustainable" not in retried["outcome"]
    assert [r.id for r in recomputer(hub.hub.node).wait(timeout=300)] == [runs[0].id]
    assert [(r.id, r.status) for r in hub.runs()] == [(runs[0].id, "done")]

    # the explicit computation still answers, with the run the landing started
    r = hub.hub.api("POST", "/api/tourisme-durable/calculs", {k: v["path"] for k, v in landed.items()})
    assert r.status_code == 200 and r.json()["run"] == runs[0].id


def test_a_non_conforming_input_is_quarantined_and_no_run_is_done(hub: Hub) -> None:
    for kind in ("employment", "arrivals", "trips"):
        assert hub.pull(DATASETS[kind])["outcome"]["sustainable"].startswith("waiting: no energy")
    bad = hub.pull("energie-defaut")
    assert input_kind(bad["path"]) == "energy"
    assert bad["outcome"]["sustainable"] == f"run {bad['outcome']['sustainable_run']} started"
    [failed] = recomputer(hub.hub.node).wait(timeout=300)
    assert failed.id == bad["outcome"]["sustainable_run"] and failed.status == "failed"
    assert "accommodation-energy" in failed.error and "row 4" in failed.error and "energy_kwh" in failed.error
    assert [(r.id, r.status) for r in hub.runs()] == [(failed.id, "failed")]
    assert SustainableService(hub.hub.node).current() is None  # nothing for the dashboard
    kept = hub.hub.node.data_dir / "tourisme-durable" / "quarantine" / "energy"
    [report] = list(kept.rglob("report.json"))
    assert report.parent.name.endswith(bad["sha256"][:12])  # the file and its report, kept together
    assert (report.parent / "input.parquet").read_bytes() == Path(bad["path"]).read_bytes()
    assert str(report) in failed.error
    assert Path(bad["path"]).is_file()  # the landing stands: the hub keeps what it received
