"""The DSP 2025-1 transfer process state machine, as one table, and one transfer as a sans-IO object.

Rules (dsp.md §7, the spec's ``transfer-process-state-machine.puml`` and the conformance kit's negatives):

1. Everything that decides whether a transfer message is allowed lives here: ``TRANSITIONS`` maps (current
   state, message kind, sender role) to the new state; ``INITIAL`` says that only the consumer's
   TransferRequestMessage creates a transfer (state REQUESTED). Anything else is ``InvalidTransferTransition``:
   400 with a ``TransferError`` body. A refused message never changes state.
2. The table does not know which side we play: provider and consumer records run through the same table, and our
   own outgoing messages are checked against it too.
3. Only the provider starts a transfer (REQUESTED -> STARTED, with the data address for pull formats). A consumer
   start in REQUESTED is refused.
4. Either side may suspend a started transfer and either side may resume a suspended one with a
   TransferStartMessage (the provider to /transfers/:consumerPid/start, the consumer to
   /transfers/:providerPid/start).
5. Either side may complete a started transfer; completion is refused in REQUESTED and in SUSPENDED.
6. Either side may terminate in any non-terminal state. COMPLETED and TERMINATED are terminal.
7. Duplicates (idempotency): a message that would lead to the state we are already in, from the party whose
   message put us there, with the same content (canonical fingerprint), is acknowledged with the current state
   and has no second effect. A repeated TransferRequestMessage (same consumerPid, same content) is recognised
   against the message that created the transfer; the provider then re-sends its start message if it has one.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from contracts.protocol import Role, fingerprint, same_id

from .messages import (
    TP, DataAddress, InvalidTransferMessage, TransferProtocolError, is_pull, transfer_completion, transfer_process,
    transfer_request, transfer_start, transfer_suspension, transfer_termination, validate_transfer_message,
)

__all__ = [
    "TransferState", "TRANSITIONS", "INITIAL", "TERMINAL", "InvalidTransferTransition", "next_state",
    "initial_state", "target_state", "is_duplicate", "allowed_messages", "Transfer", "TransferTransition",
]

P, C = Role.PROVIDER, Role.CONSUMER


class TransferState(str, Enum):
    """The five states, spelled as DSP does on the wire."""

    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"

    def __str__(self) -> str:
        return self.value


S = TransferState

INITIAL: dict[tuple[TP, Role], TransferState] = {(TP.REQUEST, C): S.REQUESTED}

_EITHER_TERMINATES = {(TP.TERMINATION, C): S.TERMINATED, (TP.TERMINATION, P): S.TERMINATED}

#: current state → {(message kind, sender): new state}. Nothing else grants a transition.
TRANSITIONS: dict[TransferState, dict[tuple[TP, Role], TransferState]] = {
    S.REQUESTED: {
        (TP.START, P): S.STARTED,
        **_EITHER_TERMINATES,
    },
    S.STARTED: {
        (TP.COMPLETION, C): S.COMPLETED, (TP.COMPLETION, P): S.COMPLETED,
        (TP.SUSPENSION, C): S.SUSPENDED, (TP.SUSPENSION, P): S.SUSPENDED,
        **_EITHER_TERMINATES,
    },
    S.SUSPENDED: {
        (TP.START, P): S.STARTED, (TP.START, C): S.STARTED,   # resume, by either side
        **_EITHER_TERMINATES,
    },
    S.COMPLETED: {},
    S.TERMINATED: {},
}

TERMINAL = frozenset(s for s, row in TRANSITIONS.items() if not row)


class InvalidTransferTransition(TransferProtocolError):
    """No table entry for (state, message, sender): DSP's 400 "invalid state transition"."""

    def __init__(self, state: TransferState | None, kind: TP, sender: Role):
        self.state, self.kind, self.sender = state, kind, sender
        where = f"in state {state}" if state is not None else "to start a transfer"
        allowed = allowed_messages(state)
        reasons = [f"{kind} from the {sender} is not allowed {where}"]
        reasons.append("allowed here: " + ", ".join(f"{k} from the {r}" for k, r in allowed) if allowed
                       else f"{state} is terminal: no message is accepted")
        super().__init__("INVALID_TRANSITION", reasons)


def allowed_messages(state: TransferState | None) -> list[tuple[TP, Role]]:
    return list(INITIAL if state is None else TRANSITIONS[state])


def initial_state(kind: TP, sender: Role) -> TransferState:
    try:
        return INITIAL[(kind, sender)]
    except KeyError:
        raise InvalidTransferTransition(None, kind, sender) from None


def next_state(state: TransferState, kind: TP, sender: Role) -> TransferState:
    """Look the transition up; a missing entry is ``InvalidTransferTransition``."""
    try:
        return TRANSITIONS[state][(kind, sender)]
    except KeyError:
        raise InvalidTransferTransition(state, kind, sender) from None


