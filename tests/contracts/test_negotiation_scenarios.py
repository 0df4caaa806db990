"""dsp.md §11 (CN, CN_C) and §13 (CNP, CNN, CNC) walked through two pure Negotiation objects.

Each scenario is a list of steps "<sender>:<action>"; a step starting with "!" is a message the counter-party
(the conformance kit) sends although it is not allowed: the receiver must refuse it with a 400
ContractNegotiationError and keep its state. Every message exchanged is checked against the 2025-1 schemas.
"""

from datetime import datetime, timezone

import pytest

import contracts as ct
from contracts.schemas import validation_errors

S = ct.NegotiationState
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
DATASET, OFFER_ID = "urn:uuid:ds-ACN0101", "urn:uuid:offer-ACN0101"
PROVIDER_ID, CONSUMER_ID = "did:web:provider.example", "did:web:hub.example"


def offer(n: int = 0):
    rules = [{"action": "use"}] if n == 0 else [{"action": "use", "constraint": [
        {"leftOperand": "odrl:purpose", "operator": "eq", "rightOperand": f"stats-{n}"}]}]
    return ct.message_offer(f"{OFFER_ID}-{n}", DATASET, permission=rules)


def checked(message):
    assert validation_errors(message) == [], message
    assert ct.negotiation_problems(message) == [], message
    return message


class Pair:
    """The provider's and the consumer's record of one negotiation, and the wire between them."""

    def __init__(self, initiator: str = "C"):
        if initiator == "C":
            self.consumer, t = ct.Negotiation.start_request(
                consumer_pid="urn:uuid:c-1", offer=offer(), callback_address="https://hub.example/dsp/",
                provider_id=PROVIDER_ID, consumer_id=CONSUMER_ID)
            self.provider, got = ct.Negotiation.from_initial(checked(t.message), own_pid="urn:uuid:p-1",
                                                             own_id=PROVIDER_ID, peer_id=CONSUMER_ID)
            self.consumer.acknowledged(checked(got.reply))
        else:
            self.provider, t = ct.Negotiation.start_offer(
                provider_pid="urn:uuid:p-1", offer=offer(), callback_address="https://provider.example/dsp",
                provider_id=PROVIDER_ID, consumer_id=CONSUMER_ID)
            self.consumer, got = ct.Negotiation.from_initial(checked(t.message), own_pid="urn:uuid:c-1",
                                                             own_id=CONSUMER_ID, peer_id=PROVIDER_ID)
            self.provider.acknowledged(checked(got.reply))
        assert got.reply["state"] == got.new_state.value
        self.counter = 0

    def side(self, who: str) -> ct.Negotiation:
        return self.provider if who == "P" else self.consumer

    def send(self, step: str) -> None:
        """A legal step: the sender's own table accepts it, the receiver applies it and acknowledges."""
        who, action = step.split(":")
        sender, receiver = self.side(who), self.side("C" if who == "P" else "P")
        self.counter += 1
        transition = {
            "offer": lambda: sender.counter_offer(offer(self.counter)),
            "counter": lambda: sender.counter_request(offer(self.counter)),
            "accept": sender.accept if who == "C" else None,
            "agree": lambda: sender.agree(f"urn:uuid:agreement-{self.counter}", NOW),
            "verify": sender.verify if who == "C" else None,
            "finalize": sender.finalize if who == "P" else None,
            "terminate": lambda: sender.terminate("1", [f"{who} terminates"]),
        }[action]()
        assert transition.outbound and transition.new_state is sender.state
        got = receiver.receive(checked(transition.message))
        assert not got.duplicate and got.new_state is receiver.state is sender.state
        assert checked(got.reply)["state"] == receiver.state.value

    def raw(self, who: str, action: str) -> dict:
        """The message a misbehaving counter-party would send, built without consulting any table."""
        p, c = self.provider.own_pid, self.consumer.own_pid
        agreement = ct.Agreement.from_offer("urn:uuid:agreement-x", offer(), target=DATASET, assigner=PROVIDER_ID,
                                            assignee=CONSUMER_ID, timestamp=NOW)
        return checked({
            "offer": ct.contract_offer(p, offer(99), consumer_pid=c),
            "counter": ct.contract_request(c, offer(), provider_pid=p),
            "accept": ct.negotiation_event(p, c, "ACCEPTED"),
            "agree": ct.contract_agreement(p, c, agreement),
            "verify": ct.agreement_verification(p, c),
            "finalize": ct.negotiation_event(p, c, "FINALIZED"),
            "terminate": ct.negotiation_termination(p, c, "1", ["late"]),
        }[action])

    def refuse(self, step: str) -> None:
        who, action = step.lstrip("!").split(":")
        receiver = self.side("C" if who == "P" else "P")
        before = receiver.to_dict()
        with pytest.raises(ct.NegotiationError) as info:
            receiver.receive(self.raw(who, action))
        assert info.value.status == 400
        assert checked(receiver.error_body(info.value))["@type"] == "ContractNegotiationError"
        assert receiver.to_dict() == before  # a refused message never changes state

    def run(self, steps: list[str]) -> None:
        for step in steps:
            (self.refuse if step.startswith("!") else self.send)(step)


