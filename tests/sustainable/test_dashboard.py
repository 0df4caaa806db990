"""The hub computes the sustainable indicators through its API, stores them, re-publishes each région's slice with a
territory-bound offer, and shows them on "Tourisme durable" (API and headless Chromium)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from connector.clock import FixedClock
from connector.testing import LiveSpace, watch_page

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Iterator[LiveSpace]:
    s = LiveSpace(tmp_path_factory.mktemp("space"), FixedClock(time.time()))
    s.add("hub", role="hub", enrol=False)
    s.enrol("hub")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def run(space, generated) -> dict[str, Any]:
    r = space.nodes["hub"].api("POST", "/api/tourisme-durable/calculs", {k: str(v) for k, v in generated.items()})
    assert r.status_code == 201, r.text
    return r.json()


def test_run_is_stored_and_republished_per_region(run) -> None:
    assert run["tables"]["energy"]["suppressed"] > 0
    pub = run["published"]
    assert "error" not in pub and "REG-76" in pub and pub["REG-76"]["dataset"] == "tourisme-durable-reg-76"
    assert Path(run["snapshot"]["inputs"]["energy"]["path"]).exists()


def test_board_json_has_three_pillars_and_the_region_filter_changes_it(space, run) -> None:
    hub = space.nodes["hub"]
    fr = hub.api("GET", "/api/tourisme-durable").json()
    assert [p["id"] for p in fr["pillars"]] == ["economique", "social", "environnemental"]
    for p in fr["pillars"]:
        assert all(i["trend"] and i["definition"] and i["sources"] for i in p["indicators"]), p["id"]
    occ = hub.api("GET", "/api/tourisme-durable?region=REG-76").json()
    assert occ["geo_label"] == "Occitanie" and occ["pillars"][0]["indicators"][0]["trend"] != \
        fr["pillars"][0]["indicators"][0]["trend"]
    assert hub.api("GET", "/api/tourisme-durable?region=REG-99").status_code == 400


def test_runs_are_listed_and_the_same_files_are_not_recomputed(space, run, generated) -> None:
    hub = space.nodes["hub"]
    again = hub.api("POST", "/api/tourisme-durable/calculs", {k: str(v) for k, v in generated.items()})
    assert again.status_code == 200 and again.json()["run"] == run["run"]
    listed = hub.api("GET", "/api/tourisme-durable/runs").json()
    assert listed["current"] == run["run"]
    mine = next(r for r in listed["runs"] if r["id"] == run["run"])
    assert mine["kind"] == "sustainable" and mine["status"] == "done" and mine["snapshot"] == run["snapshot"]["id"]
    assert {k: v["sha256"] for k, v in mine["inputs"].items()} == {
        k: v["sha256"] for k, v in run["snapshot"]["inputs"].items()}
    assert {k: v["rows"] for k, v in mine["tables"].items()} == {k: v["rows"] for k, v in run["tables"].items()}
    # the barometer's runs are its own
    assert all(r["id"] != run["run"] for r in hub.api("GET", "/api/barometre/runs").json()["runs"])


def test_a_file_that_does_not_conform_is_refused_with_row_and_column(space, run, generated, tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pq.read_table(generated["trips"])
    modes = t.column("transport_mode").to_pylist()
    modes[4] = "teleport"
    i = t.schema.get_field_index("transport_mode")
    pq.write_table(t.set_column(i, t.schema.field(i), pa.array(modes, pa.string())), tmp_path / "trips.parquet")
    hub = space.nodes["hub"]
    r = hub.api("POST", "/api/tourisme-durable/calculs", {**{k: str(v) for k, v in generated.items()},
                                                           "trips": str(tmp_path / "trips.parquet")})
    assert r.status_code == 422, r.text
    msg = r.json()["message"]
    assert "trips file" in msg and "does not conform to visitor-trips 1.0.0" in msg
    assert "row 6, column transport_mode ('teleport'): not one of car, train, plane, coach, other" in msg
    listed = hub.api("GET", "/api/tourisme-durable/runs").json()
    assert listed["runs"][0]["status"] == "failed" and "teleport" in listed["runs"][0]["error"]
    assert listed["current"] == run["run"]  # the board still shows the last good run


def test_bad_request_lists_what_is_missing(space) -> None:
    r = space.nodes["hub"].api("POST", "/api/tourisme-durable/calculs", {"energy": "/nowhere"})
    assert r.status_code == 400 and "'trips'" in r.json()["detail"] if "detail" in r.json() else r.status_code == 400


@pytest.mark.browser
def test_page_in_headless_chromium(space, run, chromium) -> None:
    hub = space.nodes["hub"]
    ctx = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        ctx.add_cookies([{"name": "passerelle_admin", "value": hub.node.admin_token, "url": hub.url}])
        pg = ctx.new_page()
        errors, outside = watch_page(pg, hub.url)
        pg.goto(hub.url + "/tourisme-durable")
        pg.wait_for_selector("body[data-state=ready]", timeout=20000)
        for pillar in ("economique", "social", "environnemental"):
            assert int(pg.locator(f"#p-{pillar}").get_attribute("data-points")) > 0, pillar
        before = pg.inner_html("#c-international_arrivals .tendance")
        assert "Définition" in pg.inner_text("#c-energy_per_night footer")
        pg.evaluate("document.body.setAttribute('data-state', 'changing')")
        pg.select_option("#f-region", "REG-76")
        pg.wait_for_selector("body[data-state=ready]", timeout=20000)
        assert "Occitanie" in pg.inner_text("#c-international_arrivals h3")
        assert pg.inner_html("#c-international_arrivals .tendance") != before
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "tourisme-durable-occitanie.png"), full_page=True)
        assert not errors, errors
        assert not outside, outside
    finally:
        ctx.close()
