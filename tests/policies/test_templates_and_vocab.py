"""Tourism templates (config/policies) and the bundled ODRL vocabulary table."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from contracts.schemas import DSP_CONTEXT, validation_errors
from policies import Request, World, evaluate, validate_policy
from policies import templates
from policies.vocabulary import ODRL, action_iri, included_actions

ROOT = Path(__file__).resolve().parents[2]
VOCAB = ROOT / ".." / "shared" / "spec" / "odrl" / "vocab" / "ODRL22.ttl"
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
EXAMPLES = {"valid-until": {"until": "2027-01-01T00:00:00Z"}, "territory-bound": {"territory": "DEP-34"},
            "tourism-standard": {"until": "2027-01-01T00:00:00Z", "territory": "DEP-34"}}


def _dataset(offer: dict) -> dict:
    return {"@context": [DSP_CONTEXT], "@type": "Dataset", "@id": "urn:uuid:ds", "hasPolicy": [offer],
            "distribution": [{"@type": "Distribution", "format": "HttpData-PULL", "accessService": "urn:uuid:svc"}]}


def test_the_tourism_templates_exist():
    assert set(templates.names()) >= {"members-statistical-use", "aggregate-only", "valid-until", "territory-bound",
                                      "no-raw-redistribution", "attribution", "tourism-standard"}


@pytest.mark.parametrize("name", templates.names())
def test_template_is_a_valid_dataset_offer(name):
    raw = templates.read(name)
    assert validation_errors(_dataset(raw)) == [], "the template file itself is a DSP dataset Offer"
    offer = templates.load(name, **EXAMPLES.get(name, {}))
    assert "templateParameters" not in offer and "target" not in offer
    assert validation_errors(_dataset(offer)) == []
    assert validate_policy(offer, expect="Offer", in_dataset=True) == []
    assert "{{" not in json.dumps(offer)


def test_parameters_are_checked():
    with pytest.raises(templates.TemplateError) as e:
        templates.load("valid-until", colour="blue")
    assert len(e.value.problems) == 2  # unknown colour, missing until
    assert "2027-01-01T00:00:00Z" in e.value.problems[1]
    with pytest.raises(templates.TemplateError):
        templates.load("no-such-template")
    with pytest.raises(templates.TemplateError):
        templates.load("../etc/passwd")


def test_whole_placeholders_keep_their_type():
    offer = templates.load("members-statistical-use", roles=["auditor"], id="urn:o:7")
    assert offer["@id"] == "urn:o:7"
    assert offer["permission"][0]["constraint"][0]["rightOperand"] == ["auditor"]
    assert templates.load("aggregate-only")["permission"][0]["constraint"][0]["rightOperand"]["@value"] == 3


def test_templates_decide_as_described():
    region = {"membershipRole": ["regional_node"], "territory": "REG-76"}
    members = templates.load_policy("members-statistical-use")
    assert evaluate(members, Request("did:web:r", "use", purpose="TourismIndicators", claims=region), World(NOW)).permitted
    assert not evaluate(members, Request("did:web:r", "use", purpose="TourismIndicators",
                                         claims={"membershipRole": "private_provider"}), World(NOW)).permitted
    agg = templates.load_policy("aggregate-only", min_cell_size=11)
    assert evaluate(agg, Request("did:web:r", "aggregate", parameters={"cellSize": 11}), World(NOW)).permitted
    assert not evaluate(agg, Request("did:web:r", "aggregate", parameters={"cellSize": 10}), World(NOW)).permitted
    assert not evaluate(agg, Request("did:web:r", "use", parameters={"cellSize": 99}), World(NOW)).permitted
    until = templates.load_policy("valid-until", until="2026-06-01T00:00:00Z")
    assert evaluate(until, Request("did:web:r", "use"), World(NOW)).permitted
    assert not evaluate(until, Request("did:web:r", "use"), World(datetime(2026, 6, 1, tzinfo=timezone.utc))).permitted
    terr = templates.load_policy("territory-bound", territory="DEP-34")
    assert evaluate(terr, Request("did:web:r", "use", claims=region), World(NOW)).permitted
    assert not evaluate(terr, Request("did:web:b", "use", claims={"territory": "REG-53"}), World(NOW)).permitted
    raw = templates.load_policy("no-raw-redistribution")
    assert evaluate(raw, Request("did:web:r", "reproduce"), World(NOW)).permitted
    assert not evaluate(raw, Request("did:web:r", "distribute"), World(NOW)).permitted
    attribution = templates.load_policy("attribution")
    assert evaluate(attribution, Request("did:web:r", "use"), World(NOW)).permitted
    assert not evaluate(attribution, Request("did:web:r", "use"),
                        World(NOW, duty_states={"odrl:attribute": "violated"})).permitted


def test_action_hierarchy():
    use = included_actions(ODRL + "use")
    for a in ("aggregate", "reproduce", "distribute", "read", "extract", "display", "modify", "write"):
        assert action_iri(a) in use, a
    assert action_iri("sell") not in use and action_iri("transfer") not in use
    assert included_actions(action_iri("reproduce")) == {action_iri("reproduce"), action_iri("extract"),
                                                          action_iri("copy")}


def test_bundled_table_matches_the_vocabulary():
    from rdflib import Graph, Namespace, RDF, SKOS, OWL
    g = Graph().parse(VOCAB)
    o = Namespace(ODRL)
    table = json.loads((ROOT / "policies" / "vocab" / "odrl22.json").read_text())
    actions = {str(a): {"includedIn": sorted(str(x) for x in g.objects(a, o.includedIn)),
                        "exactMatch": sorted(str(x) for x in g.objects(a, SKOS.exactMatch)),
                        "deprecated": (a, OWL.deprecated, None) in g}
               for a in g.subjects(RDF.type, o.Action)}
    assert table["actions"] == actions
    assert table["leftOperands"] == sorted(str(x) for x in g.subjects(RDF.type, o.LeftOperand))
    assert table["operators"] == sorted(str(x) for x in g.subjects(RDF.type, o.Operator))