# (id, steps after the consumer's initial request, expected state of the side under test)
PROVIDER_CUT = [  # CUT = provider: CN:* (= our CNP-01..11, CNN-01..04)
    ("CN:01-01", ["P:offer", "C:terminate"], S.TERMINATED),
    ("CN:01-02", ["P:offer", "C:counter", "P:terminate"], S.TERMINATED),
    ("CN:01-03", ["P:offer", "C:accept", "P:agree", "C:verify", "P:finalize"], S.FINALIZED),
    ("CN:01-04", ["P:agree", "C:verify", "P:finalize"], S.FINALIZED),
    ("CN:02-01", ["P:terminate"], S.TERMINATED),
    ("CN:02-02", ["C:terminate"], S.TERMINATED),
    ("CN:02-03", ["P:agree", "C:terminate"], S.TERMINATED),
    ("CN:02-04", ["P:offer", "C:terminate"], S.TERMINATED),
    ("CN:02-05", ["P:offer", "P:terminate"], S.TERMINATED),
    ("CN:02-06", ["P:offer", "C:accept", "P:terminate"], S.TERMINATED),
    ("CN:02-07", ["P:agree", "C:verify", "P:terminate"], S.TERMINATED),
    ("CN:03-01", ["P:agree", "C:verify", "P:finalize", "!C:terminate"], S.FINALIZED),
    ("CN:03-02", ["P:offer", "!C:verify"], S.OFFERED),
    ("CN:03-03", ["P:offer", "C:accept", "!C:verify"], S.ACCEPTED),
    ("CN:03-04", ["P:offer", "C:counter", "!C:counter"], S.REQUESTED),
]
CONSUMER_CUT = [  # CUT = consumer: CN_C:* (= our CNC-01..16)
    ("CN_C:01-01", ["P:offer", "C:accept", "P:agree", "C:verify", "P:finalize"], S.FINALIZED),
    ("CN_C:01-02", ["P:offer", "C:counter", "P:terminate"], S.TERMINATED),
    ("CN_C:01-03", ["P:offer", "C:terminate"], S.TERMINATED),
    ("CN_C:01-04", ["P:agree", "C:verify", "P:finalize"], S.FINALIZED),
    ("CN_C:02-01", ["P:terminate"], S.TERMINATED),
    ("CN_C:02-02", ["C:terminate"], S.TERMINATED),
    ("CN_C:02-03", ["P:agree", "C:terminate"], S.TERMINATED),
    ("CN_C:02-04", ["P:offer", "P:terminate"], S.TERMINATED),
    ("CN_C:02-05", ["P:offer", "C:accept", "P:terminate"], S.TERMINATED),
    ("CN_C:02-06", ["P:agree", "C:verify", "P:terminate"], S.TERMINATED),
    ("CN_C:03-01", ["!P:finalize"], S.REQUESTED),
    ("CN_C:03-02", ["P:offer", "!P:agree"], S.OFFERED),
    ("CN_C:03-03", ["P:offer", "!P:finalize"], S.OFFERED),
    ("CN_C:03-04", ["P:offer", "C:accept", "!P:finalize"], S.ACCEPTED),
    ("CN_C:03-05", ["P:offer", "C:accept", "!P:offer"], S.ACCEPTED),
    ("CN_C:03-06", ["P:offer", "C:accept", "P:agree", "!P:finalize"], S.AGREED),
]


