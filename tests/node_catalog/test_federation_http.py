"""The hub's federated catalogue over real HTTP: crawl, incremental re-crawl, a node down, search, the page, the
CLI. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from connector.testing import LiveSpace


def _publish(live: Any, ident: str, file: Path, meta: dict[str, Any]) -> None:
    r = live.api("POST", f"/api/datasets/{ident}/publish", {"metadata": meta, "file": str(file)})
    assert r.status_code in (200, 201), r.text


def _crawl(space: LiveSpace) -> dict[str, dict[str, Any]]:
    r = space.nodes["hub"].api("POST", "/api/catalog/crawl")
    assert r.status_code == 200, r.text
    return {n["node"]: n for n in r.json()["nodes"]}


def _search(space: LiveSpace, query: str) -> list[str]:
    r = space.nodes["hub"].api("GET", "/api/catalog/search?" + query)
    assert r.status_code == 200, r.text
    return sorted(d["identifier"] for d in r.json()["datasets"])


def _populate(space: LiveSpace, tmp_path: Path, kit: Any) -> None:
    her, occ = space.nodes["herault"], space.nodes["occitanie"]
    _publish(her, "capacite-34", kit.write_csv(tmp_path / "a.csv"), kit.metadata("capacite-34", dep="34"))
    meta = kit.metadata("nuitees-30", dep="30", title="Nuitées des hôtels")
    meta.update(themes=["SOCI"], keywords={"fr": ["hôtellerie"], "en": ["hotels"]},
                title={"fr": "Nuitées des hôtels (nuitees-30)", "en": "Hotel nights (nuitees-30)"}, temporal={"start": "2022-01-01", "end": "2022-12-31"},
                publisher={"name": {"fr": "CRT Occitanie", "en": "Occitanie tourism board"}, "type": "RegionalAuthority",
                           "iri": "https://occitanie.example/#crt"})
    _publish(occ, "nuitees-30", kit.write_csv(tmp_path / "b.csv", seed="1"), meta)


def test_crawl_is_incremental_survives_a_node_down_and_persists(space: LiveSpace, tmp_path: Path, kit: Any) -> None:
    _populate(space, tmp_path, kit)
    her, occ = space.nodes["herault"], space.nodes["occitanie"]
    first = _crawl(space)
    assert set(first) == {her.did, occ.did}
    assert all(n["ok"] and n["changed"] and n["datasets"] == 1 for n in first.values())
    # unchanged catalogues are not parsed again
    second = _crawl(space)
    assert [(n["changed"], n["detail"]) for n in second.values()] == [(False, "unchanged")] * 2
    # a new version on one node: only that one is re-read
    _publish(her, "capacite-34", kit.write_csv(tmp_path / "c.csv", rows=4), kit.metadata("capacite-34", dep="34"))
    third = _crawl(space)
    assert third[her.did]["changed"] and not third[occ.did]["changed"]
    # a node down keeps its last copy, marked stale
    occ.stop()
    fourth = _crawl(space)
    assert fourth[occ.did]["stale"] and not fourth[occ.did]["ok"] and fourth[occ.did]["datasets"] == 1
    hits = space.nodes["hub"].api("GET", "/api/catalog/search?q=nuitees").json()
    assert [d["stale"] for d in hits["datasets"]] == [True]
    assert {n["node"]: n["stale"] for n in hits["nodes"]} == {her.did: False, occ.did: True}
    assert _search(space, "q=nuitees&fresh=1") == []
    # another worker (a fresh service on the same database) sees the same copies
    from connector.federation import FederatedCatalogue
    hub = space.nodes["hub"]
    other = FederatedCatalogue(hub.node, hub.trust)
    assert sorted(h.entry.identifier for h in other.search()) == ["capacite-34", "nuitees-30"]
    assert {r.node: r.stale for r in other.nodes()} == {her.did: False, occ.did: True}


def test_search_filters_and_page(space: LiveSpace, tmp_path: Path, kit: Any) -> None:
    _populate(space, tmp_path, kit)
    _crawl(space)
    assert _search(space, "") == ["capacite-34", "nuitees-30"]
    assert _search(space, "q=camping") == ["capacite-34"]
    assert _search(space, "q=Nuitees+hotels") == ["nuitees-30"]
    assert _search(space, "theme=SOCI") == ["nuitees-30"]
    assert _search(space, "theme=REGI") == ["capacite-34"]
    assert _search(space, "spatial=REG-76") == ["capacite-34", "nuitees-30"]  # a région finds its départements
    assert _search(space, "spatial=DEP-34") == ["capacite-34"]               # not the neighbour's
    assert _search(space, "spatial=DEP-29") == []
    assert _search(space, "start=2024-06-01&end=2024-07-01") == ["capacite-34"]
    assert _search(space, "end=2022-03-01") == ["nuitees-30"]
    assert _search(space, "publisher=CRT") == ["nuitees-30"]
    assert _search(space, "publisher=https://herault.example/%23org") == ["capacite-34"]
    hub = space.nodes["hub"]
    for bad in ("start=yesterday", "spatial=DEP-999", "start=2025-01-01&end=2024-01-01"):
        assert hub.api("GET", "/api/catalog/search?" + bad).status_code == 400, bad
    # the page: server-rendered, French, no external resources
    import httpx
    page = httpx.get(hub.url + "/catalogue?spatial=DEP-34")
    assert page.status_code == 200 and "Catalogue fédéré" in page.text and "Rechercher" in page.text
    assert "Capacité des campings (capacite-34)" in page.text and "Nuitées des hôtels" not in page.text
    assert "http" not in page.text.split("<body>")[0].replace("http-equiv", "")
    # only the hub keeps a federated catalogue
    her = space.nodes["herault"]
    assert her.api("POST", "/api/catalog/crawl").status_code == 404
    assert her.api("GET", "/api/catalog/search").status_code == 404


def test_cli_publish_crawl_search(space: LiveSpace, tmp_path: Path, kit: Any, monkeypatch: Any) -> None:
    import connector.commands.catalog as commands
    from connector.commands.catalog import catalog, publish
    opened = commands._node

    def on_space_clock(directory: str | None) -> Any:
        """The CLI's node on the servers' frozen clock: its tokens must agree with it (5 s of leeway), however long
        the set-up took."""
        node = opened(directory)
        node.clock = space.clock
        return node
    monkeypatch.setattr(commands, "_node", on_space_clock)
    runner = CliRunner()
    her_dir = str(space.root / "herault")
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(kit.metadata("capacite")), encoding="utf-8")
    data = kit.write_csv(tmp_path / "capacite.csv")
    out = runner.invoke(publish, [str(data), "--dataset", "capacite", "--dir", her_dir, "--metadata", str(meta)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("capacite: version 1 — CSV")
    # bad metadata: a readable refusal listing every problem, non-zero exit, nothing recorded
    bad = {**kit.metadata("capacite"), "themes": ["TOUR"], "spatial": ["DEP-999"]}
    meta.write_text(json.dumps(bad), encoding="utf-8")
    out = runner.invoke(publish, [str(data), "--dataset", "capacite", "--dir", her_dir, "--metadata", str(meta)])
    assert out.exit_code == 1
    assert "2 problem(s)" in out.output and "unknown-theme" in out.output and "unknown-departement" in out.output
    out = runner.invoke(publish, [str(tmp_path / "none.csv"), "--dataset", "capacite", "--dir", her_dir])
    assert out.exit_code == 1 and "no such file" in out.output
    meta.write_text("{", encoding="utf-8")
    out = runner.invoke(publish, [str(data), "--dataset", "x", "--dir", her_dir, "--metadata", str(meta)])
    assert out.exit_code == 1 and "not valid JSON" in out.output
    # the server sees the CLI's publication at once
    listing = space.nodes["herault"].api("GET", "/api/datasets").json()["datasets"]
    assert [(d["identifier"], d["current"]) for d in listing] == [("capacite", 1)]
    hub_dir = str(space.root / "hub")
    out = runner.invoke(catalog, ["crawl", "--dir", hub_dir])
    assert out.exit_code == 0, out.output
    assert "2 participants, 0 stale" in out.output
    out = runner.invoke(catalog, ["search", "camping", "--dir", hub_dir, "--spatial", "REG-76", "--json"])
    assert out.exit_code == 0, out.output
    assert [d["identifier"] for d in json.loads(out.output)["datasets"]] == ["capacite"]
    out = runner.invoke(catalog, ["search", "--dir", hub_dir, "--start", "2030-01-01"])
    assert out.exit_code == 0 and out.output.strip().endswith("0 dataset(s)")
    out = runner.invoke(catalog, ["search", "--dir", hub_dir, "--start", "soon"])
    assert out.exit_code == 2
    out = runner.invoke(catalog, ["crawl", "--dir", her_dir])
    assert out.exit_code == 1 and "not the hub" in out.output
