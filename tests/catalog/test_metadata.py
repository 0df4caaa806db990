"""Loading metadata from config, validation listing every problem, and versioned publication."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import pytest

from catalog import (MetadataError, catalogue_from_mapping, dataset_from_mapping, publish, validate_metadata)
from catalog.samples import purpose_offer

NODE_TOML = """
[catalog]
participant_id = "did:web:herault.passerelle.example"
endpoint_url = "https://herault.passerelle.example/dsp/2025-1"
title = { fr = "Données touristiques de l'Hérault", en = "Hérault tourism data" }
description = { fr = "Jeux de données du département.", en = "Datasets of the département." }
publisher = { name = { fr = "Hérault Tourisme", en = "Hérault tourism agency" }, iri = "https://herault.passerelle.example/#agence", type = "LocalAuthority" }
contact = { name = "Observatoire", email = "observatoire@herault.passerelle.example" }
licence = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
access_rights = "RESTRICTED"

[datasets.frequentation-campings]
title = { fr = "Fréquentation des campings de l'Hérault", en = "Hérault campsite attendance" }
description = { fr = "Nuitées par semaine.", en = "Nights per week." }
themes = ["ECON", "REGI"]
keywords = { fr = ["tourisme", "camping"], en = ["tourism", "campsite"] }
spatial = ["DEP-34"]
temporal = { start = 2024-01-01, end = 2024-12-31 }
temporal_resolution = "P1W"
frequency = "WEEKLY"
conforms_to = ["https://passerelle.example/schemas/attendance/1.0"]

[[datasets.frequentation-campings.distributions]]
identifier = "parquet"
file_type = "PARQUET"
byte_size = 12345
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