def target_state(kind: TP) -> TransferState:
    targets = {new for row in TRANSITIONS.values() for (k, _), new in row.items() if k == kind}
    targets |= {new for (k, _), new in INITIAL.items() if k == kind}
    (only,) = targets
    return only


def is_duplicate(state: TransferState, kind: TP, sender: Role, message_fp: str,
                 last: tuple[TP, Role, str] | None) -> bool:
    """Rule 7: same kind, sender and fingerprint as the message that led to ``state``."""
    if last is None:
        return False
    return (target_state(kind) is state and kind == last[0] and sender is last[1] and message_fp == last[2])


@dataclass(frozen=True)
class TransferTransition:
    """What one message did: for the audit log, the outbox and the HTTP answer."""

    kind: TP
    sender: Role
    old_state: TransferState | None
    new_state: TransferState
    message: dict[str, Any]
    outbound: bool
    duplicate: bool = False
    reply: dict[str, Any] | None = None     # the TransferProcess acknowledgement


@dataclass
class Transfer:
    """Our record of one transfer process, on either side; ``role`` is the side we play."""

    role: Role
    own_pid: str
    state: TransferState
    agreement_id: str
    format: str
    peer_pid: str | None = None
    peer_address: str | None = None
    data_address: dict[str, Any] | None = None   # last address received/sent in a start (or a push request)
    initial_fp: str | None = None
    last: tuple[TP, Role, str] | None = None
    reason: dict[str, Any] | None = None          # code/reasons of the last suspension or termination

    @property
    def provider_pid(self) -> str | None:
        return self.own_pid if self.role is Role.PROVIDER else self.peer_pid

    @property
    def consumer_pid(self) -> str | None:
        return self.own_pid if self.role is Role.CONSUMER else self.peer_pid

    @property
    def pull(self) -> bool:
        return is_pull(self.format)

    @property
    def address(self) -> DataAddress | None:
        return DataAddress.from_json(self.data_address) if self.data_address else None

    # -- creation ---------------------------------------------------------------------------------------------
    @classmethod
    def start_request(cls, *, consumer_pid: str, agreement_id: str, format_: str, callback_address: str,
                      provider_address: str | None = None,
                      data_address: DataAddress | None = None) -> tuple["Transfer", TransferTransition]:
        """Consumer side: create the transfer with the TransferRequestMessage to send."""
        message = transfer_request(consumer_pid, agreement_id, format_, callback_address, data_address)
        validate_transfer_message(message)
        state = initial_state(TP.REQUEST, Role.CONSUMER)
        fp = fingerprint(message)
        tr = cls(Role.CONSUMER, consumer_pid, state, agreement_id, format_, peer_address=provider_address,
                 data_address=message.get("dataAddress"), initial_fp=fp, last=(TP.REQUEST, Role.CONSUMER, fp))
        return tr, TransferTransition(TP.REQUEST, Role.CONSUMER, None, state, message, outbound=True)

    @classmethod
    def from_request(cls, message: dict[str, Any], *, own_pid: str) -> tuple["Transfer", TransferTransition]:
        """Provider side: create our record from a TransferRequestMessage (agreement checks are the node's)."""
        kind = validate_transfer_message(message)
        if kind is not TP.REQUEST:
            raise TransferProtocolError("NOT_INITIAL", f"{message['@type']} cannot start a transfer; send it to "
                                                       "the transfer's own path")
        state = initial_state(kind, Role.CONSUMER)
        fp = fingerprint(message)
        tr = cls(Role.PROVIDER, own_pid, state, message["agreementId"], message["format"],
                 peer_pid=message["consumerPid"], peer_address=message["callbackAddress"],
                 data_address=message.get("dataAddress"), initial_fp=fp, last=(kind, Role.CONSUMER, fp))
        return tr, TransferTransition(kind, Role.CONSUMER, None, state, message, outbound=False,
                                      reply=tr.state_message())

    def acknowledged(self, ack: dict[str, Any]) -> None:
        """Record the provider's pid from its 201 ``TransferProcess`` answer to our request."""
        validate_transfer_message(ack)
        if ack["@type"] != "TransferProcess":
            raise InvalidTransferMessage([f"@type: expected TransferProcess, got {ack['@type']!r}"])
        own_key, peer_key = self._keys()
        if not same_id(ack[own_key], self.own_pid):
            raise TransferProtocolError("PID_MISMATCH", f"{own_key} {ack[own_key]!r} is not ours")
        self.peer_pid = ack[peer_key]

    # -- receiving --------------------------------------------------------------------------------------------
    def receive(self, message: dict[str, Any]) -> TransferTransition:
        """Apply a message from the counter-party, or raise a TransferProtocolError and change nothing."""
        kind = validate_transfer_message(message)
        if kind is None:
            raise InvalidTransferMessage([f"@type: {message['@type']} is an answer, not a transfer message"])
        sender = self.role.other
        fp = fingerprint(message)
        if kind is TP.REQUEST:
            if fp == self.initial_fp:
                return TransferTransition(kind, sender, self.state, self.state, message, outbound=False,
                                          duplicate=True, reply=self.state_message())
            raise TransferProtocolError("PID_IN_USE", "a different TransferRequestMessage already used this "
                                                      "consumerPid; use a fresh pid")
        self._check_pids(message)
        if is_duplicate(self.state, kind, sender, fp, self.last):
            return TransferTransition(kind, sender, self.state, self.state, message, outbound=False,
                                      duplicate=True, reply=self.state_message())
        new = next_state(self.state, kind, sender)
        self._check_start(kind, sender, message)
        if self.peer_pid is None:
            self.peer_pid = message[self._keys()[1]]
        return self._apply(kind, sender, message, fp, new, outbound=False)

    def _keys(self) -> tuple[str, str]:
        return ("providerPid", "consumerPid") if self.role is Role.PROVIDER else ("consumerPid", "providerPid")

    def _check_pids(self, message: dict[str, Any]) -> None:
        own_key, peer_key = self._keys()
        problems = []
        if not same_id(message.get(own_key), self.own_pid):
            problems.append(f"{own_key} {message.get(own_key)!r} is not this transfer's ({self.own_pid!r})")
        if self.peer_pid is not None and not same_id(message.get(peer_key), self.peer_pid):
            problems.append(f"{peer_key} {message.get(peer_key)!r} is not this transfer's ({self.peer_pid!r})")
        if problems:
            raise TransferProtocolError("PID_MISMATCH", problems)

    def _check_start(self, kind: TP, sender: Role, message: dict[str, Any]) -> None:
        if (kind is TP.START and sender is Role.PROVIDER and self.state is TransferState.REQUESTED
                and self.pull and "dataAddress" not in message):
            raise InvalidTransferMessage(["dataAddress: required to start a pull transfer "
                                          "(endpoint and access token)"])

    def _apply(self, kind: TP, sender: Role, message: dict[str, Any], fp: str, new: TransferState, *,
               outbound: bool) -> TransferTransition:
        old = self.state
        if kind is TP.START and "dataAddress" in message:
            self.data_address = copy.deepcopy(message["dataAddress"])
        if kind in (TP.SUSPENSION, TP.TERMINATION):
            self.reason = {"by": sender.value, "code": message.get("code"), "reason": message.get("reason")}
        self.state, self.last = new, (kind, sender, fp)
        return TransferTransition(kind, sender, old, new, message, outbound=outbound,
                                  reply=None if outbound else self.state_message())

    # -- sending ----------------------------------------------------------------------------------------------
    def _send(self, kind: TP, message: dict[str, Any]) -> TransferTransition:
        if self.peer_pid is None:
            raise TransferProtocolError("NO_PEER_PID", "the provider has not acknowledged the transfer yet")
        new = next_state(self.state, kind, self.role)
        validate_transfer_message(message)
        self._check_start(kind, self.role, message)
        return self._apply(kind, self.role, message, fingerprint(message), new, outbound=True)

    def start(self, data_address: DataAddress | None = None) -> TransferTransition:
        """Provider: start (REQUESTED → STARTED, with the pull address); either side: resume from SUSPENDED."""
        return self._send(TP.START, transfer_start(self.provider_pid, self.consumer_pid, data_address))

    def suspend(self, code: str | None = None, reasons: list[Any] | None = None) -> TransferTransition:
        return self._send(TP.SUSPENSION, transfer_suspension(self.provider_pid, self.consumer_pid, code, reasons))

    def complete(self) -> TransferTransition:
        return self._send(TP.COMPLETION, transfer_completion(self.provider_pid, self.consumer_pid))

    def terminate(self, code: str | None = None, reasons: list[Any] | None = None) -> TransferTransition:
        return self._send(TP.TERMINATION, transfer_termination(self.provider_pid, self.consumer_pid, code, reasons))

    # -- views ------------------------------------------------------------------------------------------------
    def state_message(self) -> dict[str, Any]:
        """The ``TransferProcess`` object: acknowledgement and answer to GET."""
        return transfer_process(self.provider_pid or "", self.consumer_pid or "", self.state.value)

    def error_body(self, error: TransferProtocolError) -> dict[str, Any]:
        return error.body(self.provider_pid, self.consumer_pid)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["role"], data["state"] = self.role.value, self.state.value
        data["last"] = [self.last[0].value, self.last[1].value, self.last[2]] if self.last else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Transfer":
        data = dict(data)
        data["role"], data["state"] = Role(data["role"]), TransferState(data["state"])
        last = data.get("last")
        data["last"] = (TP(last[0]), Role(last[1]), last[2]) if last else None
        return cls(**data)
