"""Each région's slice is a dataset of the hub's DSP catalogue whose territory-bound offer only that région sees."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx

from connector.publishing import distribution_path
from hub.service import dataset_id, offer_id

CATALOG_REQUEST: dict[str, Any] = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                                   "@type": "CatalogRequestMessage", "filter": []}


def _catalogue(space: Any, caller: str) -> dict[str, dict[str, Any]]:
    hub = space.nodes["hub"]
    token = space.nodes[caller].trust.self_issued_token(hub.did)
    r = httpx.post(hub.url + "/dsp/2025-1/catalog/request", json=CATALOG_REQUEST,
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    return {d["@id"].rsplit("/", 1)[-1]: d for d in r.json().get("dataset", [])}


def test_each_region_sees_its_own_slice_only(space: Any, landed: dict[str, Any]) -> None:
    assert {"REG-76", "REG-53"} <= set(landed["published"])
    occitanie = _catalogue(space, "occitanie")
    bretagne = _catalogue(space, "bretagne")
    herault = _catalogue(space, "herault")
    barometre = {k for k in occitanie if k.startswith("barometre-campings-")}
    assert barometre == {dataset_id("REG-76")}
    assert {k for k in bretagne if k.startswith("barometre-campings-")} == {dataset_id("REG-53")}
    assert not any(k.startswith("barometre-campings-") for k in herault)  # a département is not its région
    ds = occitanie[dataset_id("REG-76")]
    offers = ds["hasPolicy"]
    assert [o["@id"] for o in offers] == [offer_id("REG-76")]
    constraint = offers[0]["permission"][0]["constraint"][0]
    assert constraint["operator"] == "hasPart" and constraint["rightOperand"] == "REG-76"
    assert constraint["leftOperand"].endswith("territory")


def test_the_distribution_is_the_regions_csv_with_its_checksum(space: Any, landed: dict[str, Any]) -> None:
    hub = space.nodes["hub"]
    ds = _catalogue(space, "occitanie")[dataset_id("REG-76")]
    dist = ds["distribution"][0] if isinstance(ds["distribution"], list) else ds["distribution"]
    text = str(dist)
    pub = landed["published"]["REG-76"]
    assert pub["sha256"] in text and "text/csv" in text
    stored = distribution_path(hub.node, dataset_id("REG-76"), pub["sha256"], "CSV")
    source = Path(landed["result_dir"]) / "regions" / "REG-76.csv"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == pub["sha256"]
    assert stored.read_bytes() == source.read_bytes()
    header = source.read_text().splitlines()[0]
    assert header.startswith('"table","snapshot_date"')


def test_the_dataset_names_its_snapshot_and_territory(space: Any, landed: dict[str, Any]) -> None:
    from connector.catalog_service import CatalogService
    ds = CatalogService(space.nodes["hub"].node).dataset(dataset_id("REG-76"))
    assert ds is not None
    assert ds.spatial == ("REG-76",) or list(ds.spatial) == ["REG-76"]
    assert "15/06/2026" in ds.version_notes["fr"] and f"n° {landed['id']}" in ds.version_notes["fr"]
    assert ds.frequency == "WEEKLY" and ds.access_rights == "RESTRICTED"
    assert "Occitanie" in ds.title["fr"]
