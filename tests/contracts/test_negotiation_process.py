"""The sans-IO Negotiation object: pids, idempotency, local sends obey the table, persistence, hypothesis."""

import copy
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import contracts as ct

S, P, C = ct.NegotiationState, ct.Role.PROVIDER, ct.Role.CONSUMER
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
DS = "urn:uuid:ds"
OFFER = ct.message_offer("urn:uuid:o", DS, permission=[{"action": "use"}])


def provider_side():
    request = ct.contract_request("urn:uuid:c", OFFER, callback_address="https://hub.example/cb")
    neg, t = ct.Negotiation.from_initial(request, own_pid="urn:uuid:p", own_id="did:web:p", peer_id="did:web:c")
    return neg, request, t


def consumer_side():
    neg, t = ct.Negotiation.start_request(consumer_pid="urn:uuid:c", offer=OFFER,
                                          callback_address="https://hub.example/cb", provider_id="did:web:p",
                                          consumer_id="did:web:c")
    neg.acknowledged(ct.contract_negotiation("urn:uuid:p", "urn:uuid:c", "REQUESTED"))
    return neg


def test_initial_request_creates_requested_and_replies_201_body():
    neg, _, t = provider_side()
    assert neg.state is S.REQUESTED and t.old_state is None and t.reply["state"] == "REQUESTED"
    assert neg.role is P and neg.consumer_pid == "urn:uuid:c" and neg.peer_address == "https://hub.example/cb"


def test_repeated_initial_request_is_a_duplicate():
    neg, request, _ = provider_side()
    before = copy.deepcopy(neg.to_dict())   # to_dict is shallow: snapshot it
    again = neg.receive(copy.deepcopy(dict(reversed(list(request.items())))))  # key order does not matter
    assert again.duplicate and again.reply["state"] == "REQUESTED" and neg.to_dict() == before


def test_initial_request_reusing_a_pid_with_other_content_is_refused():
    neg, request, _ = provider_side()
    other = dict(request, offer=dict(OFFER, **{"@id": "urn:uuid:o2"}))
    with pytest.raises(ct.NegotiationError, match="PID_IN_USE"):
        neg.receive(other)


def test_later_message_cannot_create():
    with pytest.raises(ct.NegotiationError, match="NOT_INITIAL"):
        ct.Negotiation.from_initial(ct.contract_request("urn:uuid:c", OFFER, provider_pid="urn:uuid:p"),
                                    own_pid="urn:uuid:p2")
    with pytest.raises(ct.NegotiationError, match="NOT_INITIAL"):
        ct.Negotiation.from_initial(ct.agreement_verification("urn:uuid:p", "urn:uuid:c"), own_pid="x")


def test_cnn13_pid_in_body_differs_from_ours():
    neg, _, _ = provider_side()
    with pytest.raises(ct.NegotiationError) as info:
        neg.receive(ct.negotiation_termination("urn:uuid:other", "urn:uuid:c"))
    assert info.value.code == "PID_MISMATCH" and info.value.status == 400
    with pytest.raises(ct.NegotiationError, match="PID_MISMATCH"):
        neg.receive(ct.negotiation_termination("urn:uuid:p", "urn:uuid:someone-else"))
    assert neg.state is S.REQUESTED


def test_plain_uuid_pid_matches_urn_uuid():
    request = ct.contract_request("0b0c4a34-6e0b-4f5e-9f2a-0a0a0a0a0a0a", OFFER, callback_address="https://h/cb")
    neg, _ = ct.Negotiation.from_initial(request, own_pid="urn:uuid:11111111-2222-3333-4444-555555555555")
    t = neg.receive(ct.negotiation_termination("11111111-2222-3333-4444-555555555555",
                                               "urn:uuid:0b0c4a34-6e0b-4f5e-9f2a-0a0a0a0a0a0a"))
    assert t.new_state is S.TERMINATED


def test_cn0304_identical_second_counter_request_is_refused():
    neg, _, _ = provider_side()
    neg.counter_offer(OFFER)
    counter = ct.contract_request("urn:uuid:c", OFFER, provider_pid="urn:uuid:p")
    assert neg.receive(counter).new_state is S.REQUESTED
    with pytest.raises(ct.InvalidTransition):
        neg.receive(copy.deepcopy(counter))
    assert neg.state is S.REQUESTED


