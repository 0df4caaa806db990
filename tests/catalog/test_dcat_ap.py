"""DCAT-AP 3.0.1 export checked with pyshacl against the official split shapes (standards.md §2, C-DCAT-01…06)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.compare import isomorphic

from catalog import DcatApExport, catalogue_graph
from catalog.samples import synthetic_catalogue

SH = Namespace("http://www.w3.org/ns/shacl#")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's own parsers, not our code
CORE = ["shapes.ttl", "range.ttl", "mdr-vocabularies.shape.ttl", "deprecateduris.ttl"]


@pytest.fixture(scope="module")
def shapes(spec):
    g = Graph()
    for name in CORE:
        g.parse(spec / "dcat-ap" / "3.0.1" / "shacl-split" / name)
    return g


def _results(data: Graph, shapes: Graph, severity=SH.Violation):
    _, report, _ = validate(data, shacl_graph=shapes, allow_warnings=True)
    out = set()
    for r in report.objects(None, SH.result):
        if report.value(r, SH.resultSeverity) == severity:
            component = str(report.value(r, SH.sourceConstraintComponent)).rsplit("#", 1)[1]
            out.add((str(report.value(r, SH.focusNode)), str(report.value(r, SH.resultPath)), component))
    return out


def test_demo_catalogues_have_no_violation(campsite, region, shapes):
    """C-DCAT-01: the export alone (no vocabulary extract, no RDFS inference) conforms."""
    for cat in (campsite, region):
        assert _results(catalogue_graph(cat), shapes) == set()


def test_recommended_shapes_give_warnings_only(campsite, spec, shapes):
    rec = Graph().parse(spec / "dcat-ap" / "3.0.1" / "shacl-split" / "shapes_recommended.ttl")
    assert _results(catalogue_graph(campsite), rec + shapes) == set()
    warnings = _results(catalogue_graph(campsite), shapes, SH.Warning)
    # expected and documented: publishers are not in the EU corporate-body table; NUTS IRIs are not in its place table
    assert {path.rsplit("/", 1)[1] for _, path, _ in warnings} == {"publisher", "spatial"}


def test_broken_dataset_gives_the_expected_violations(campsite, shapes):
    d = campsite.datasets["campings-reservations"]
    broken = replace(d, description={}, frequency="SOMETIMES",
                     distributions=(replace(d.distributions[0], byte_size=-5),) + d.distributions[1:])
    cat = replace(campsite, datasets={**campsite.datasets, d.identifier: broken})
    dist = f"{d.iri}/distributions/parquet"
    dct, dcat = "http://purl.org/dc/terms/", "http://www.w3.org/ns/dcat#"
    assert _results(catalogue_graph(cat), shapes) == {
        (d.iri, dct + "description", "MinCountConstraintComponent"),
        (d.iri, dct + "accrualPeriodicity", "ClassConstraintComponent"),
        (d.iri, dct + "accrualPeriodicity", "NodeConstraintComponent"),
        (dist, dcat + "byteSize", "DatatypeConstraintComponent"),
    }


def test_shared_broken_fixture_gives_three_violations(spec):
    """C-DCAT-04, the negative control of the reference fixture (checks our use of pyshacl too)."""
    shapes = Graph().parse(spec / "dcat-ap" / "3.0.1" / "shacl-split" / "shapes.ttl")
    data = Graph().parse(spec / "fixtures" / "tourism-catalogue.broken.ttl")
    assert {c for _, _, c in _results(data, shapes)} == {"MinCountConstraintComponent", "NodeKindConstraintComponent",
                                                          "DatatypeConstraintComponent"}


def test_c_dcat_05_every_dataset_carries_themes_places_period_and_frequency(campsite, region, now):
    for cat in (campsite, region, synthetic_catalogue(5, now)):
        g = catalogue_graph(cat)
        for d in cat.datasets.values():
            node = URIRef(d.iri)
            assert g.query("""ASK { ?d dcat:theme ?t . ?t skos:inScheme
                <http://publications.europa.eu/resource/authority/data-theme> .
                ?d dct:spatial <http://publications.europa.eu/resource/authority/country/FRA> .
                ?d dct:temporal ?p . ?p a dct:PeriodOfTime .
                ?d dct:accrualPeriodicity ?f . ?f skos:inScheme
                <http://publications.europa.eu/resource/authority/frequency> . }""",
                           initBindings={"d": node}).askAnswer, d.identifier
            nuts = [str(o) for o in g.objects(node, URIRef("http://purl.org/dc/terms/spatial"))
                    if "nuts" in str(o)]
            if any(code != "FR" for code in d.spatial):
                assert nuts and all(re.fullmatch(r"http://data\.europa\.eu/nuts/code/FR[A-Z0-9]{1,3}", n) for n in nuts)


def test_hérault_maps_to_its_nuts_code(campsite):
    g = catalogue_graph(campsite)
    node = URIRef(campsite.datasets["campings-reservations"].iri)
    spatial = {str(o) for o in g.objects(node, URIRef("http://purl.org/dc/terms/spatial"))}
    assert {"http://data.europa.eu/nuts/code/FRJ13", "http://data.europa.eu/nuts/code/FRJ",
            "http://publications.europa.eu/resource/authority/country/FRA"} <= spatial


def test_c_dcat_06_jsonld_and_turtle_are_the_same_graph(campsite):
    export = DcatApExport(campsite)
    doc = json.loads(export.jsonld)
    assert isinstance(doc["@context"], dict)  # inline: a reader never fetches a context
    from_jsonld = Graph().parse(data=export.jsonld, format="json-ld")
    from_turtle = Graph().parse(data=export.turtle, format="turtle")
    assert isomorphic(from_jsonld, from_turtle) and len(from_turtle) == len(export.graph)
    from pyld import jsonld

    def no_fetch(url, options=None):
        raise AssertionError(f"tried to fetch {url}")

    nquads = jsonld.to_rdf(doc, {"format": "application/n-quads", "documentLoader": no_fetch, "base": None})
    assert isomorphic(Graph().parse(data=nquads, format="nquads"), from_turtle)


def test_c_dcat_03_individual_shapes_agree(campsite, spec):
    """Cross-check with the "one IRI per constraint" shapes, after dropping their dangling property links."""
    folder = spec / "dcat-ap" / "3.0.1" / "shacl-individual"
    shapes = Graph().parse(folder / "dcat-ap-SHACL.ttl") + Graph().parse(folder / "ranges.ttl")
    for s, o in list(shapes.subject_objects(SH.property)):
        if (o, SH.path, None) not in shapes:
            shapes.remove((s, SH.property, o))
    assert _results(catalogue_graph(campsite), shapes) == set()


def test_versions_are_linked(campsite, now):
    from catalog import publish
    meta_ds = campsite.datasets["campings-capacite"]
    newer = publish(campsite, replace(meta_ds, version_notes={"fr": "Ajout 2026", "en": "2026 added"},
                                      temporal=replace(meta_ds.temporal, end=None)), now=now).dataset
    cat = publish(campsite, newer, now=now).catalogue
    g = catalogue_graph(cat)
    node = URIRef(newer.iri)
    assert str(g.value(node, URIRef("http://www.w3.org/ns/dcat#version"))) == "2"
    assert str(g.value(node, URIRef("http://www.w3.org/ns/dcat#previousVersion"))) == f"{newer.iri}/versions/1"
