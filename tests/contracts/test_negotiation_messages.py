"""Negotiation messages: builders emit schema-valid 2025-1 messages; validators list every problem."""

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import contracts as ct
from contracts.schemas import validation_errors

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "dsp" / "2025-1"
EXAMPLES = sorted((SPEC / "negotiation" / "example").glob("*.json"))
P, C = "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab", "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833"
NOW = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=timezone.utc)
OFFER = ct.message_offer("urn:uuid:offer-1", "urn:uuid:ds-1", permission=[{"action": "use", "constraint": [
    {"leftOperand": "odrl:purpose", "operator": "eq", "rightOperand": "statistics"}]}])
AGREEMENT = ct.Agreement.from_offer("urn:uuid:ag-1", OFFER, target="urn:uuid:ds-1", assigner="did:web:p",
                                    assignee="did:web:c", timestamp=NOW)

BUILT = {
    "request-initial": ct.contract_request(C, OFFER, callback_address="https://hub.example/cb"),
    "request-counter": ct.contract_request(C, OFFER, provider_pid=P),
    "offer-initial": ct.contract_offer(P, OFFER, callback_address="https://provider.example/dsp"),
    "offer-counter": ct.contract_offer(P, OFFER, consumer_pid=C),
    "agreement": ct.contract_agreement(P, C, AGREEMENT),
    "verification": ct.agreement_verification(P, C),
    "event-accepted": ct.negotiation_event(P, C, "ACCEPTED"),
    "event-finalized": ct.negotiation_event(P, C, "FINALIZED"),
    "termination": ct.negotiation_termination(P, C, "POLICY", ["purpose not permitted"]),
    "termination-bare": ct.negotiation_termination(P, C),
    "ack": ct.contract_negotiation(P, C, "OFFERED"),
    "error": ct.negotiation_error(P, C, "INVALID_TRANSITION", ["no"]),
}


@pytest.mark.parametrize("name", BUILT)
def test_every_built_message_is_valid(name):
    msg = BUILT[name]
    assert msg["@context"] == ["https://w3id.org/dspace/2025/1/context.jsonld"]
    assert validation_errors(msg) == []
    assert ct.negotiation_problems(msg) == []
    assert not any(v == [] for v in msg.values())  # no empty arrays on the wire


def test_kinds_and_initial():
    assert ct.message_kind(BUILT["event-accepted"]) is ct.CN.ACCEPTED
    assert ct.message_kind(BUILT["event-finalized"]) is ct.CN.FINALIZED
    assert ct.message_kind(BUILT["agreement"]) is ct.CN.AGREEMENT
    assert ct.is_initial(BUILT["request-initial"]) and ct.is_initial(BUILT["offer-initial"])
    assert not ct.is_initial(BUILT["request-counter"]) and not ct.is_initial(BUILT["offer-counter"])


def test_agreement_timestamp_is_utc_seconds():
    assert BUILT["agreement"]["agreement"]["timestamp"] == "2026-03-01T08:30:15Z"
    with pytest.raises(ValueError):
        ct.format_timestamp(datetime(2026, 1, 1))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_spec_examples_are_accepted(path):
    assert ct.negotiation_problems(json.loads(path.read_text())) == []


@pytest.mark.parametrize("pid", ["32541fe6-c580-409e-85a8-8a9a32fbe833", "CD123:ACN0101:456", "urn:uuid:x"])
def test_lenient_ids(pid):
    """The conformance kit sends plain UUIDs and ids like CD123:ACN0101:456."""
    assert ct.negotiation_problems(ct.contract_request(pid, OFFER, provider_pid=pid)) == []
    assert ct.same_id("urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833", "32541FE6-C580-409E-85A8-8A9A32FBE833")
    assert not ct.same_id("CD123:ACN0101:456", "cd123:acn0101:456")


def test_tolerates_extra_properties():
    msg = dict(BUILT["agreement"], **{"@id": "urn:uuid:msg", "callbackAddress": "https://tck.example/cb"})
    assert ct.negotiation_problems(msg) == []


def mutate(name, fn):
    msg = copy.deepcopy(BUILT[name])
    fn(msg)
    return msg


def _set(path, value):
    def fn(msg):
        *head, last = path
        target = msg
        for k in head:
            target = target[k]
        target[last] = value
    return fn


def _del(*path):
    def fn(msg):
        *head, last = path
        target = msg
        for k in head:
            target = target[k]
        del target[last]
    return fn


