"""DSP 2025-1 catalog messages: schema validity, the CAT cases of dsp.md §13 that need no HTTP, pagination."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from pyld import jsonld

from catalog import (CatalogRequestError, CatalogView, catalog_error, page_params, read_catalog_request)
from catalog.samples import synthetic_catalogue
from contracts.schemas import DSP_CONTEXT, context_document, validation_errors


@pytest.fixture(scope="module")
def views(campsite, region):
    return [CatalogView(campsite), CatalogView(region)]


def _assert_no_empty_arrays(value, path="$"):
    if isinstance(value, list):
        assert value, f"empty array at {path}"
        for i, v in enumerate(value):
            _assert_no_empty_arrays(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            _assert_no_empty_arrays(v, f"{path}.{k}")


def test_every_message_validates_against_the_2025_1_schemas(views):
    for view in views:
        catalog = view.catalog_message()
        assert validation_errors(catalog) == []
        for ident in view.catalogue.datasets:
            assert validation_errors(view.dataset_message(ident)) == []
    assert validation_errors(catalog_error("UNKNOWN_DATASET", ["no such dataset"])) == []


def test_cat_01_catalog_shape(views):
    for view in views:
        cat = view.catalog_message()
        assert cat["@type"] == "Catalog" and cat["participantId"].startswith("did:web:")
        assert cat["@context"] == [DSP_CONTEXT]
        assert "hasPolicy" not in cat
        services = {s["@id"]: s for s in cat["service"]}
        assert services and all(s["@type"] == "DataService" for s in services.values())
        for ds in cat["dataset"]:
            assert ds["@type"] == "Dataset"
            offer_ids = [o["@id"] for o in ds["hasPolicy"]]
            assert offer_ids and len(set(offer_ids)) == len(offer_ids) and ds["@id"] not in offer_ids
            for offer in ds["hasPolicy"]:
                assert offer["@type"] == "Offer" and "target" not in offer
                assert offer["assigner"] == cat["participantId"]
                assert all("target" not in r for r in offer.get("permission", []))
            for dist in ds["distribution"]:
                assert dist["@type"] == "Distribution" and dist["format"] == "HttpData-PULL"
                service = services[dist["accessService"]]
                assert service["endpointURL"] == view.catalogue.services[0].endpoint_url
        _assert_no_empty_arrays(cat)


def test_cat_02_dataset_equals_its_catalog_entry(views):
    for view in views:
        entries = {d["@id"]: d for d in view.catalog_message()["dataset"]}
        for ident, dataset in view.catalogue.datasets.items():
            by_id = view.dataset_message(ident)
            by_iri = view.dataset_message(dataset.iri)
            assert by_id == by_iri
            assert by_id.pop("@context") == [DSP_CONTEXT]
            assert by_id == entries[dataset.iri]


def test_cat_03_unknown_dataset_is_a_404_catalog_error(views):
    with pytest.raises(CatalogRequestError) as err:
        views[0].dataset_body("no-such-dataset")
    assert err.value.status == 404
    assert validation_errors(err.value.body) == [] and err.value.body["@type"] == "CatalogError"
    assert "no-such-dataset" in err.value.body["reason"][0]


def test_catalog_request_messages():
    assert read_catalog_request(b'{"@context": ["%s"], "@type": "CatalogRequestMessage", "filter": []}'
                                % DSP_CONTEXT.encode()).filter == ()
    assert read_catalog_request({"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage"}).filter == ()


@pytest.mark.parametrize("body, code", [
    ({"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": [{"theme": "ECON"}]},
     "UNSUPPORTED_FILTER"),  # CAT-04
    ({"@context": [DSP_CONTEXT], "filter": []}, "BAD_REQUEST"),  # CAT-06: @type missing
    ({"@context": DSP_CONTEXT, "@type": "CatalogRequestMessage"}, "BAD_REQUEST"),  # CAT-06: context as a string
    ({"@context": [DSP_CONTEXT], "@type": "DatasetRequestMessage", "dataset": "x"}, "BAD_REQUEST"),
    (b"{not json", "BAD_REQUEST"),
])
def test_cat_04_06_bad_requests_are_400_catalog_errors(body, code):
    with pytest.raises(CatalogRequestError) as err:
        read_catalog_request(body)
    assert err.value.status == 400 and err.value.code == code
    assert validation_errors(err.value.body) == [] and err.value.body["reason"]


def test_cat_07_pagination_follows_next_links_to_the_end(now):
    view = CatalogView(synthetic_catalogue(23, now))
    url = "https://node-0.passerelle.example/dsp/2025-1/catalog/request"
    seen, offset, limit, pages = [], 0, 10, 0
    while True:
        page = view.catalog_page(offset=offset, limit=limit, url=url)
        msg = page.message()
        assert validation_errors(msg) == []
        seen += [d["@id"] for d in msg["dataset"]]
        pages += 1
        rels = {link.rsplit("rel=", 1)[1].strip('"'): link for link in page.links}
        if pages == 1:
            assert "previous" not in rels
        else:
            assert "previous" in rels
        if "next" not in rels:
            break
        target = rels["next"][1:rels["next"].index(">")]
        assert target.startswith(url + "?")
        query = dict(p.split("=") for p in target.split("?", 1)[1].split("&"))
        offset, limit = page_params(query)
    assert pages == 3 and len(seen) == len(set(seen)) == 23
    assert seen == [view.catalogue.datasets[i].iri for i in sorted(view.catalogue.datasets)]
    assert view.catalog_page().total == 23 and view.catalog_page().links == []


def test_page_beyond_the_end_has_no_dataset_key(now):
    view = CatalogView(synthetic_catalogue(3, now))
    msg = view.catalog_page(offset=10, limit=5, url="https://x.example/catalog/request").message()
    assert "dataset" not in msg and validation_errors(msg) == []


@pytest.mark.parametrize("query", [{"offset": "-1"}, {"limit": "0"}, {"limit": "5000"}, {"offset": "a"}])
def test_bad_page_parameters(query):
    with pytest.raises(CatalogRequestError) as err:
        page_params(query)
    assert err.value.status == 400


def test_hidden_offers_and_datasets(monkeypatch, campsite):
    """The evaluator hook: a filtered offer disappears, a dataset without visible offers answers 404."""
    import catalog.dsp_views as views_module

    def only_aggregate(dataset, requester):
        return tuple(o for o in dataset.offers if o["@id"].endswith("/aggregate"))

    monkeypatch.setattr(views_module, "visible_offers", only_aggregate)
    view = CatalogView(campsite)
    cat = view.catalog_message()
    assert [d["dct:identifier"] for d in cat["dataset"]] == ["campings-reservations"]
    assert [o["@id"].rsplit("/", 1)[1] for o in cat["dataset"][0]["hasPolicy"]] == ["aggregate"]
    assert validation_errors(cat) == []
    with pytest.raises(CatalogRequestError) as err:
        view.dataset_body("campings-capacite")
    assert err.value.status == 404


def test_empty_catalogue_omits_dataset(campsite):
    msg = CatalogView(replace(campsite, datasets={}, history={})).catalog_message()
    assert "dataset" not in msg and validation_errors(msg) == []


def _loader(url, options=None):
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": context_document(url), "tag": "static"}


def test_x02_catalog_expands_offline_to_dcat_and_odrl_terms(campsite):
    """JSON-LD processing of our compact catalogue yields the intended IRIs (no relative IRI, nothing fetched)."""
    cat = CatalogView(campsite).catalog_message()
    expanded = jsonld.expand(cat, {"documentLoader": _loader, "base": None})
    text = json.dumps(expanded)
    assert "http://www.w3.org/ns/dcat#Dataset" in text and "http://www.w3.org/ns/odrl/2/Offer" in text
    assert "http://purl.org/dc/terms/title" in text and "http://xmlns.com/foaf/0.1/name" in text
    assert "http://www.w3.org/ns/odrl/2/purpose" in text and "http://www.w3.org/ns/dcat#endpointURL" in text
    assert "example.org/base" not in text


def test_a_view_built_on_the_previous_one_equals_a_fresh_view() -> None:
    """Only the datasets that changed are serialised again; the bodies are those of a view built from scratch."""
    from datetime import datetime, timezone
    from catalog import publish
    now = datetime(2025, 7, 1, tzinfo=timezone.utc)
    cat = synthetic_catalogue(20, now)
    before = CatalogView(cat)
    ident = sorted(cat.datasets)[3]
    changed = publish(cat, replace(cat.datasets[ident], title={"fr": "Révisé", "en": "Revised"}), now=now).catalogue
    after, fresh = CatalogView(changed, previous=before), CatalogView(changed)
    assert after.catalog_page().body == fresh.catalog_page().body != before.catalog_page().body
    assert after.dataset_body(ident) == fresh.dataset_body(ident)
    assert after._fragments[ident] is not before._fragments[ident]
    kept = sorted(cat.datasets)[4]
    assert after._fragments[kept] is before._fragments[kept]