@pytest.mark.parametrize("who", ["provider", "consumer"])
def test_repeated_delivery_has_no_second_effect(who):
    """A retried delivery (lost acknowledgement) is acknowledged with the current state and changes nothing."""
    provider, _, _ = provider_side()
    consumer = consumer_side()
    t = provider.agree("urn:uuid:a1", NOW)
    consumer.receive(t.message)
    v = consumer.verify()
    provider.receive(v.message)
    receiver, message = (provider, v.message) if who == "provider" else (consumer, t.message)
    if who == "consumer":
        # the agreement again, while the consumer is already VERIFIED: not a duplicate any more -> refused
        with pytest.raises(ct.InvalidTransition):
            receiver.receive(message)
        return
    before = receiver.to_dict()
    again = receiver.receive(message)
    assert again.duplicate and again.old_state is again.new_state is S.VERIFIED
    assert receiver.to_dict() == before


def test_repeated_termination_is_a_duplicate_but_a_different_one_is_refused():
    neg, _, _ = provider_side()
    term = ct.negotiation_termination("urn:uuid:p", "urn:uuid:c", "1", ["bye"])
    neg.receive(term)
    assert neg.receive(copy.deepcopy(term)).duplicate
    with pytest.raises(ct.InvalidTransition):
        neg.receive(ct.negotiation_termination("urn:uuid:p", "urn:uuid:c", "2", ["again"]))
    assert neg.termination == {"by": "CONSUMER", "code": "1", "reason": ["bye"]}


def test_provider_replaces_its_offer_while_offered():
    consumer = consumer_side()
    first = ct.contract_offer("urn:uuid:p", OFFER, consumer_pid="urn:uuid:c")
    second_offer = ct.message_offer("urn:uuid:o2", DS, permission=[{"action": "aggregate"}])
    second = ct.contract_offer("urn:uuid:p", second_offer, consumer_pid="urn:uuid:c")
    consumer.receive(first)
    assert consumer.receive(copy.deepcopy(first)).duplicate
    t = consumer.receive(second)
    assert not t.duplicate and consumer.offer["@id"] == "urn:uuid:o2"


def test_counter_offer_for_another_dataset_is_refused():
    consumer = consumer_side()
    wrong = ct.message_offer("urn:uuid:o", "urn:uuid:other", permission=[{"action": "use"}])
    with pytest.raises(ct.NegotiationError, match="dataset under negotiation"):
        consumer.receive(ct.contract_offer("urn:uuid:p", wrong, consumer_pid="urn:uuid:c"))
    with pytest.raises(ValueError):
        consumer.counter_request(wrong)


def test_consumer_verifies_agreement_rules_and_parties():
    consumer = consumer_side()
    wider = ct.Agreement("urn:uuid:a", DS, "did:web:p", "did:web:c", NOW,
                         {"permission": [{"action": "use"}, {"action": "distribute"}]})
    with pytest.raises(ct.NegotiationError, match="INVALID_AGREEMENT"):
        consumer.receive(ct.contract_agreement("urn:uuid:p", "urn:uuid:c", wider))
    impostor = ct.Agreement("urn:uuid:a", DS, "did:web:mallory", "did:web:c", NOW, {"permission": [{"action": "use"}]})
    with pytest.raises(ct.NegotiationError, match="assigner"):
        consumer.receive(ct.contract_agreement("urn:uuid:p", "urn:uuid:c", impostor))
    assert consumer.state is S.REQUESTED and consumer.agreement is None


def test_we_obey_the_table_we_enforce():
    neg, _, _ = provider_side()
    with pytest.raises(ct.InvalidTransition):
        neg.finalize()                      # provider cannot finalize in REQUESTED
    with pytest.raises(ct.InvalidTransition):
        neg.accept()                        # nor send the consumer's event
    assert neg.state is S.REQUESTED


def test_consumer_cannot_send_before_acknowledgement():
    neg, _ = ct.Negotiation.start_request(consumer_pid="urn:uuid:c", offer=OFFER, callback_address="https://h/cb")
    with pytest.raises(ct.NegotiationError, match="NO_PEER_PID"):
        neg.terminate()