@pytest.mark.parametrize("name,steps,expected", PROVIDER_CUT, ids=[s[0] for s in PROVIDER_CUT])
def test_provider_scenarios(name, steps, expected):
    pair = Pair()
    pair.run(steps)
    assert pair.provider.state is expected
    assert pair.provider.state_message()["state"] == expected.value


@pytest.mark.parametrize("name,steps,expected", CONSUMER_CUT, ids=[s[0] for s in CONSUMER_CUT])
def test_consumer_scenarios(name, steps, expected):
    pair = Pair()
    pair.run(steps)
    assert pair.consumer.state is expected


@pytest.mark.parametrize("steps,expected", [
    (["C:accept", "P:agree", "C:verify", "P:finalize"], S.FINALIZED),
    (["C:counter", "P:agree", "C:verify", "P:finalize"], S.FINALIZED),
    (["C:counter", "P:offer", "C:accept", "P:agree", "C:verify", "P:finalize"], S.FINALIZED),
    (["P:offer", "C:accept", "C:terminate"], S.TERMINATED),
    (["C:terminate"], S.TERMINATED),
])
def test_provider_initiated(steps, expected):
    """CNC-18: the provider starts with an initial ContractOfferMessage; the consumer answers 201 OFFERED."""
    pair = Pair(initiator="P")
    assert pair.consumer.state is pair.provider.state is S.OFFERED
    pair.run(steps)
    assert pair.consumer.state is pair.provider.state is expected


def test_cnp12_initial_ack_echoes_consumer_pid_and_new_provider_pid():
    pair = Pair()
    ack = pair.provider.state_message()
    assert ack == {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "ContractNegotiation",
                   "providerPid": "urn:uuid:p-1", "consumerPid": "urn:uuid:c-1", "state": "REQUESTED"}
    assert pair.consumer.provider_pid == "urn:uuid:p-1"


def test_cnp13_agreement_content():
    pair = Pair()
    pair.run(["P:agree"])
    agreement = pair.provider.agreement.to_json()
    assert agreement["target"] == DATASET and agreement["assigner"] == PROVIDER_ID
    assert agreement["assignee"] == CONSUMER_ID and agreement["timestamp"] == "2026-05-01T12:00:00Z"
    assert all("target" not in rule for rule in agreement["permission"])
    assert pair.consumer.agreement == pair.provider.agreement


@pytest.mark.parametrize("event", ["ACCEPTED", "FINALIZED"])
def test_cnn09_cnn10_events_from_the_wrong_side(event):
    """CNN-09 ACCEPTED while REQUESTED; CNN-10 FINALIZED sent by the consumer: both refused, state kept."""
    pair = Pair()
    msg = ct.negotiation_event(pair.provider.own_pid, pair.consumer.own_pid, event)
    with pytest.raises(ct.InvalidTransition):
        pair.provider.receive(msg)
    assert pair.provider.state is S.REQUESTED


def test_cnn15_every_message_after_terminated_is_refused():
    pair = Pair()
    pair.run(["C:terminate"])
    for who, action in [("C", "counter"), ("C", "accept"), ("C", "verify"), ("C", "terminate")]:
        pair.refuse(f"!{who}:{action}")
    for who, action in [("P", "offer"), ("P", "agree"), ("P", "finalize")]:
        pair.refuse(f"!{who}:{action}")


def test_cnc20_consumer_refuses_an_agreement_for_another_dataset():
    pair = Pair()
    p, c = pair.provider.own_pid, pair.consumer.own_pid
    wrong = ct.Agreement.from_offer("urn:uuid:a-x", offer(), target="urn:uuid:other-dataset",
                                    assigner=PROVIDER_ID, assignee=CONSUMER_ID, timestamp=NOW)
    before = pair.consumer.to_dict()
    with pytest.raises(ct.NegotiationError) as info:
        pair.consumer.receive(ct.contract_agreement(p, c, wrong))
    assert info.value.code == "INVALID_AGREEMENT" and "target" in info.value.reasons[0]
    assert pair.consumer.to_dict() == before
