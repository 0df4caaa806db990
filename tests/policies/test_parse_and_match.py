"""Reading and writing the DSP compacted form and expanded JSON-LD; offer matching and agreements."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pyld import jsonld

from contracts.schemas import DSP_CONTEXT, context_document, validation_errors
from policies import (PolicyParseError, agreement_for, from_dsp, from_jsonld, match_offer, parse_policy, to_dsp,
                      validate_policy)
from policies.model import MalformedConstraint

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec"
P = "https://w3id.org/passerelle/odrl/"

OFFER = {
    "@id": "urn:uuid:offer-1",
    "@type": "Offer",
    "permission": [{
        "action": "use",
        "constraint": [
            {"leftOperand": "odrl:purpose", "operator": "isAnyOf",
             "rightOperand": [{"@id": "https://w3id.org/passerelle/purpose/Statistics"},
                              {"@id": "https://w3id.org/passerelle/purpose/PublicPolicy"}]},
            {"leftOperand": "odrl:dateTime", "operator": "lt",
             "rightOperand": {"@value": "2027-01-01T00:00:00Z", "@type": "xsd:dateTime"}},
            {"or": [{"leftOperand": P + "territory", "operator": "hasPart", "rightOperand": "DEP-34"},
                    {"leftOperand": P + "membershipRole", "operator": "eq", "rightOperand": "national_hub"}]},
        ],
    }],
    "prohibition": [{"action": "odrl:distribute"}],
    "obligation": [{"action": "odrl:attribute"}],
}


def _loader(url, options=None):
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": context_document(url), "tag": "static"}


def test_round_trip_is_stable():
    p = from_dsp(OFFER)
    out = to_dsp(p)
    assert from_dsp(out) == p
    assert to_dsp(from_dsp(out)) == out
    assert out["permission"][0]["constraint"][1]["rightOperand"] == {"@value": "2027-01-01T00:00:00Z",
                                                                     "@type": "xsd:dateTime"}


def test_serialised_offer_is_valid_in_a_dsp_dataset():
    msg = {"@context": [DSP_CONTEXT], "@type": "Dataset", "@id": "urn:uuid:ds", "hasPolicy": [to_dsp(from_dsp(OFFER))],
           "distribution": [{"@type": "Distribution", "format": "HttpData-PULL", "accessService": "urn:uuid:svc"}]}
    assert validation_errors(msg) == []


def test_spellings_give_equal_models():
    variant = copy.deepcopy(OFFER)
    variant["odrl:permission"] = variant.pop("permission")
    variant["odrl:permission"][0]["action"] = "http://www.w3.org/ns/odrl/2/use"
    variant["odrl:permission"][0]["constraint"][0]["leftOperand"] = "purpose"
    variant["odrl:permission"][0]["constraint"][0]["operator"] = {"@id": "odrl:isAnyOf"}
    variant["uid"] = variant.pop("@id")
    assert from_dsp(variant) == from_dsp(OFFER)


def test_expanded_jsonld_reads_the_same_policy():
    doc = {"@context": [DSP_CONTEXT], "@type": "Dataset", "@id": "urn:uuid:ds", "hasPolicy": [OFFER]}
    expanded = jsonld.expand(doc, {"documentLoader": _loader, "base": None})
    assert from_jsonld(expanded) == from_dsp(OFFER)
    flattened = jsonld.flatten(doc, None, {"documentLoader": _loader, "base": None})
    assert from_jsonld(flattened) == from_dsp(OFFER)


def test_parse_policy_detects_the_form():
    doc = {"@context": [DSP_CONTEXT], "@type": "Dataset", "@id": "urn:uuid:ds", "hasPolicy": [OFFER]}
    expanded = jsonld.expand(doc, {"documentLoader": _loader, "base": None})
    assert parse_policy(expanded) == parse_policy(OFFER)


def test_policy_level_parties_propagate_to_rules():
    p = from_dsp({"@type": "Agreement", "@id": "urn:a", "target": "urn:ds", "assigner": "did:web:p",
                  "assignee": {"@id": "did:web:c"}, "permission": [{"action": "use", "duty": [{"action": "odrl:inform"}]}]})
    rule = p.permissions[0]
    assert (rule.target, rule.assigner, rule.assignee) == ("urn:ds", "did:web:p", "did:web:c")
    assert rule.duties[0].target == "urn:ds"


def test_several_actions_are_atomised():
    p = from_dsp({"@type": "Set", "permission": [{"action": ["odrl:read", "odrl:print"]}]})
    assert [r.action.rsplit("/", 1)[1] for r in p.permissions] == ["read", "print"]


def test_action_refinement_is_read_and_written():
    doc = {"@type": "Set", "@id": "urn:s", "permission": [{"action": {"rdf:value": {"@id": "odrl:aggregate"},
        "refinement": [{"leftOperand": P + "cellSize", "operator": "gteq", "rightOperand": 5}]}}]}
    p = from_dsp(doc)
    assert len(p.permissions[0].refinements) == 1
    assert from_dsp(to_dsp(p)) == p
    wrapped = {"@context": [DSP_CONTEXT], "@type": "Dataset", "@id": "urn:uuid:ds", "hasPolicy": [to_dsp(p)]}
    assert from_jsonld(jsonld.expand(wrapped, {"documentLoader": _loader, "base": None})) == p


def test_structural_problems_are_all_listed():
    with pytest.raises(PolicyParseError) as e:
        from_dsp({"@type": "Contract", "@id": 5, "permission": ["use"], "conflict": "maybe"})
    assert len(e.value.problems) == 4


def test_constraint_problems_become_malformed_constraints():
    p = from_dsp({"@type": "Set", "permission": [{"action": "use", "constraint": [{"leftOperand": "odrl:count"}, 7]}]})
    assert all(isinstance(c, MalformedConstraint) for c in p.permissions[0].constraints)


def test_dsp_example_agreement_parses():
    path = SPEC / "dsp" / "2025-1" / "negotiation" / "example" / "contract-agreement-message-full.json"
    if not path.exists():
        pytest.skip("spec material not present")
    agreement = json.loads(path.read_text())["agreement"]
    p = parse_policy(agreement)
    assert p.type == "Agreement" and len(p.permissions) == 7
    # its left operand "partner" is unknown to us: listed by the validator
    assert any("partner" in problem for problem in validate_policy(agreement))


# --- validation ---

def test_validator_lists_every_problem():
    bad = {"@type": "Offer", "permission": [
        {"action": "odrl:write", "constraint": [
            {"leftOperand": "spatial", "operator": "odrl:eq", "rightOperand": "DEP-34"},
            {"leftOperand": "odrl:dateTime", "operator": "lt", "rightOperand": "soon"},
            {"leftOperand": "https://example.org/x", "operator": "eq", "rightOperand": "y"}]},
        {"constraint": []}]}
    problems = validate_policy(bad)
    text = "\n".join(problems)
    for expected in ("needs an @id", "bare 'spatial'", "'odrl:eq' is not one of the DSP operators",
                     "deprecated", "no action", "not an xsd:dateTime", "unknown left operand"):
        assert expected in text, (expected, problems)


def test_validator_accepts_a_good_offer_and_checks_agreements():
    assert validate_policy(OFFER, expect="Offer", in_dataset=True) == []
    problems = validate_policy({**OFFER, "@type": "Agreement"})
    assert {p.split(":")[0] for p in problems} == {"target", "assigner", "assignee", "timestamp"}


# --- matching ---

def test_requested_offer_in_another_spelling_matches():
    requested = copy.deepcopy(OFFER)
    requested["target"] = "urn:uuid:ds"
    requested["permission"][0]["constraint"].reverse()
    requested["permission"][0]["constraint"][2]["rightOperand"].reverse()  # set-valued right operand order
    requested["permission"][0]["constraint"][0]["or"].reverse()
    requested["permission"][0]["constraint"][1]["rightOperand"] = "2027-01-01T01:00:00+01:00"  # same instant
    requested["permission"][0]["@id"] = "urn:rule:1"
    requested["prohibition"][0]["action"] = "http://www.w3.org/ns/odrl/2/distribute"
    assert match_offer(OFFER, requested, dataset_id="urn:uuid:ds") == []


def test_changed_offer_does_not_match_and_says_why():
    requested = copy.deepcopy(OFFER)
    requested["permission"][0]["constraint"][1]["rightOperand"]["@value"] = "2030-01-01T00:00:00Z"
    requested.pop("prohibition")
    problems = match_offer(OFFER, requested)
    assert any("missing from the request" in p and "distribute" in p for p in problems)
    assert any("2030" in p for p in problems)
    assert match_offer(OFFER, {**OFFER, "@id": "urn:other"}) == ["offer @id differs: provider 'urn:uuid:offer-1', "
                                                                  "request 'urn:other'"]
    assert match_offer(OFFER, {**OFFER, "target": "urn:x"}, dataset_id="urn:ds") != []


def test_and_sequence_order_matters():
    seq = {"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use", "constraint": [{"andSequence": [
        {"leftOperand": "odrl:count", "operator": "lteq", "rightOperand": 1},
        {"leftOperand": "odrl:count", "operator": "lteq", "rightOperand": 2}]}]}]}
    swapped = copy.deepcopy(seq)
    swapped["permission"][0]["constraint"][0]["andSequence"].reverse()
    assert match_offer(seq, swapped) != []


def test_agreement_from_offer():
    ts = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    agreement = agreement_for(OFFER, agreement_id="urn:uuid:agr-1", target="urn:uuid:ds", assigner="did:web:p",
                              assignee="did:web:c", timestamp=ts)
    doc = to_dsp(agreement)
    assert doc["@type"] == "Agreement" and doc["@id"] == "urn:uuid:agr-1"
    assert (doc["target"], doc["assigner"], doc["assignee"], doc["timestamp"]) == (
        "urn:uuid:ds", "did:web:p", "did:web:c", "2026-05-01T12:00:00Z")
    assert "target" not in doc["permission"][0]
    msg = {"@context": [DSP_CONTEXT], "@type": "ContractAgreementMessage", "providerPid": "urn:uuid:p",
           "consumerPid": "urn:uuid:c", "agreement": doc}
    assert validation_errors(msg) == []
    assert validate_policy(doc, expect="Agreement") == []
    assert from_dsp(doc) == agreement
    with pytest.raises(ValueError):
        agreement_for(OFFER, agreement_id="a", target="t", assigner="p", assignee="c", timestamp=datetime(2026, 1, 1))


REFINED = {"@id": "urn:o:refined", "@type": "Offer", "permission": [{
    "action": "use",
    "assignee": {"@type": "PartyCollection", "refinement": [
        {"leftOperand": P + "membershipRole", "operator": "eq", "rightOperand": "regional_node"}]},
    "target": {"@type": "AssetCollection", "source": "urn:collection:occitanie", "refinement": [
        {"leftOperand": "odrl:spatial", "operator": "isPartOf", "rightOperand": "REG-76"}]}}]}


def test_party_and_asset_collection_refinements():
    from policies import Request, World, evaluate
    p = from_dsp(REFINED)
    rule = p.permissions[0]
    assert rule.assignee is None and len(rule.assignee_refinements) == 1
    assert rule.target == "urn:collection:occitanie" and len(rule.target_refinements) == 1
    assert from_dsp(to_dsp(p)) == p
    assert match_offer(REFINED, to_dsp(p)) == []
    now = datetime(2026, 5, 1, tzinfo=timezone.utc)
    world = World(now=now, memberships={"urn:ds:34": {"urn:collection:occitanie"}})
    region = {"membershipRole": ["regional_node"]}
    assert evaluate(p, Request("did:web:r", "use", target="urn:ds:34", spatial="DEP-34", claims=region), world)
    assert not evaluate(p, Request("did:web:r", "use", target="urn:ds:34", spatial="DEP-35", claims=region), world)
    assert not evaluate(p, Request("did:web:r", "use", target="urn:ds:34", spatial="DEP-34"), world)
    assert not evaluate(p, Request("did:web:r", "use", target="urn:ds:99", spatial="DEP-34", claims=region), world)


def test_refined_collections_from_expanded_jsonld():
    written = to_dsp(from_dsp(REFINED))  # prefixed terms: the DSP context has no refinement/source
    assert written["permission"][0]["target"]["odrl:source"] == {"@id": "urn:collection:occitanie"}
    doc = {"@context": [DSP_CONTEXT], "@type": "Dataset", "@id": "urn:uuid:ds", "hasPolicy": [written]}
    ctx_doc = jsonld.expand(doc, {"documentLoader": _loader, "base": None})
    assert from_jsonld(ctx_doc) == from_dsp(REFINED)
    flat = jsonld.flatten(doc, None, {"documentLoader": _loader, "base": None})
    assert from_jsonld(flat) == from_dsp(REFINED)
