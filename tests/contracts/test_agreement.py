"""The agreement model and the consumer's check that an agreement is the offer it asked for."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import contracts as ct

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "dsp" / "2025-1"
NOW = datetime(2026, 4, 2, 9, 0, tzinfo=timezone.utc)

OFFER = {
    "@id": "urn:uuid:o1", "@type": "Offer", "target": "urn:uuid:ds",
    "permission": [
        {"action": "use", "constraint": [
            {"leftOperand": "odrl:purpose", "operator": "eq", "rightOperand": "statistics"},
            {"leftOperand": "odrl:spatial", "operator": "isPartOf", "rightOperand": "REG-76"}]},
        {"action": "aggregate"},
    ],
    "prohibition": [{"action": "distribute"}],
}


def test_equal_modulo_key_rule_and_constraint_order():
    shuffled = {
        "prohibition": [{"action": "distribute"}],
        "permission": [
            {"action": "aggregate"},
            {"constraint": [
                {"rightOperand": "REG-76", "operator": "isPartOf", "leftOperand": "odrl:spatial"},
                {"operator": "eq", "leftOperand": "http://www.w3.org/ns/odrl/2/purpose", "rightOperand": "statistics"}],
             "action": "odrl:use"}],
        "@type": "Agreement", "@id": "urn:uuid:other-id",
    }
    assert ct.offer_matches(OFFER, shuffled)


@pytest.mark.parametrize("change", [
    lambda o: o["permission"][0]["constraint"][0].update(rightOperand="marketing"),
    lambda o: o["permission"].pop(),
    lambda o: o.pop("prohibition"),
    lambda o: o["permission"][1].update(action="use"),
    lambda o: o.update(obligation=[{"action": "attribute"}]),
    lambda o: o["permission"][0]["constraint"][1].update(operator="eq"),
])
def test_any_rule_change_is_a_mismatch(change):
    other = json.loads(json.dumps(OFFER))
    change(other)
    assert not ct.offer_matches(OFFER, other)


def test_logical_constraints():
    def pol(kind, a, b):
        return {"permission": [{"action": "use", "constraint": [{kind: [a, b]}]}]}
    x = {"leftOperand": "a", "operator": "eq", "rightOperand": "1"}
    y = {"leftOperand": "b", "operator": "eq", "rightOperand": "2"}
    assert ct.offer_matches(pol("and", x, y), pol("and", y, x))
    assert ct.offer_matches(pol("or", x, y), pol("or", y, x))
    assert not ct.offer_matches(pol("andSequence", x, y), pol("andSequence", y, x))  # order is the meaning
    assert not ct.offer_matches(pol("and", x, y), pol("or", x, y))


def test_profile_string_or_list():
    a = {"profile": "https://p", "permission": [{"action": "use"}]}
    b = {"profile": ["https://p"], "permission": [{"action": "use"}]}
    assert ct.offer_matches(a, b)


def test_agreement_json_round_trip_and_schema():
    agreement = ct.Agreement.from_offer("urn:uuid:a", OFFER, target="urn:uuid:ds", assigner="did:web:p",
                                        assignee="did:web:c", timestamp=NOW)
    body = agreement.to_json()
    assert body["timestamp"] == "2026-04-02T09:00:00Z" and "target" not in body["permission"][0]
    assert ct.Agreement.from_json(body) == agreement
    msg = ct.contract_agreement("urn:uuid:p", "urn:uuid:c", agreement)
    assert ct.negotiation_problems(msg) == []


def test_spec_example_agreements_parse():
    for name in ("contract-agreement-message.json", "contract-agreement-message-full.json"):
        data = json.loads((SPEC / "negotiation" / "example" / name).read_text())["agreement"]
        agreement = ct.Agreement.from_json(data)
        assert agreement.timestamp == datetime(2023, 1, 1, 1, 0, tzinfo=timezone.utc)
        assert ct.offer_matches(data, agreement.to_json())


def test_timestamps():
    assert ct.parse_timestamp("2026-01-01T10:00:00+02:00") == datetime(2026, 1, 1, 8, tzinfo=timezone.utc)
    assert ct.parse_timestamp("2026-01-01T10:00:00").tzinfo is timezone.utc
    assert ct.format_timestamp(datetime(2026, 1, 1, 10, tzinfo=timezone(timedelta(hours=2)))) == \
        "2026-01-01T08:00:00Z"


def test_invalid_agreements_cannot_be_built():
    with pytest.raises(ValueError, match="assignee"):
        ct.Agreement("urn:a", "urn:d", "did:web:p", "", NOW, {"permission": [{"action": "use"}]})
    with pytest.raises(ValueError, match="timezone"):
        ct.Agreement("urn:a", "urn:d", "did:web:p", "did:web:c", datetime(2026, 1, 1), {"permission": [{}]})
    with pytest.raises(ValueError, match="permission or prohibition"):
        ct.Agreement("urn:a", "urn:d", "did:web:p", "did:web:c", NOW, {})
    with pytest.raises(ValueError, match="timestamp"):
        ct.Agreement.from_json({"@id": "a", "target": "d", "assigner": "p", "assignee": "c",
                                "permission": [{"action": "use"}]})


def test_agreement_problems_lists_every_difference():
    good = ct.Agreement.from_offer("urn:a", OFFER, target="urn:uuid:ds", assigner="did:web:p",
                                   assignee="did:web:c", timestamp=NOW)
    assert ct.agreement_problems(good, OFFER, provider_id="did:web:p", consumer_id="did:web:c") == []
    bad = ct.Agreement("urn:a", "urn:uuid:other", "did:web:x", "did:web:y", NOW,
                       {"permission": [{"action": "use"}]})
    problems = ct.agreement_problems(bad, OFFER, provider_id="did:web:p", consumer_id="did:web:c")
    assert len(problems) == 4
    assert [p.split()[1] for p in problems[:3]] == ["target", "assigner", "assignee"]
    assert "rules" in problems[3]


def test_parties_named_in_the_offer_are_checked():
    offer = dict(OFFER, assigner="did:web:p", assignee="did:web:c")
    agreement = ct.Agreement.from_offer("urn:a", offer, target="urn:uuid:ds", assigner="did:web:p",
                                        assignee="did:web:intruder", timestamp=NOW)
    assert ct.agreement_problems(agreement, offer) == ["agreement assignee 'did:web:intruder' is not 'did:web:c'"]


def test_operand_values_compared_by_meaning():
    """Rule equality comes from ``policies``: a purpose as a word or as its IRI is the same purpose."""
    word = {"permission": [{"action": "use", "constraint": [
        {"leftOperand": "odrl:purpose", "operator": "eq", "rightOperand": "statistics"}]}]}
    iri = {"permission": [{"action": "use", "constraint": [
        {"leftOperand": "odrl:purpose", "operator": "eq",
         "rightOperand": "https://w3id.org/passerelle/purpose/statistics"}]}]}
    assert ct.offer_matches(word, iri)


def test_unreadable_policy_falls_back_to_structural_comparison():
    broken = {"permission": ["use"]}
    assert ct.offer_matches(broken, {"permission": ["use"]})
    assert not ct.offer_matches(broken, {"permission": [{"action": "use"}]})
