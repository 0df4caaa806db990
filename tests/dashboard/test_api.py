"""The barometer's JSON on the hub: operator-only, filters checked, suppressed cells never sent as numbers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def _get(space: Any, path: str, auth: bool = True) -> httpx.Response:
    hub = space.nodes["hub"]
    headers = {"Authorization": f"Bearer {hub.node.admin_token}"} if auth else {}
    return httpx.get(hub.url + path, headers=headers, timeout=30)


def _cells(obj: Any) -> list[dict[str, Any]]:
    if isinstance(obj, dict):
        if "s" in obj and "v" in obj:
            return [obj]
        return [c for v in obj.values() for c in _cells(v)]
    if isinstance(obj, list):
        return [c for v in obj for c in _cells(v)]
    return []


def test_the_api_is_for_the_hubs_operators(space: Any, landed: dict[str, Any]) -> None:
    for path in ("/api/barometre", "/api/barometre/tableau", "/api/barometre/runs", "/api/barometre/tables/weekly.csv"):
        assert _get(space, path, auth=False).status_code == 401
    r = httpx.post(space.nodes["hub"].url + "/api/barometre/snapshots", json={}, timeout=30,
                   cookies={"passerelle_admin": space.nodes["hub"].node.admin_token})
    assert r.status_code == 401  # landing files takes the header, never the page's cookie
    occitanie = space.nodes["occitanie"]
    r = httpx.get(occitanie.url + "/api/barometre", headers={"Authorization": f"Bearer {occitanie.node.admin_token}"},
                  timeout=30)
    assert r.status_code == 404 and r.json()["error"] == "not_hub"
    assert httpx.get(occitanie.url + "/barometre", timeout=30).status_code == 404


def test_summary_names_the_run_and_its_snapshot(space: Any, landed: dict[str, Any]) -> None:
    body = _get(space, "/api/barometre").json()
    assert body["run"]["id"] == landed["id"] and body["run"]["snapshot_date"] == "2026-06-15"
    assert body["run"]["inputs"]["bookings"]["sha256"] == landed["inputs"]["bookings"]["sha256"]
    opts = body["options"]
    assert opts["default_week"] == "2026-W25" and {"code": "REG-76", "name": "Occitanie"} in opts["regions"]
    assert [u["code"] for u in opts["units"]] == ["ALL", "PITCH", "RENTAL"]
    runs = _get(space, "/api/barometre/runs").json()
    assert runs["current"] == landed["id"]
    csv = _get(space, "/api/barometre/tables/pace.csv")
    assert csv.status_code == 200 and csv.text.startswith('"snapshot_date"') and "suppressed" in csv.text
    assert _get(space, "/api/barometre/tables/secret.csv").status_code == 404


def test_the_board_follows_its_filters(space: Any, landed: dict[str, Any]) -> None:
    fr = _get(space, "/api/barometre/tableau").json()
    assert fr["filters"] == {"region": None, "geo": "FR", "geo_name": "France", "unit": "ALL", "week": "2026-W25",
                             "week_label": fr["filters"]["week_label"]}
    assert fr["source"]["snapshot_date"] == "2026-06-15" and fr["source"]["run"] == landed["id"]
    occ = _get(space, "/api/barometre/tableau?region=REG-76&unit=RENTAL&week=2026-W30").json()
    assert occ["filters"]["geo"] == "REG-76" and occ["filters"]["week"] == "2026-W30"
    assert "Occitanie" in occ["charts"]["occupancy"]["title"] and "Locatifs" in occ["charts"]["occupancy"]["title"]
    assert occ["charts"]["occupancy"]["series"] != fr["charts"]["occupancy"]["series"]
    assert [r["code"] for r in occ["charts"]["pace"]["rows"]][0] == "REG-76"
    assert all(r["code"].startswith("DEP-") for r in occ["charts"]["pace"]["rows"][1:])
    assert len(occ["charts"]["on_the_books"]["points"]) == 12
    for body in (fr, occ):
        cells = _cells(body)
        assert any(c["s"] == "published" for c in cells) and any(c["s"] == "suppressed" for c in cells)
        assert all(c["v"] is None for c in cells if c["s"] != "published")  # never a number for a hidden cell


@pytest.mark.parametrize("query, words", [
    ("region=REG-99", ["REG-99"]),
    ("unit=TENT", ["TENT"]),
    ("week=2026-W99", ["invalid ISO week"]),
    ("week=2024-W30", ["hors de la saison"]),
    ("region=REG-01&unit=X", ["REG-01", "'X'"]),
])
def test_a_bad_filter_is_refused_with_every_problem(space: Any, landed: dict[str, Any], query: str,
                                                    words: list[str]) -> None:
    r = _get(space, "/api/barometre/tableau?" + query)
    assert r.status_code == 400 and r.json()["error"] == "bad_filter"
    for w in words:
        assert w in r.json()["message"]


def test_landing_refuses_a_malformed_body_and_names_bad_files(space: Any, landed: dict[str, Any],
                                                              tmp_path: Any) -> None:
    hub = space.nodes["hub"]
    r = hub.api("POST", "/api/barometre/snapshots", {"capacity": 3, "snapshot": "15/06/2026"})
    assert r.status_code == 400
    msg = r.json()["message"]
    assert "'bookings'" in msg and "'capacity'" in msg and "YYYY-MM-DD" in msg
    r = hub.api("POST", "/api/barometre/snapshots", {"bookings": str(tmp_path / "none.parquet"),
                                                     "capacity": str(tmp_path / "none.parquet")})
    assert r.status_code == 422 and "no such input" in r.json()["message"]


def test_a_hub_without_any_snapshot_says_so(tmp_path: Any) -> None:
    from connector.app import create_app
    from connector.config import load_config
    from connector.init_node import init_node
    from connector.node import Node
    node = Node(load_config(init_node(tmp_path / "hub", name="hub", role="hub", port=1, roles=["national_hub"])))
    client = create_app(node).test_client()
    auth = {"Authorization": f"Bearer {node.admin_token}"}
    assert client.get("/api/barometre", headers=auth).get_json() == {"run": None, "options": None}
    r = client.get("/api/barometre/tableau", headers=auth)
    assert r.status_code == 404 and r.get_json()["error"] == "no_result"
    page = client.get("/barometre", headers=auth).get_data(as_text=True)
    assert "Aucun calcul disponible" in page and "barometre.js" in page
    assert "Jeton d'administration" in client.get("/barometre").get_data(as_text=True)
