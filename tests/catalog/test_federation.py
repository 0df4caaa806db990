"""The hub's federated index: incremental ingest, stale copies, and search."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

import catalog.federation as federation
from catalog import CatalogView, CatalogueParseError, FederatedIndex, MemoryStore
from catalog.samples import region_indicators, synthetic_catalogue


def pages_of(cat, limit=None):
    view = CatalogView(cat)
    if limit is None:
        return [view.catalog_page().body]
    total = view.catalog_page().total
    return [view.catalog_page(offset=o, limit=limit).body for o in range(0, total, limit)]


@pytest.fixture
def index(campsite, region, now):
    idx = FederatedIndex()
    idx.ingest("campings", pages_of(campsite), at=now)
    idx.ingest("occitanie", pages_of(region), at=now)
    idx.ingest("paca", pages_of(region_indicators(now, "93", "Provence-Alpes-Côte d'Azur")), at=now)
    return idx


def ids(hits):
    return sorted((h.entry.node, h.entry.identifier) for h in hits)


def test_ingest_reads_every_dataset(index, campsite):
    assert len(index) == 6
    entry = next(h.entry for h in index.search("réservations"))
    assert entry.node == "campings" and entry.dataset == campsite.datasets["campings-reservations"].iri
    assert entry.themes == ("ECON", "REGI") and "FRJ13" in entry.spatial and entry.offers == 2
    assert entry.start == date(2024, 1, 1) and entry.version == "1"


def test_unchanged_catalogue_is_not_parsed_again(index, campsite, now, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("re-parsed an unchanged catalogue")

    monkeypatch.setattr(federation, "parse_catalog_pages", fail)
    result = index.ingest("campings", pages_of(campsite), at=now + timedelta(hours=1))
    assert not result.changed and result.datasets == 2


def test_same_etag_skips_parsing(campsite, now, monkeypatch):
    idx = FederatedIndex()
    idx.ingest("campings", pages_of(campsite), at=now, etag='"v1"')
    monkeypatch.setattr(federation, "parse_catalog_pages", lambda *a: (_ for _ in ()).throw(AssertionError()))
    assert not idx.ingest("campings", [b"{}"], at=now, etag='"v1"').changed


def test_changed_catalogue_replaces_the_nodes_entries(index, now):
    smaller = synthetic_catalogue(2, now, node=5)
    index.ingest("campings", pages_of(smaller), at=now + timedelta(days=1))
    assert ids(index.search(publisher="Organisme 5")) == [("campings", "ds-5-00000"), ("campings", "ds-5-00001")]
    assert index.search("réservations") == [] and len(index) == 6


def test_node_down_keeps_last_copy_marked_stale(index, now):
    index.mark_unreachable("occitanie", at=now + timedelta(days=1), error="connection refused")
    hits = index.search(spatial="REG-76")
    assert {h.entry.node for h in hits if h.stale} == {"occitanie"}
    assert all(not h.stale for h in hits if h.entry.node == "campings")
    assert not any(h.entry.node == "occitanie" for h in index.search(spatial="REG-76", include_stale=False))
    record = next(r for r in index.nodes() if r.node == "occitanie")
    assert record.stale and record.error == "connection refused" and record.fetched_at == now


def test_unreadable_catalogue_keeps_last_copy(index, now):
    with pytest.raises(CatalogueParseError) as err:
        index.ingest("occitanie", [b"<html>maintenance</html>"], at=now + timedelta(days=1))
    assert "not JSON" in str(err.value)
    assert {h.entry.node for h in index.search(spatial="REG-76")} >= {"occitanie"}
    assert next(r for r in index.nodes() if r.node == "occitanie").stale


def test_recovered_node_is_fresh_again(index, region, now):
    index.mark_unreachable("occitanie", at=now, error="timeout")
    index.ingest("occitanie", pages_of(region), at=now + timedelta(hours=1))
    assert not any(h.stale for h in index.search(spatial="REG-76"))


def test_index_is_rebuilt_from_its_store(campsite, now):
    store = MemoryStore()
    FederatedIndex(store).ingest("campings", pages_of(campsite, limit=1), at=now)
    again = FederatedIndex(store)
    assert len(again) == 2 and ids(again.search("capacité")) == [("campings", "campings-capacite")]


def test_search_by_text_ignores_accents_case_and_matches_word_starts(index):
    assert ids(index.search("CAPACITE")) == [("campings", "campings-capacite")]
    assert ids(index.search("nuitées")) == [("occitanie", "nuitees"), ("paca", "nuitees")]
    assert ids(index.search("camp book")) == [("campings", "campings-reservations")]
    assert index.search("zzz") == []


def test_search_by_theme(index):
    assert len(index.search(theme="ECON")) == 6
    assert ids(index.search(theme="regi", text="réservations")) == [("campings", "campings-reservations")]
    assert index.search(theme="ENER") == []


def test_search_by_spatial_code_a_region_matches_its_departements(index):
    occitanie = ids(index.search(spatial="REG-76"))
    # the bookings cover Hérault and Gard (in Occitanie); capacity covers all France; the région's own datasets
    assert occitanie == [("campings", "campings-capacite"), ("campings", "campings-reservations"),
                         ("occitanie", "nuitees"), ("occitanie", "taux-occupation")]
    herault = ids(index.search(spatial="DEP-34"))
    assert ("occitanie", "nuitees") in herault and ("paca", "nuitees") not in herault
    assert ids(index.search(spatial="DEP-13")) == [("campings", "campings-capacite"),
                                                   ("campings", "campings-reservations"),
                                                   ("paca", "nuitees"), ("paca", "taux-occupation")]
    # Finistère: only the datasets that cover all of France
    assert ids(index.search(spatial="DEP-29")) == [("campings", "campings-capacite"), ("campings", "campings-reservations")]
    assert ids(index.search(spatial="FRJ13")) == herault
    with pytest.raises(ValueError, match="unknown spatial code"):
        index.search(spatial="DEP-99")


def test_search_by_temporal_range_and_publisher(index):
    assert ids(index.search(start=date(2025, 7, 1), end=date(2025, 12, 31))) == [
        ("campings", "campings-capacite"), ("campings", "campings-reservations")]
    assert len(index.search(end=date(2023, 12, 31))) == 0
    assert ids(index.search(publisher="tourism board", theme="ECON")) == [
        ("occitanie", "nuitees"), ("occitanie", "taux-occupation"), ("paca", "nuitees"), ("paca", "taux-occupation")]
    crt = index.search(publisher="https://region-76.passerelle.example/#crt")
    assert {h.entry.node for h in crt} == {"occitanie"}


def test_nested_and_foreign_compact_forms_are_read(now):
    doc = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@id": "urn:c", "@type": "Catalog",
           "participantId": "did:web:x", "catalog": [{"@id": "urn:sub", "@type": "Catalog", "dataset": [
               {"@id": "urn:ds1", "@type": "Dataset", "http://purl.org/dc/terms/title": "Hôtels de Corse",
                "dcat:theme": "http://publications.europa.eu/resource/authority/data-theme/ECON",
                "dct:spatial": {"@id": "http://data.europa.eu/nuts/code/FRM01"}}]}]}
    idx = FederatedIndex()
    idx.ingest("corse", [json.dumps(doc)], at=now)
    assert ids(idx.search("hotels", theme="ECON", spatial="REG-94")) == [("corse", "urn:ds1")]
