"""The transfer table: every transition, every refusal, initial message, duplicates."""

from itertools import product

import pytest

from connector.transfer import (
    INITIAL, TERMINAL, TP, TRANSITIONS, InvalidTransferTransition, TransferState, initial_state, is_duplicate,
    next_state, target_state, validate_transfer_message,
)
from contracts import Role

S, P, C = TransferState, Role.PROVIDER, Role.CONSUMER

ALLOWED = [(state, kind, sender, new) for state, row in TRANSITIONS.items() for (kind, sender), new in row.items()]
REFUSED = [(state, kind, sender) for state, kind, sender in product(S, TP, Role)
           if (kind, sender) not in TRANSITIONS[state]]

# dsp.md §7, written out independently of the table
SPEC = {
    (S.REQUESTED, TP.START, P): S.STARTED,
    **{(S.STARTED, TP.COMPLETION, r): S.COMPLETED for r in Role},
    **{(S.STARTED, TP.SUSPENSION, r): S.SUSPENDED for r in Role},
    **{(S.SUSPENDED, TP.START, r): S.STARTED for r in Role},
    **{(s, TP.TERMINATION, r): S.TERMINATED for s in (S.REQUESTED, S.STARTED, S.SUSPENDED) for r in Role},
}


def test_table_is_the_spec():
    assert {(s, k, r): n for s, k, r, n in ALLOWED} == SPEC


@pytest.mark.parametrize("state,kind,sender,new", ALLOWED, ids=str)
def test_every_allowed_transition(state, kind, sender, new):
    assert next_state(state, kind, sender) is new


@pytest.mark.parametrize("state,kind,sender", REFUSED, ids=str)
def test_every_refused_transition(state, kind, sender):
    with pytest.raises(InvalidTransferTransition) as info:
        next_state(state, kind, sender)
    err = info.value
    assert err.status == 400 and err.code == "INVALID_TRANSITION" and str(state) in err.reasons[0]
    body = err.body("urn:uuid:p", "urn:uuid:c")
    assert body["@type"] == "TransferError" and validate_transfer_message(body) is None


def test_named_invalid_cases():
    """dsp.md §7: completion or suspension in REQUESTED, completion in SUSPENDED, consumer start in REQUESTED."""
    for kind, sender, state in [(TP.COMPLETION, C, S.REQUESTED), (TP.SUSPENSION, P, S.REQUESTED),
                                (TP.COMPLETION, P, S.SUSPENDED), (TP.START, C, S.REQUESTED),
                                (TP.START, P, S.STARTED), (TP.REQUEST, C, S.REQUESTED)]:
        with pytest.raises(InvalidTransferTransition):
            next_state(state, kind, sender)


def test_initial():
    assert INITIAL == {(TP.REQUEST, C): S.REQUESTED}
    assert initial_state(TP.REQUEST, C) is S.REQUESTED
    for kind, sender in product(TP, Role):
        if (kind, sender) != (TP.REQUEST, C):
            with pytest.raises(InvalidTransferTransition, match="to start a transfer"):
                initial_state(kind, sender)


def test_terminal_and_targets():
    assert TERMINAL == {S.COMPLETED, S.TERMINATED}
    assert {k: target_state(k) for k in TP} == {TP.REQUEST: S.REQUESTED, TP.START: S.STARTED,
                                                TP.SUSPENSION: S.SUSPENDED, TP.COMPLETION: S.COMPLETED,
                                                TP.TERMINATION: S.TERMINATED}


def test_duplicate_rule():
    assert is_duplicate(S.STARTED, TP.START, P, "f", (TP.START, P, "f"))
    assert not is_duplicate(S.STARTED, TP.START, P, "g", (TP.START, P, "f"))
    assert not is_duplicate(S.STARTED, TP.START, C, "f", (TP.START, P, "f"))
    assert not is_duplicate(S.SUSPENDED, TP.START, P, "f", (TP.START, P, "f"))
