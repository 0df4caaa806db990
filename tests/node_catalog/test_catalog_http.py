"""The catalogue between real nodes over loopback HTTP: DSP catalog messages (dsp.md §5, CAT cases of §13),
pagination, publishing through the management API, and the DCAT-AP export. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from connector.store.models import DenialRecord
from connector.testing import LiveSpace
from contracts.schemas import validation_errors

from contracts.schemas import DSP_CONTEXT

CATALOG_REQUEST = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}

DSP = "/dsp/2025-1"


def _token(space: LiveSpace, caller: str, target: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + space.nodes[caller].trust.self_issued_token(space.nodes[target].did)}


def _publish(live: Any, ident: str, file: Path | None, meta: dict[str, Any]) -> httpx.Response:
    body: dict[str, Any] = {"metadata": meta}
    if file is not None:
        body["file"] = str(file)
    return live.api("POST", f"/api/datasets/{ident}/publish", body)


def _request(space: LiveSpace, target: str, url: str | None = None, body: Any = CATALOG_REQUEST,
             caller: str = "occitanie") -> httpx.Response:
    live = space.nodes[target]
    return httpx.post(url or live.url + DSP + "/catalog/request", json=body, headers=_token(space, caller, target),
                      timeout=30)


def test_cat_cases_over_http(space: LiveSpace, tmp_path: Path, kit: Any) -> None:
    her = space.nodes["herault"]
    for ident in ("CAT0101", "CAT0102"):
        r = _publish(her, ident, kit.write_csv(tmp_path / f"{ident}.csv"), kit.metadata(ident))
        assert r.status_code == 201, r.text
    # CAT:01-01: the catalogue is schema-valid and lists the dataset
    r = _request(space, "herault")
    assert r.status_code == 200
    cat = r.json()
    assert validation_errors(cat, "Catalog") == []
    assert cat["participantId"] == her.did and cat["service"]
    ids = {d["dct:identifier"]: d for d in cat["dataset"]}
    assert set(ids) == {"CAT0101", "CAT0102"}
    for d in cat["dataset"]:
        assert d["hasPolicy"] and all("target" not in o for o in d["hasPolicy"])
        dist = d["distribution"][0]
        assert dist["format"] == "HttpData-PULL" and dist["accessService"] == cat["service"][0]["@id"]
    # CAT:01-02: GET the dataset by identifier and by IRI; equal to the catalogue's entry
    for key in ("CAT0102", ids["CAT0102"]["@id"]):
        r = httpx.get(her.url + DSP + "/catalog/datasets/" + key, headers=_token(space, "occitanie", "herault"))
        assert r.status_code == 200, key
        ds = r.json()
        assert validation_errors(ds, "Dataset") == []
        assert {k: v for k, v in ds.items() if k != "@context"} == ids["CAT0102"]
    # CAT:01-03: unknown dataset → 404 CatalogError
    r = httpx.get(her.url + DSP + "/catalog/datasets/nope", headers=_token(space, "occitanie", "herault"))
    assert r.status_code == 404 and r.json()["@type"] == "CatalogError"
    assert validation_errors(r.json(), "CatalogError") == []
    # CAT-04: an unsupported filter → 400; CAT-06: not a valid message → 400, both with a CatalogError
    bad_bodies = [{**CATALOG_REQUEST, "filter": [{"dct:title": "x"}]},
                  {k: v for k, v in CATALOG_REQUEST.items() if k != "@type"},
                  {**CATALOG_REQUEST, "@context": CATALOG_REQUEST["@context"][0]}]
    for body in bad_bodies:
        r = _request(space, "herault", body=body)
        assert r.status_code == 400 and validation_errors(r.json(), "CatalogError") == [], body
    r = httpx.post(her.url + DSP + "/catalog/request", content=b"{not json", headers=_token(space, "occitanie", "herault"))
    assert r.status_code == 400 and r.json()["@type"] == "CatalogError"
    # bad page parameters
    r = _request(space, "herault", url=her.url + DSP + "/catalog/request?limit=0")
    assert r.status_code == 400 and r.json()["code"] == "BAD_PAGE"


def test_unauthenticated_requests_get_401_catalog_errors(space: LiveSpace) -> None:
    her = space.nodes["herault"]
    calls = [httpx.post(her.url + DSP + "/catalog/request", json=CATALOG_REQUEST),
             httpx.get(her.url + DSP + "/catalog/datasets/x"),
             httpx.post(her.url + DSP + "/catalog/request", json=CATALOG_REQUEST,
                        headers={"Authorization": "Bearer not.a.token"})]
    for r in calls:
        assert r.status_code == 401
        assert r.json()["@type"] == "CatalogError" and validation_errors(r.json(), "CatalogError") == []
    with her.node.session() as s:
        codes = [d.code for d in s.exec(select(DenialRecord)).all()]
    assert len(codes) == 3 and "NO_TOKEN" in codes
    # a token for another audience is refused too
    r = httpx.post(her.url + DSP + "/catalog/request", json=CATALOG_REQUEST,
                   headers={"Authorization": "Bearer " + space.nodes["occitanie"].trust.self_issued_token(
                       space.nodes["hub"].did)})
    assert r.status_code == 401


def test_pagination_by_link_headers(space: LiveSpace, tmp_path: Path, kit: Any) -> None:
    her = space.nodes["herault"]
    for i in range(5):
        assert _publish(her, f"ds-{i}", kit.write_csv(tmp_path / f"{i}.csv", seed=str(i)), kit.metadata(f"ds-{i}")
                        ).status_code == 201
    url: str | None = her.url + DSP + "/catalog/request?limit=2"
    seen, pages = [], 0
    while url:
        r = _request(space, "herault", url=url)
        assert r.status_code == 200
        assert validation_errors(r.json(), "Catalog") == []
        seen += [d["dct:identifier"] for d in r.json().get("dataset", [])]
        pages += 1
        link = r.headers.get("Link", "")
        if pages > 1:
            assert 'rel="previous"' in link
        m = re.search(r'<([^>]+)>; rel="next"', link)
        url = m.group(1) if m else None
    assert pages == 3 and seen == [f"ds-{i}" for i in range(5)]
    # past the end: no dataset key (arrays are never empty), no next link
    r = _request(space, "herault", url=her.url + DSP + "/catalog/request?offset=10&limit=2")
    assert r.status_code == 200 and "dataset" not in r.json() and 'rel="next"' not in r.headers.get("Link", "")


def test_bad_metadata_lists_every_problem_and_keeps_the_previous_version(space: LiveSpace, tmp_path: Path, kit: Any) -> None:
    her = space.nodes["herault"]
    good = kit.metadata("capacite")
    assert _publish(her, "capacite", kit.write_csv(tmp_path / "a.csv"), good).status_code == 201
    bad = {**good, "themes": ["TOUR"], "spatial": ["DEP-999"], "temporal": {"start": "2025-01-01", "end": "2024-01-01"}}
    del bad["licence"]
    landed_before = sorted((her.node.data_dir / "published").rglob("*"))
    r = _publish(her, "capacite", kit.write_csv(tmp_path / "b.csv", seed="7"), bad)
    assert r.status_code == 422
    codes = {p["code"] for p in r.json()["problems"]}
    assert {"unknown-theme", "unknown-departement", "bad-date-range", "missing-licence"} <= codes
    assert sorted((her.node.data_dir / "published").rglob("*")) == landed_before  # nothing landed
    r = httpx.get(her.url + DSP + "/catalog/datasets/capacite", headers=_token(space, "occitanie", "herault"))
    assert r.status_code == 200 and r.json()["dcat:version"] == "1"
    assert r.json()["dct:spatial"] == [{"@id": "http://data.europa.eu/nuts/code/FRJ13"}]
    # an unknown file type and a missing file are listed with the rest
    r = _publish(her, "capacite", tmp_path / "missing.txt", {**good, "themes": ["TOUR"]})
    assert r.status_code == 422
    fields = [(p["field"], p["code"]) for p in r.json()["problems"]]
    assert ("file", "unknown-file-type") in fields and ("file", "missing") in fields
    assert ("themes[0]", "unknown-theme") in fields or any(c == "unknown-theme" for _, c in fields)


def test_republishing_records_a_new_version_and_lands_the_file(space: LiveSpace, tmp_path: Path, kit: Any) -> None:
    her = space.nodes["herault"]
    first = kit.write_csv(tmp_path / "v1.csv")
    r1 = _publish(her, "capacite", first, kit.metadata("capacite"))
    assert r1.status_code == 201 and r1.json()["version"] == 1
    # same file, same metadata: nothing new
    r = _publish(her, "capacite", first, kit.metadata("capacite"))
    assert r.status_code == 200 and r.json() == {**r1.json(), "changed": False}
    # a new file by multipart upload: version 2, linked to version 1
    second = kit.write_csv(tmp_path / "v2.csv", rows=5)
    import json
    with open(second, "rb") as f:
        r = httpx.post(her.url + "/api/datasets/capacite/publish",
                       headers={"Authorization": f"Bearer {her.node.admin_token}"},
                       files={"file": ("capacite-2025.csv", f, "text/csv")},
                       data={"metadata": json.dumps(kit.metadata("capacite"))})
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["distributions"][0]["byte_size"] == second.stat().st_size
    import hashlib
    sha = hashlib.sha256(second.read_bytes()).hexdigest()
    assert v2["distributions"][0]["sha256"] == sha
    assert (her.node.data_dir / "published" / "capacite" / f"{sha}.csv").read_bytes() == second.read_bytes()
    assert not list(her.node.data_dir.glob(".upload-*"))
    ds = httpx.get(her.url + DSP + "/catalog/datasets/capacite", headers=_token(space, "occitanie", "herault")).json()
    assert ds["dcat:version"] == "2" and ds["dcat:previousVersion"]["@id"].endswith("/versions/1")
    listing = her.api("GET", "/api/datasets").json()["datasets"]
    assert [(d["identifier"], [v["version"] for v in d["versions"]], d["current"]) for d in listing] == [
        ("capacite", [1, 2], 2)]
    assert her.api("GET", "/api/openapi.json").json()["paths"]["/api/datasets/{dataset_id}/publish"]


def test_dcat_ap_export_is_public_cached_and_valid(space: LiveSpace, tmp_path: Path, kit: Any) -> None:
    from pyshacl import validate
    from rdflib import Graph, Namespace
    her = space.nodes["herault"]
    assert _publish(her, "capacite", kit.write_csv(tmp_path / "a.csv"), kit.metadata("capacite")).status_code == 201
    ttl = httpx.get(her.url + "/catalog.ttl")
    assert ttl.status_code == 200 and ttl.headers["content-type"].startswith("text/turtle")
    again = httpx.get(her.url + "/catalog.ttl", headers={"If-None-Match": ttl.headers["ETag"]})
    assert again.status_code == 304
    jsonld = httpx.get(her.url + "/catalog.jsonld")
    assert jsonld.status_code == 200
    g = Graph().parse(data=ttl.text, format="turtle")
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl", "mdr-vocabularies.shape.ttl", "deprecateduris.ttl"):
        shapes.parse(kit.SPEC / "dcat-ap" / "3.0.1" / "shacl-split" / name)
    _, report, _ = validate(g, shacl_graph=shapes, allow_warnings=True)
    SH = Namespace("http://www.w3.org/ns/shacl#")
    violations = [r for r in report.objects(None, SH.result) if report.value(r, SH.resultSeverity) == SH.Violation]
    assert violations == []
    assert len(Graph().parse(data=jsonld.text, format="json-ld")) == len(g)