def test_acknowledgement_is_checked():
    neg, _ = ct.Negotiation.start_request(consumer_pid="urn:uuid:c", offer=OFFER, callback_address="https://h/cb")
    with pytest.raises(ct.NegotiationError, match="PID_MISMATCH"):
        neg.acknowledged(ct.contract_negotiation("urn:uuid:p", "urn:uuid:not-mine", "REQUESTED"))
    with pytest.raises(ct.InvalidMessage):
        neg.acknowledged(ct.agreement_verification("urn:uuid:p", "urn:uuid:c"))


def test_acks_and_errors_are_not_messages_to_apply():
    neg, _, _ = provider_side()
    with pytest.raises(ct.InvalidMessage):
        neg.receive(ct.contract_negotiation("urn:uuid:p", "urn:uuid:c", "AGREED"))


def test_record_round_trip():
    neg, _, _ = provider_side()
    neg.agree("urn:uuid:a", NOW)
    assert ct.Negotiation.from_dict(neg.to_dict()) == neg


# -- hypothesis: random message sequences ---------------------------------------------------------------------

REACHABLE = {s for row in ct.TRANSITIONS.values() for s in row.values()} | set(ct.INITIAL.values())


def any_message(kind: ct.CN, variant: int, p="urn:uuid:p", c="urn:uuid:c"):
    offer = ct.message_offer(f"urn:uuid:o{variant}", DS, permission=[{"action": ["use", "aggregate"][variant % 2]}])
    agreement = ct.Agreement.from_offer("urn:uuid:a", OFFER, target=DS, assigner="did:web:p", assignee="did:web:c",
                                        timestamp=NOW)
    return {
        ct.CN.REQUEST: lambda: ct.contract_request(c, offer, provider_pid=p),
        ct.CN.OFFER: lambda: ct.contract_offer(p, offer, consumer_pid=c),
        ct.CN.AGREEMENT: lambda: ct.contract_agreement(p, c, agreement),
        ct.CN.VERIFICATION: lambda: ct.agreement_verification(p, c),
        ct.CN.ACCEPTED: lambda: ct.negotiation_event(p, c, "ACCEPTED"),
        ct.CN.FINALIZED: lambda: ct.negotiation_event(p, c, "FINALIZED"),
        ct.CN.TERMINATION: lambda: ct.negotiation_termination(p, c, str(variant)),
    }[kind]()


steps = st.lists(st.tuples(st.sampled_from(list(ct.CN)), st.sampled_from(list(ct.Role)), st.integers(0, 2)),
                 max_size=12)


@settings(max_examples=300, deadline=None)
@given(steps=steps, start=st.sampled_from(["request", "offer"]))
def test_random_sequences_stay_in_the_spec(steps, start):
    """Whatever arrives, in any order, from either side: every state reached is one the table grants, each
    change is a table entry, and a refused message leaves the record exactly as it was."""
    if start == "request":
        neg, _, _ = provider_side()
    else:
        neg = consumer_side()
    for kind, sender, variant in steps:
        message = any_message(kind, variant)
        before = copy.deepcopy(neg.to_dict())   # to_dict is shallow: snapshot it
        old = neg.state
        try:
            if sender is neg.role:
                t = {ct.CN.TERMINATION: lambda: neg.terminate(str(variant)),
                     ct.CN.FINALIZED: neg.finalize, ct.CN.ACCEPTED: neg.accept, ct.CN.VERIFICATION: neg.verify,
                     ct.CN.AGREEMENT: lambda: neg.agree("urn:uuid:a", NOW),
                     ct.CN.OFFER: lambda: neg.counter_offer(message["offer"]),
                     ct.CN.REQUEST: lambda: neg.counter_request(message["offer"])}[kind]()
            else:
                t = neg.receive(message)
        except (ct.NegotiationError, ValueError):
            assert neg.to_dict() == before
            continue
        assert neg.state in REACHABLE
        if t.duplicate:
            assert neg.to_dict() == before
        else:
            assert ct.TRANSITIONS[old][(kind, sender)] is neg.state
