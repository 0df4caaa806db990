"""The negotiation table itself: every transition, every refusal, the initial messages, duplicates."""

from itertools import product

import pytest

from contracts import (
    CN, INITIAL, TERMINAL, TRANSITIONS, InvalidTransition, NegotiationState, Role, initial_state, is_duplicate,
    negotiation_error, next_state, target_state, validate_negotiation_message,
)
from contracts.negotiation_state import SENDER_OF

S, P, C = NegotiationState, Role.PROVIDER, Role.CONSUMER

ALLOWED = [(state, kind, sender, new) for state, row in TRANSITIONS.items() for (kind, sender), new in row.items()]
REFUSED = [(state, kind, sender) for state, kind, sender in product(S, CN, Role)
           if (kind, sender) not in TRANSITIONS[state]]

# dsp.md §6 written out independently of the table, plus rules 5 and 7 of contracts/negotiation_state.py
SPEC = {
    (S.REQUESTED, CN.OFFER, P): S.OFFERED, (S.REQUESTED, CN.AGREEMENT, P): S.AGREED,
    (S.OFFERED, CN.REQUEST, C): S.REQUESTED, (S.OFFERED, CN.ACCEPTED, C): S.ACCEPTED,
    (S.OFFERED, CN.OFFER, P): S.OFFERED,
    (S.ACCEPTED, CN.AGREEMENT, P): S.AGREED, (S.AGREED, CN.VERIFICATION, C): S.VERIFIED,
    (S.VERIFIED, CN.FINALIZED, P): S.FINALIZED,
    **{(s, CN.TERMINATION, r): S.TERMINATED for s in S if s not in (S.FINALIZED, S.TERMINATED) for r in Role},
}


def test_table_is_the_spec():
    assert {(s, k, r): n for s, k, r, n in ALLOWED} == SPEC


@pytest.mark.parametrize("state,kind,sender,new", ALLOWED, ids=lambda v: str(v))
def test_every_allowed_transition(state, kind, sender, new):
    assert next_state(state, kind, sender) is new


@pytest.mark.parametrize("state,kind,sender", REFUSED, ids=lambda v: str(v))
def test_every_refused_transition(state, kind, sender):
    with pytest.raises(InvalidTransition) as info:
        next_state(state, kind, sender)
    err = info.value
    assert err.status == 400 and err.code == "INVALID_TRANSITION"
    assert str(kind) in err.reasons[0] and str(state) in err.reasons[0]
    body = err.body("urn:uuid:p", "urn:uuid:c")
    assert body["@type"] == "ContractNegotiationError"
    assert validate_negotiation_message(body) is None  # schema-valid error body


def test_refusal_names_what_is_allowed():
    with pytest.raises(InvalidTransition) as info:
        next_state(S.OFFERED, CN.VERIFICATION, C)
    assert "ContractNegotiationEventMessage:ACCEPTED from the consumer" in info.value.reasons[1]
    with pytest.raises(InvalidTransition) as info:
        next_state(S.FINALIZED, CN.TERMINATION, C)
    assert "terminal" in info.value.reasons[1]


def test_initial_messages():
    assert INITIAL == {(CN.REQUEST, C): S.REQUESTED, (CN.OFFER, P): S.OFFERED}
    assert initial_state(CN.REQUEST, C) is S.REQUESTED
    assert initial_state(CN.OFFER, P) is S.OFFERED
    for kind, sender in product(CN, Role):
        if (kind, sender) not in INITIAL:
            with pytest.raises(InvalidTransition):
                initial_state(kind, sender)


def test_roles_of_senders():
    """Only the consumer requests, accepts, verifies; only the provider offers, agrees, finalizes."""
    for _, kind, sender, _ in ALLOWED:
        if kind in SENDER_OF:
            assert sender is SENDER_OF[kind]


def test_terminal_states():
    assert TERMINAL == {S.FINALIZED, S.TERMINATED}
    for state in TERMINAL:
        for kind, sender in product(CN, Role):
            with pytest.raises(InvalidTransition):
                next_state(state, kind, sender)


def test_termination_from_either_side_in_every_non_terminal_state():
    for state in set(S) - TERMINAL:
        for sender in Role:
            assert next_state(state, CN.TERMINATION, sender) is S.TERMINATED


def test_each_kind_has_one_target_state():
    assert {k: target_state(k) for k in CN} == {
        CN.REQUEST: S.REQUESTED, CN.OFFER: S.OFFERED, CN.AGREEMENT: S.AGREED, CN.VERIFICATION: S.VERIFIED,
        CN.ACCEPTED: S.ACCEPTED, CN.FINALIZED: S.FINALIZED, CN.TERMINATION: S.TERMINATED}


def test_duplicate_rule():
    last = (CN.AGREEMENT, P, "fp1")
    assert is_duplicate(S.AGREED, CN.AGREEMENT, P, "fp1", last)
    assert not is_duplicate(S.AGREED, CN.AGREEMENT, P, "fp2", last)       # different content
    assert not is_duplicate(S.AGREED, CN.AGREEMENT, C, "fp1", last)       # other sender
    assert not is_duplicate(S.VERIFIED, CN.AGREEMENT, P, "fp1", last)     # state moved on
    assert not is_duplicate(S.AGREED, CN.AGREEMENT, P, "fp1", None)
    # the counter-request is never a duplicate (CN:03-04)
    assert not is_duplicate(S.REQUESTED, CN.REQUEST, C, "fp", (CN.REQUEST, C, "fp"))
    assert is_duplicate(S.TERMINATED, CN.TERMINATION, C, "t", (CN.TERMINATION, C, "t"))


def test_error_builder_accepts_unknown_pids():
    body = negotiation_error(None, "urn:uuid:c", "INVALID_MESSAGE", ["x"])
    assert validate_negotiation_message(body) is None and body["providerPid"] == ""
