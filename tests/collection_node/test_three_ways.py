"""One pipeline reached three ways: ``passerelle publish``, the drop folder and the upload (page/API) all validate,
pseudonymise and publish the same file as the same Parquet rows, each as a new dataset version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
from click.testing import CliRunner

from connector.collection import process_drop_folder, submissions
from connector.commands.catalog import publish
from hub.schemas import load_schema

IRI = load_schema("campsite-bookings").iri


def _three(kit: Any) -> str:
    extra = ""
    for way in ("cli", "depot", "page"):
        extra += kit.SECTION.replace("{max_bytes}", str(1 << 20)).replace(kit.DATASET, f"resa-{way}")
    return extra


def _datasets(live: Any) -> dict[str, Any]:
    r = live.api("GET", "/api/datasets")
    assert r.status_code == 200, r.text
    return {d["identifier"]: d for d in r.json()["datasets"]}


def _upload(live: Any, ident: str, path: Path, name: str | None = None) -> httpx.Response:
    with open(path, "rb") as f:
        return httpx.post(f"{live.url}/api/collection/{ident}/uploads", timeout=30,
                          headers={"Authorization": f"Bearer {live.node.admin_token}"},
                          files={"file": (name or path.name, f, "application/octet-stream")})


def _rows(live: Any, ident: str) -> tuple[Any, dict[str, Any]]:
    ds = live.app.config["CATALOG"].catalogue().datasets[ident]
    dist = ds.distributions[0]
    path = live.node.data_dir / "published" / ident / f"{dist.sha256}.parquet"
    return pq.read_table(path), {"version": ds.version, "conforms_to": ds.conforms_to, "file_type": dist.file_type}


def test_the_three_ways_publish_the_same_rows(provider: Any, kit: Any, tmp_path: Path) -> None:
    kit.add_datasets(provider, _three(kit))
    export = kit.write_csv(tmp_path / "semaine-25.csv", kit.good_rows())

    # 1. passerelle publish
    res = CliRunner().invoke(publish, [str(export), "--dataset", "resa-cli", "--dir", str(provider.node.config.base)])
    assert res.exit_code == 0, res.output
    assert "resa-cli: version 1" in res.output and "PARQUET" in res.output

    # 2. the drop folder
    drop = provider.node.config.base / "depot" / "resa-depot"
    drop.mkdir(parents=True)
    (drop / "semaine-25.csv").write_bytes(export.read_bytes())
    subs = process_drop_folder(provider.node, "resa-depot", min_age=0)
    assert [s.status for s in subs] == ["published"]
    assert not (drop / "semaine-25.csv").exists() and len(list((drop / "done").iterdir())) == 1

    # 3. the upload route (the page posts the same multipart form)
    r = _upload(provider, "resa-page", export)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "published" and r.json()["version"] == 1 and r.json()["rows"] == 6

    tables = {}
    for ident in ("resa-cli", "resa-depot", "resa-page"):
        table, info = _rows(provider, ident)
        assert info == {"version": 1, "conforms_to": (IRI,), "file_type": "PARQUET"}
        tables[ident] = table
        col = table.column("booking_pid").to_pylist()
        assert all(v.startswith("b1:") for v in col) and "BK1" not in col  # pseudonymised at source
        assert all(v.startswith("c1:") for v in table.column("campsite_pid").to_pylist())
    assert tables["resa-cli"].equals(tables["resa-depot"]) and tables["resa-cli"].equals(tables["resa-page"])

    # each way records the submission with its way
    assert [s.via for s in submissions(provider.node, "resa-depot")] == ["depot"]
    assert [s.via for s in submissions(provider.node, "resa-page")] == ["api"]

    # the public DCAT-AP export announces the schema as dct:conformsTo
    ttl = httpx.get(provider.url + "/catalog.ttl").text
    assert IRI in ttl and "conformsTo" in ttl


def test_a_new_file_is_a_new_version_each_way(provider: Any, kit: Any, tmp_path: Path) -> None:
    ident = kit.DATASET
    week1 = kit.write_csv(tmp_path / "s25.csv", kit.good_rows())
    rows = kit.good_rows()
    rows[-1]["amount_eur"] = "42.0"
    week2 = kit.write_csv(tmp_path / "s26.csv", rows)
    rows[-1]["amount_eur"] = "43.0"
    week3 = kit.write_csv(tmp_path / "s27.csv", rows)

    res = CliRunner().invoke(publish, [str(week1), "--dataset", ident, "--dir", str(provider.node.config.base)])
    assert res.exit_code == 0, res.output
    drop = provider.node.config.base / "depot" / ident
    drop.mkdir(parents=True)
    (drop / "s26.csv").write_bytes(week2.read_bytes())
    assert [s.version for s in process_drop_folder(provider.node, ident, min_age=0)] == [2]
    r = _upload(provider, ident, week3)
    assert r.status_code == 201 and r.json()["version"] == 3
    # the same file again through the API: nothing new
    r = _upload(provider, ident, week3)
    assert r.status_code == 200 and r.json()["status"] == "unchanged" and r.json()["version"] == 3
    table, info = _rows(provider, ident)
    assert info["version"] == 3 and 43.0 in table.column("amount_eur").to_pylist()
    # earlier versions' files stay (content-addressed): an agreement may still pull them
    assert len(list((provider.node.data_dir / "published" / ident).glob("*.parquet"))) == 3


def test_cli_refusal_is_one_clear_message(provider: Any, kit: Any, tmp_path: Path) -> None:
    rows = kit.good_rows()
    rows[1]["nights"] = "trois"
    bad = kit.write_csv(tmp_path / "bad.csv", rows)
    res = CliRunner().invoke(publish, [str(bad), "--dataset", kit.DATASET, "--dir", str(provider.node.config.base)])
    assert res.exit_code == 1
    assert "file refused, nothing published" in res.output and "row 3, nights: not an integer" in res.output
    assert "report:" in res.output
    assert _datasets(provider) == {}


def test_datasets_without_schema_publish_as_before(provider: Any, kit: Any, tmp_path: Path) -> None:
    section = kit.SECTION.replace("{max_bytes}", "1000").replace(kit.DATASET, "capacite")
    section = section.replace('schema = "campsite-bookings"\nmax_upload_bytes = 1000\n', "")
    kit.add_datasets(provider, section)
    f = tmp_path / "capacite.csv"
    f.write_text("dep,emplacements\n34,100\n", encoding="utf-8")
    res = CliRunner().invoke(publish, [str(f), "--dataset", "capacite", "--dir", str(provider.node.config.base),
                                       "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["distributions"][0]["file_type"] == "CSV"


def test_schema_found_from_conforms_to_and_bad_schema_named(provider: Any, kit: Any) -> None:
    from connector.collection import take_settings
    m: dict[str, Any] = {"conforms_to": ["https://example.org/other", IRI]}
    s, problems = take_settings(m)
    assert s is not None and s.schema.name == "campsite-bookings" and not problems and m["conforms_to"][-1] == IRI
    m = {"schema": "campsite-bokings"}
    s, problems = take_settings(m)
    assert s is None and problems[0].code == "unknown-schema" and "campsite-bookings" in problems[0].message
    m = {"conforms_to": ["https://passerelle.example/schemas/campsite-capacity/1.0"]}
    assert take_settings(m) == (None, [])