INVALID = [
    ("CNN-07 both callbackAddress and providerPid", "request-initial", _set(["providerPid"], P), "both"),
    ("CNN-07 neither", "request-counter", _del("providerPid"), "neither"),
    ("offer with both", "offer-initial", _set(["consumerPid"], C), "both"),
    ("CNN-08 callbackAddress not a URL", "request-initial", _set(["callbackAddress"], "not a url"), "URL"),
    ("offer without target", "request-initial", _del("offer", "target"), "offer/target"),
    ("rule with target", "request-counter", _set(["offer", "permission", 0, "target"], "urn:x"), "target"),
    ("agreement without timestamp", "agreement", _del("agreement", "timestamp"), "timestamp"),
    ("agreement bad timestamp", "agreement", _set(["agreement", "timestamp"], "yesterday"), "timestamp"),
    ("agreement without assignee", "agreement", _del("agreement", "assignee"), "assignee"),
    ("agreement rule with target", "agreement", _set(["agreement", "permission", 0, "target"], "x"), "target"),
    ("CNN-11 2024-1 event type", "event-accepted", _set(["eventType"], "dspace:ACCEPTED"), "eventType"),
    ("CNN-11 context as string", "verification",
     _set(["@context"], "https://w3id.org/dspace/2025/1/context.jsonld"), "@context"),
    ("context without DSP", "verification", _set(["@context"], ["https://example.com/ctx"]), "@context"),
    ("missing @type", "verification", _del("@type"), "@type"),
    ("empty pid", "verification", _set(["consumerPid"], " "), "consumerPid"),
    ("empty reason array", "termination", _set(["reason"], []), "reason"),
    ("operator with prefix", "request-counter",
     _set(["offer", "permission", 0, "constraint", 0, "operator"], "odrl:eq"), "offer"),
    ("unknown state", "ack", _set(["state"], "dspace:REQUESTED"), "state"),
]


@pytest.mark.parametrize("label,name,fn,needle", INVALID, ids=[i[0] for i in INVALID])
def test_invalid_messages_are_refused_with_problems(label, name, fn, needle):
    msg = mutate(name, fn)
    problems = ct.negotiation_problems(msg)
    assert problems and any(needle in p for p in problems), problems
    with pytest.raises(ct.InvalidMessage) as info:
        ct.validate_negotiation_message(msg)
    assert info.value.status == 400 and info.value.reasons == problems
    assert info.value.body(P, C)["@type"] == "ContractNegotiationError"


def test_several_problems_are_all_listed():
    msg = mutate("request-initial", lambda m: (m.update(providerPid=P, callbackAddress="x"),
                                              m["offer"].pop("target")))
    problems = ct.negotiation_problems(msg)
    assert any("both" in p for p in problems) and any("URL" in p for p in problems)
    assert any("offer/target" in p for p in problems)


def test_not_a_negotiation_message():
    assert ct.negotiation_problems([]) == ["message is not a JSON object"]
    assert "not a contract negotiation message" in ct.negotiation_problems({"@type": "TransferStartMessage"})[0]


def test_offer_target_against_catalogue():
    """CNN-05/06: the provider checks offer @id and target against its catalogue entry."""
    msg = BUILT["request-initial"]
    assert ct.offer_target_problems(msg, "urn:uuid:ds-1", "urn:uuid:offer-1") == []
    problems = ct.offer_target_problems(msg, "urn:uuid:ds-2", "urn:uuid:offer-9")
    assert len(problems) == 2


def test_builders_refuse_impossible_messages():
    with pytest.raises(ValueError):
        ct.contract_request(C, OFFER)
    with pytest.raises(ValueError):
        ct.contract_request(C, OFFER, callback_address="https://x", provider_pid=P)
    with pytest.raises(ValueError):
        ct.contract_offer(P, {"@type": "Offer", "permission": [{"action": "use"}]}, consumer_pid=C)
    with pytest.raises(ValueError):
        ct.negotiation_event(P, C, "dspace:ACCEPTED")
    with pytest.raises(ValueError):
        ct.message_offer("urn:o", "urn:d")


def test_catalogue_offer_made_explicit():
    catalog_offer = {"@id": "urn:uuid:o", "@type": "Offer", "permission": [{"action": "use"}]}
    offer = ct.offer_for_request(catalog_offer, "urn:uuid:ds")
    assert offer["target"] == "urn:uuid:ds" and "target" not in catalog_offer
    assert ct.negotiation_problems(ct.contract_request(C, offer, callback_address="https://h/cb")) == []
