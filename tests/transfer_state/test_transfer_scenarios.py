"""dsp.md §11 (TP, TP_C) and §13 (TPP, TPN, TPC) walked through two pure Transfer objects, plus idempotency,
pid checks and random sequences (hypothesis)."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.transfer import (
    HTTP_PULL, TP, TRANSITIONS, DataAddress, InvalidTransferMessage, InvalidTransferTransition, Transfer,
    TransferProtocolError, TransferState, transfer_completion, transfer_problems, transfer_request,
    transfer_start, transfer_suspension, transfer_termination,
)
from contracts import Role
from contracts.schemas import validation_errors

S, P, C = TransferState, Role.PROVIDER, Role.CONSUMER
ADDRESS = DataAddress.http_pull("https://provider.example/data/1", "tok-1", refresh_token="ref-1",
                                refresh_endpoint="https://provider.example/token", expires_in=300)


def checked(message):
    assert validation_errors(message) == [] and transfer_problems(message) == [], message
    return message


class Pair:
    def __init__(self, format_=HTTP_PULL):
        self.consumer, t = Transfer.start_request(consumer_pid="urn:uuid:c-1", agreement_id="urn:uuid:ATP0101",
                                                  format_=format_, callback_address="https://hub.example/dsp")
        self.provider, got = Transfer.from_request(checked(t.message), own_pid="urn:uuid:p-1")
        assert got.reply["state"] == "REQUESTED"
        self.consumer.acknowledged(checked(got.reply))

    def side(self, who):
        return self.provider if who == "P" else self.consumer

    def send(self, step):
        who, action = step.split(":")
        sender, receiver = self.side(who), self.side("C" if who == "P" else "P")
        t = {"start": lambda: sender.start(ADDRESS if who == "P" and sender.state is S.REQUESTED else None),
             "suspend": lambda: sender.suspend("1", ["pause"]),
             "complete": sender.complete,
             "terminate": lambda: sender.terminate("1", ["stop"])}[action]()
        got = receiver.receive(checked(t.message))
        assert not got.duplicate and receiver.state is sender.state is t.new_state
        assert checked(got.reply)["state"] == receiver.state.value

    def raw(self, action):
        p, c = self.provider.own_pid, self.consumer.own_pid
        return checked({"start": transfer_start(p, c, ADDRESS), "suspend": transfer_suspension(p, c),
                        "complete": transfer_completion(p, c), "terminate": transfer_termination(p, c)}[action])

    def refuse(self, step):
        who, action = step.lstrip("!").split(":")
        receiver = self.side("C" if who == "P" else "P")
        before = receiver.to_dict()
        with pytest.raises(TransferProtocolError) as info:
            receiver.receive(self.raw(action))
        assert info.value.status == 400
        assert checked(receiver.error_body(info.value))["@type"] == "TransferError"
        assert receiver.to_dict() == before

    def run(self, steps):
        for step in steps:
            (self.refuse if step.startswith("!") else self.send)(step)


PROVIDER_CUT = [  # TP:* = our TPP-01..09 and TPN-01..06
    ("TP:01-01", ["P:start", "P:terminate"], S.TERMINATED),
    ("TP:01-02", ["P:start", "P:complete"], S.COMPLETED),
    ("TP:01-03", ["P:start", "P:suspend", "P:terminate"], S.TERMINATED),
    ("TP:01-04", ["P:start", "P:suspend", "P:start", "P:complete"], S.COMPLETED),
    ("TP:01-05", ["P:terminate"], S.TERMINATED),
    ("TP:02-01", ["P:start", "C:terminate"], S.TERMINATED),
    ("TP:02-02", ["P:start", "C:complete"], S.COMPLETED),
    ("TP:02-03", ["P:start", "C:suspend", "C:terminate"], S.TERMINATED),
    ("TP:02-04 (TPP-13)", ["P:start", "C:suspend", "C:start", "C:complete"], S.COMPLETED),
    ("TP:02-05", ["C:terminate"], S.TERMINATED),
    ("TP:03-01", ["!C:complete"], S.REQUESTED),
    ("TP:03-02", ["!C:suspend"], S.REQUESTED),
    ("TP:03-03", ["P:start", "C:suspend", "!C:complete"], S.SUSPENDED),
    ("TP:03-04", ["P:start", "C:terminate", "!C:start"], S.TERMINATED),
    ("TP:03-05", ["P:start", "C:terminate", "!C:suspend"], S.TERMINATED),
    ("TP:03-06", ["P:start", "C:terminate", "!C:complete"], S.TERMINATED),
    ("TPN-11 consumer start in REQUESTED", ["!C:start"], S.REQUESTED),
]
CONSUMER_CUT = [  # TP_C:* = our TPC-01..15
    ("TP_C:01-01", ["P:start", "P:terminate"], S.TERMINATED),
    ("TP_C:01-02", ["P:start", "P:complete"], S.COMPLETED),
    ("TP_C:01-03", ["P:start", "P:suspend", "P:terminate"], S.TERMINATED),
    ("TP_C:01-04", ["P:start", "P:suspend", "P:start", "P:complete"], S.COMPLETED),
    ("TP_C:01-05", ["P:terminate"], S.TERMINATED),
    ("TP_C:02-01", ["P:start", "C:terminate"], S.TERMINATED),
    ("TP_C:02-02", ["P:start", "C:complete"], S.COMPLETED),
    ("TP_C:02-03", ["P:start", "C:suspend", "C:terminate"], S.TERMINATED),
    ("TP_C:02-04", ["P:start", "C:suspend", "C:start", "C:complete"], S.COMPLETED),
    ("TP_C:02-05", ["C:terminate"], S.TERMINATED),
    ("TP_C:03-01", ["!P:complete"], S.REQUESTED),
    ("TP_C:03-02", ["!P:suspend"], S.REQUESTED),
    ("TP_C:03-03", ["P:start", "P:suspend", "!P:complete"], S.SUSPENDED),
    ("TP_C:03-04", ["P:start", "P:terminate", "!P:start"], S.TERMINATED),
    ("TP_C:03-05", ["P:start", "P:terminate", "!P:suspend"], S.TERMINATED),
    ("TP_C:03-06", ["P:start", "P:terminate", "!P:complete"], S.TERMINATED),
]


@pytest.mark.parametrize("name,steps,expected", PROVIDER_CUT, ids=[s[0] for s in PROVIDER_CUT])
def test_provider_scenarios(name, steps, expected):
    pair = Pair()
    pair.run(steps)
    assert pair.provider.state is expected


@pytest.mark.parametrize("name,steps,expected", CONSUMER_CUT, ids=[s[0] for s in CONSUMER_CUT])
def test_consumer_scenarios(name, steps, expected):
    pair = Pair()
    pair.run(steps)
    assert pair.consumer.state is expected


def test_tpp10_tpc16_request_and_ack():
    pair = Pair()
    assert pair.provider.state_message() == {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "TransferProcess",
        "providerPid": "urn:uuid:p-1", "consumerPid": "urn:uuid:c-1", "state": "REQUESTED"}
    assert pair.provider.peer_address == "https://hub.example/dsp" and pair.provider.data_address is None
    assert pair.consumer.provider_pid == "urn:uuid:p-1"


def test_tpp11_start_carries_the_pull_address_to_the_consumer():
    pair = Pair()
    pair.run(["P:start"])
    assert pair.consumer.address == ADDRESS and pair.consumer.address.token == "tok-1"


def test_tpc18_provider_start_without_address_for_pull_is_refused():
    pair = Pair()
    with pytest.raises(InvalidTransferMessage, match="dataAddress"):
        pair.consumer.receive(transfer_start("urn:uuid:p-1", "urn:uuid:c-1"))
    assert pair.consumer.state is S.REQUESTED
    with pytest.raises(InvalidTransferMessage):
        pair.provider.start()  # and we never send one
    assert pair.provider.state is S.REQUESTED


def test_push_start_needs_no_address():
    pair = Pair(format_="HttpData-PUSH")
    t = pair.provider.start()
    assert pair.consumer.receive(t.message).new_state is S.STARTED


def test_resume_may_rotate_the_address():
    pair = Pair()
    pair.run(["P:start", "P:suspend"])
    new = DataAddress.http_pull("https://provider.example/data/1", "tok-2")
    pair.consumer.receive(pair.provider.start(new).message)
    assert pair.consumer.address.token == "tok-2"


def test_tpp12_repeated_request_is_a_duplicate():
    consumer, t = Transfer.start_request(consumer_pid="urn:uuid:c", agreement_id="urn:uuid:a", format_=HTTP_PULL,
                                         callback_address="https://hub.example/cb")
    provider, _ = Transfer.from_request(t.message, own_pid="urn:uuid:p")
    provider.start(ADDRESS)
    again = provider.receive(copy.deepcopy(t.message))
    assert again.duplicate and again.reply["state"] == "STARTED"
    other = transfer_request("urn:uuid:c", "urn:uuid:another", HTTP_PULL, "https://hub.example/cb")
    with pytest.raises(TransferProtocolError, match="PID_IN_USE"):
        provider.receive(other)


def test_repeated_start_is_a_duplicate_a_different_start_is_refused():
    pair = Pair()
    t = pair.provider.start(ADDRESS)
    pair.consumer.receive(t.message)
    before = pair.consumer.to_dict()
    assert pair.consumer.receive(copy.deepcopy(t.message)).duplicate and pair.consumer.to_dict() == before
    with pytest.raises(InvalidTransferTransition):
        pair.consumer.receive(transfer_start("urn:uuid:p-1", "urn:uuid:c-1",
                                             DataAddress.http_pull("https://x.example", "other")))


def test_pid_mismatch():
    pair = Pair()
    with pytest.raises(TransferProtocolError, match="PID_MISMATCH"):
        pair.provider.receive(transfer_termination("urn:uuid:p-other", "urn:uuid:c-1"))
    with pytest.raises(TransferProtocolError, match="PID_MISMATCH"):
        pair.provider.receive(transfer_termination("urn:uuid:p-1", "urn:uuid:c-other"))


def test_termination_reason_is_kept_and_record_round_trips():
    pair = Pair()
    pair.run(["P:start"])
    pair.consumer.receive(transfer_termination("urn:uuid:p-1", "urn:uuid:c-1", "REVOKED", ["agreement revoked"]))
    assert pair.consumer.reason == {"by": "PROVIDER", "code": "REVOKED", "reason": ["agreement revoked"]}
    assert Transfer.from_dict(pair.consumer.to_dict()) == pair.consumer


def test_only_a_request_creates_a_transfer():
    with pytest.raises(TransferProtocolError, match="NOT_INITIAL"):
        Transfer.from_request(transfer_start("urn:uuid:p", "urn:uuid:c", ADDRESS), own_pid="urn:uuid:p")


def test_consumer_cannot_send_before_acknowledgement():
    consumer, _ = Transfer.start_request(consumer_pid="urn:uuid:c", agreement_id="urn:uuid:a", format_=HTTP_PULL,
                                         callback_address="https://hub.example/cb")
    with pytest.raises(TransferProtocolError, match="NO_PEER_PID"):
        consumer.terminate()


REACHABLE = {s for row in TRANSITIONS.values() for s in row.values()} | {S.REQUESTED}


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(list(TP)), st.sampled_from(list(Role)), st.booleans()),
                      max_size=12),
       side=st.sampled_from(["provider", "consumer"]))
def test_random_sequences_stay_in_the_spec(steps, side):
    pair = Pair()
    tr = pair.side("P" if side == "provider" else "C")
    for kind, sender, with_address in steps:
        before, old = tr.to_dict(), tr.state
        address = ADDRESS if with_address else None
        try:
            if sender is tr.role:
                t = {TP.REQUEST: lambda: (_ for _ in ()).throw(ValueError("no second request")),
                     TP.START: lambda: tr.start(address), TP.SUSPENSION: tr.suspend, TP.COMPLETION: tr.complete,
                     TP.TERMINATION: tr.terminate}[kind]()
            else:
                p, c = "urn:uuid:p-1", "urn:uuid:c-1"
                message = {TP.REQUEST: lambda: transfer_request(c, "urn:uuid:x", HTTP_PULL, "https://h.example/cb"),
                           TP.START: lambda: transfer_start(p, c, address),
                           TP.SUSPENSION: lambda: transfer_suspension(p, c),
                           TP.COMPLETION: lambda: transfer_completion(p, c),
                           TP.TERMINATION: lambda: transfer_termination(p, c)}[kind]()
                t = tr.receive(message)
        except (TransferProtocolError, ValueError):
            assert tr.to_dict() == before  # a refused message never changes state
            continue
        assert tr.state in REACHABLE
        if t.duplicate:
            assert tr.to_dict() == before
        else:
            assert TRANSITIONS[old][(kind, sender)] is tr.state
