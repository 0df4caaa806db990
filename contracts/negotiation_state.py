"""The DSP 2025-1 contract negotiation state machine, as one table.

Rules (dsp.md §6, the spec's ``contract.negotiation.state.machine.puml`` and the conformance kit's negatives):

1. Everything that decides whether a negotiation message is allowed lives in this file: the table
   ``TRANSITIONS`` maps (current state, message kind, sender role) to the new state; ``INITIAL`` says which
   messages create a negotiation. Anything not in a table is a protocol error (``InvalidTransition``), which the
   HTTP layer answers with 400 and a ``ContractNegotiationError`` body. A refused message never changes state.
2. The table does not know which side we play. The provider's record and the consumer's record of one negotiation
   run through the same table, fed with the same messages, whoever sent them; only the sender's role is looked
   at. Our own outgoing messages go through the table too, so we cannot send what we would refuse to receive.
3. Who may send what: the consumer sends ContractRequestMessage, the ACCEPTED event and the agreement
   verification; the provider sends ContractOfferMessage, ContractAgreementMessage and the FINALIZED event. A
   consumer sending FINALIZED or a provider sending ACCEPTED has no entry, hence an error.
4. Creating a negotiation: an initial ContractRequestMessage from the consumer (state REQUESTED) or an initial
   ContractOfferMessage from the provider (state OFFERED). Initial messages carry ``callbackAddress`` and not
   the receiver's pid; every later message carries both pids.
5. Termination: the prose says a termination may be sent at any state; the diagram narrows who may terminate in
   ACCEPTED, AGREED and VERIFIED. We accept a termination from either party in every non-terminal state (what
   the conformance kit expects) and refuse it after FINALIZED or TERMINATED.
6. FINALIZED and TERMINATED are terminal: nothing leaves them.
7. Repeated offers: the provider may replace its offer while OFFERED (OFFERED -> OFFERED; not drawn in the
   diagram but tolerated by the conformance kit); an offer in ACCEPTED is refused (CN_C:03-05).
8. Duplicates (idempotency): a message that would lead to the state we are already in, from the party whose
   message put us there, with the same content (same canonical fingerprint), is a duplicate: acknowledged with the
   current state, with no second effect. This is how a retried delivery whose acknowledgement was lost is
   absorbed. One exception: a second counter ContractRequestMessage while REQUESTED is refused even when identical,
   because DSP forbids it and the conformance kit checks it with an identical message (CN:03-04); a sender that
   lost that acknowledgement reconciles with a GET of the negotiation. A repeated *initial* message (same pid,
   same content) is recognised against the message that created the negotiation (``Negotiation.receive``).
"""

from __future__ import annotations

from enum import Enum

from .protocol import ProtocolError, Role

__all__ = [
    "NegotiationState", "CN", "TRANSITIONS", "INITIAL", "TERMINAL", "NOT_REPEATABLE", "SENDER_OF",
    "NegotiationError", "InvalidTransition", "next_state", "initial_state", "target_state", "is_duplicate",
    "allowed_messages",
]

P, C = Role.PROVIDER, Role.CONSUMER


class NegotiationState(str, Enum):
    """The seven states, spelled as DSP does on the wire."""

    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"

    def __str__(self) -> str:
        return self.value


class CN(str, Enum):
    """Negotiation message kinds: the message ``@type``, with the event type split out (it decides the state)."""

    REQUEST = "ContractRequestMessage"
    OFFER = "ContractOfferMessage"
    AGREEMENT = "ContractAgreementMessage"
    VERIFICATION = "ContractAgreementVerificationMessage"
    ACCEPTED = "ContractNegotiationEventMessage:ACCEPTED"
    FINALIZED = "ContractNegotiationEventMessage:FINALIZED"
    TERMINATION = "ContractNegotiationTerminationMessage"

    def __str__(self) -> str:
        return self.value


S = NegotiationState

#: (message kind, sender) that create a negotiation, and the state they create it in.
INITIAL: dict[tuple[CN, Role], NegotiationState] = {
    (CN.REQUEST, C): S.REQUESTED,
    (CN.OFFER, P): S.OFFERED,
}

_TERMINATE_EITHER = {(CN.TERMINATION, C): S.TERMINATED, (CN.TERMINATION, P): S.TERMINATED}