[[datasets.frequentation-campings.offers]]
"@id" = "https://herault.passerelle.example/offers/frequentation/statistics"
"@type" = "Offer"
permission = [{ action = "use", constraint = [{ leftOperand = "odrl:purpose", operator = "eq", rightOperand = "https://passerelle.example/purpose/official-statistics" }] }]
"""


@pytest.fixture
def config():
    return tomllib.loads(NODE_TOML)


@pytest.fixture
def node(config, now):
    return catalogue_from_mapping(config["catalog"], now)


def test_dataset_from_toml_inherits_catalog_defaults(config, node):
    d = dataset_from_mapping("frequentation-campings", config["datasets"]["frequentation-campings"], node)
    assert d.iri == "https://herault.passerelle.example/dsp/2025-1/catalog/datasets/frequentation-campings"
    assert d.licence == "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
    assert d.access_rights == "RESTRICTED" and d.publisher.type == "LocalAuthority"
    assert d.temporal.start == date(2024, 1, 1) and d.spatial == ("DEP-34",)
    assert d.distributions[0].access_service == node.services[0].iri
    assert validate_metadata(config["datasets"]["frequentation-campings"], node, "frequentation-campings") == []


def test_invalid_metadata_lists_every_problem(config, node):
    meta = dict(config["datasets"]["frequentation-campings"])
    meta.update(themes=["TOUR", "ECON"], temporal={"start": "2024-12-31", "end": "2024-01-01"},
                spatial=["DEP-34", "DEP-99", "REG-00"], title={"en": "Only English"}, frequency="SOMETIMES")
    node_without_licence = catalogue_from_mapping({k: v for k, v in config["catalog"].items() if k != "licence"})
    problems = validate_metadata(meta, node_without_licence, "frequentation-campings")
    codes = {(p.field, p.code) for p in problems}
    assert ("themes[0]", "unknown-theme") in codes
    assert ("temporal", "bad-date-range") in codes
    assert ("spatial[1]", "unknown-departement") in codes
    assert ("spatial[2]", "unknown-region") in codes
    assert ("licence", "missing-licence") in codes
    assert ("title.fr", "missing") in codes
    assert ("frequency", "unknown-frequency") in codes
    assert len(problems) == 7, problems
    tour = next(p for p in problems if p.field == "themes[0]")
    assert "no TOUR theme" in tour.message


def test_reader_reports_type_errors_and_unknown_keys(node):
    problems = validate_metadata({"title": "pas une table", "theme": ["ECON"], "temporal": {"start": "hier"},
                                  "distributions": [{"file_type": "CSV", "byte_size": -1, "sha256": "xyz"}]},
                                 node, "x")
    fields = {p.field for p in problems}
    assert {"title", "theme", "temporal.start", "themes", "description", "frequency", "offers",
            "distributions[0].byte_size", "distributions[0].sha256"} <= fields


def test_bad_offers_are_refused(config, node):
    meta = dict(config["datasets"]["frequentation-campings"])
    good = meta["offers"][0]
    meta["offers"] = [dict(good, target="urn:dataset"), dict(good), {"@id": "urn:o2", "@type": "Offer"}]
    problems = validate_metadata(meta, node, "frequentation-campings")
    codes = {(p.field, p.code) for p in problems}
    assert ("offers[0].target", "target-in-offer") in codes
    assert ("offers[1].@id", "duplicate") in codes
    assert any(p.field.startswith("offers[2]") and p.code == "bad-offer" for p in problems)


def test_offer_with_an_unknown_left_operand_is_refused(config, node):
    """Fail closed at publication: the policy validator knows which left operands the evaluator understands."""
    meta = dict(config["datasets"]["frequentation-campings"])
    meta["offers"] = [{"@id": "urn:uuid:0f4c", "@type": "Offer", "permission": [
        {"action": "use", "constraint": [{"leftOperand": "odrl:colour", "operator": "eq", "rightOperand": "blue"}]}]}]
    problems = validate_metadata(meta, node, "frequentation-campings")
    assert [(p.field, p.code) for p in problems] == [("offers[0].permission[0].constraint[0]", "bad-offer")]
    assert "unknown left operand" in problems[0].message


def test_unknown_access_service_is_refused(config, node):
    meta = dict(config["datasets"]["frequentation-campings"])
    meta["distributions"] = [dict(meta["distributions"][0], access_service="https://elsewhere.example/dsp")]
    problems = validate_metadata(meta, node, "frequentation-campings")
    assert [p.code for p in problems] == ["unknown-service"]


def test_republishing_records_versions_and_refusal_keeps_the_current_one(config, node, now):
    meta = config["datasets"]["frequentation-campings"]
    first = publish(node, meta, identifier="frequentation-campings", now=now)
    assert first.changed and first.dataset.version == 1 and first.dataset.previous_version is None

    same = publish(first.catalogue, meta, identifier="frequentation-campings", now=now + timedelta(days=1))
    assert not same.changed and same.catalogue is first.catalogue

    updated = dict(meta, distributions=[dict(meta["distributions"][0], byte_size=99999, sha256="0" * 64)])
    second = publish(first.catalogue, updated, identifier="frequentation-campings", now=now + timedelta(days=7))
    d2 = second.dataset
    assert second.changed and d2.version == 2 and d2.iri == first.dataset.iri
    assert d2.previous_version == first.dataset.version_iri
    assert d2.issued == now and d2.modified == now + timedelta(days=7)
    assert [v.version for v in second.catalogue.versions("frequentation-campings")] == [1, 2]

    broken = dict(updated, themes=["TOURISM"], licence=None, spatial=["DEP-200"])
    broken.pop("licence")
    no_default = catalogue_from_mapping({k: v for k, v in config["catalog"].items() if k != "licence"})
    for base in (second.catalogue, no_default):
        with pytest.raises(MetadataError) as err:
            publish(base, broken, identifier="frequentation-campings", now=now + timedelta(days=8))
    assert {p.code for p in err.value.problems} >= {"unknown-theme", "missing-licence", "unknown-departement"}
    assert second.catalogue.datasets["frequentation-campings"] is d2  # unchanged: version 2 stays current
    assert "3 problems" in str(err.value) or "problems" in str(err.value)


def test_catalog_section_problems_are_all_listed():
    with pytest.raises(MetadataError) as err:
        catalogue_from_mapping({"endpoint_url": "ftp:/x", "title": {"fr": "x"}, "colour": "blue"})
    fields = {p.field for p in err.value.problems}
    assert {"catalog.colour", "catalog.participant_id", "catalog.endpoint_url", "catalog.title.en",
            "catalog.description.fr", "catalog.publisher"} <= fields


def test_offer_helper_builds_a_valid_offer(node, config):
    meta = dict(config["datasets"]["frequentation-campings"],
                offers=[purpose_offer("urn:uuid:6c1f5cfa-0e43-4d4f-9e43-3f0f5b1d2a10", until="2026-12-31T00:00:00Z")])
    assert validate_metadata(meta, node, "frequentation-campings") == []