#: current state → {(message kind, sender): new state}. The whole protocol; nothing else grants a transition.
TRANSITIONS: dict[NegotiationState, dict[tuple[CN, Role], NegotiationState]] = {
    S.REQUESTED: {
        (CN.OFFER, P): S.OFFERED,            # provider counter-offers
        (CN.AGREEMENT, P): S.AGREED,         # provider agrees to the consumer's request directly
        **_TERMINATE_EITHER,
    },
    S.OFFERED: {
        (CN.REQUEST, C): S.REQUESTED,        # consumer counter-requests
        (CN.ACCEPTED, C): S.ACCEPTED,        # consumer accepts the provider's offer
        (CN.OFFER, P): S.OFFERED,            # provider replaces its offer (rule 7)
        **_TERMINATE_EITHER,
    },
    S.ACCEPTED: {
        (CN.AGREEMENT, P): S.AGREED,
        **_TERMINATE_EITHER,
    },
    S.AGREED: {
        (CN.VERIFICATION, C): S.VERIFIED,
        **_TERMINATE_EITHER,
    },
    S.VERIFIED: {
        (CN.FINALIZED, P): S.FINALIZED,
        **_TERMINATE_EITHER,
    },
    S.FINALIZED: {},
    S.TERMINATED: {},
}

TERMINAL = frozenset(s for s, row in TRANSITIONS.items() if not row)

#: kinds whose identical repetition is still refused (rule 8)
NOT_REPEATABLE = frozenset({CN.REQUEST})

#: the only role that may send each kind (termination: either, hence absent)
SENDER_OF: dict[CN, Role] = {
    CN.REQUEST: C, CN.ACCEPTED: C, CN.VERIFICATION: C,
    CN.OFFER: P, CN.AGREEMENT: P, CN.FINALIZED: P,
}


class NegotiationError(ProtocolError):
    """A refused negotiation message; its body is a ``ContractNegotiationError``."""

    error_type = "ContractNegotiationError"


class InvalidTransition(NegotiationError):
    """No table entry for (state, message, sender): DSP's 400 "invalid state transition"."""

    def __init__(self, state: NegotiationState | None, kind: CN, sender: Role):
        self.state, self.kind, self.sender = state, kind, sender
        where = f"in state {state}" if state is not None else "to start a negotiation"
        allowed = allowed_messages(state)
        reasons = [f"{kind} from the {sender} is not allowed {where}"]
        reasons.append("allowed here: " + ", ".join(f"{k} from the {r}" for k, r in allowed) if allowed
                       else f"{state} is terminal: no message is accepted")
        super().__init__("INVALID_TRANSITION", reasons)


def allowed_messages(state: NegotiationState | None) -> list[tuple[CN, Role]]:
    """The (kind, sender) pairs the table accepts in ``state`` (``None``: before the negotiation exists)."""
    return list(INITIAL if state is None else TRANSITIONS[state])


def initial_state(kind: CN, sender: Role) -> NegotiationState:
    """The state a negotiation is created in by an initial message, or ``InvalidTransition``."""
    try:
        return INITIAL[(kind, sender)]
    except KeyError:
        raise InvalidTransition(None, kind, sender) from None


def next_state(state: NegotiationState, kind: CN, sender: Role) -> NegotiationState:
    """Look the transition up in the table; a missing entry is ``InvalidTransition`` (never a silent no-op)."""
    try:
        return TRANSITIONS[state][(kind, sender)]
    except KeyError:
        raise InvalidTransition(state, kind, sender) from None


def target_state(kind: CN) -> NegotiationState:
    """Every kind leads to exactly one state wherever it is accepted; duplicates are recognised by it."""
    targets = {new for row in TRANSITIONS.values() for (k, _), new in row.items() if k == kind}
    targets |= {new for (k, _), new in INITIAL.items() if k == kind}
    (only,) = targets
    return only


def is_duplicate(state: NegotiationState, kind: CN, sender: Role, message_fp: str,
                 last: tuple[CN, Role, str] | None) -> bool:
    """Rule 8: same kind, same sender and same fingerprint as the message that led to ``state``."""
    if last is None or kind in NOT_REPEATABLE:
        return False
    last_kind, last_sender, last_fp = last
    return (target_state(kind) is state and kind == last_kind and sender is last_sender
            and message_fp == last_fp)

