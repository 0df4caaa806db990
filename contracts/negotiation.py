"""One contract negotiation as a sans-IO object: messages in, transitions out, no I/O.

The HTTP layer loads a :class:`Negotiation` from the store, calls :meth:`Negotiation.receive` with the message it
got (or one of the sending methods: :meth:`~Negotiation.agree`, :meth:`~Negotiation.terminate`...), stores the
object, the :class:`Transition` (audit) and any outbound message (outbox) in one transaction, then answers with
``transition.reply``. A refused message raises a :class:`~contracts.negotiation_state.NegotiationError` and leaves
the object untouched. Our own messages change the state when they are committed to the outbox (DESIGN §5): the
sender retries until acknowledged, and terminates the negotiation if delivery finally fails.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from .agreement import Agreement, agreement_problems
from .negotiation_messages import (
    InvalidMessage, agreement_verification, contract_agreement, contract_negotiation, contract_offer,
    contract_request, is_initial, negotiation_event, negotiation_termination,
    validate_negotiation_message,
)
from .negotiation_state import (
    CN, NegotiationError, NegotiationState, initial_state, is_duplicate, next_state,
)
from .protocol import Role, fingerprint, same_id

__all__ = ["Negotiation", "Transition"]


@dataclass(frozen=True)
class Transition:
    """What one message did: for the audit log, the outbox and the HTTP answer."""

    kind: CN
    sender: Role
    old_state: NegotiationState | None
    new_state: NegotiationState
    message: dict[str, Any]                 # the message received or to be sent
    outbound: bool                          # True: ours, to deliver; False: received
    duplicate: bool = False                 # a repeat acknowledged without effect
    reply: dict[str, Any] | None = None     # the ContractNegotiation acknowledgement the receiver answers with

    @property
    def changed(self) -> bool:
        return not self.duplicate


@dataclass
class Negotiation:
    """Our record of one negotiation, on either side; ``role`` is the side we play."""

    role: Role
    own_pid: str
    state: NegotiationState
    peer_pid: str | None = None             # unknown to a consumer until the provider acknowledges its request
    peer_address: str | None = None         # the counter-party's callback address (its DSP base)
    dataset_id: str | None = None
    offer: dict[str, Any] | None = None     # the offer currently on the table (last request or offer)
    agreement: Agreement | None = None
    provider_id: str | None = None          # participant ids (DIDs), checked against the agreement's parties
    consumer_id: str | None = None
    initial_fp: str | None = None           # fingerprint of the message that created it (duplicate initials)
    last: tuple[CN, Role, str] | None = None  # (kind, sender, fingerprint) of the message that led to ``state``
    termination: dict[str, Any] | None = field(default=None)  # code and reasons once TERMINATED

    # -- pids -------------------------------------------------------------------------------------------------
    @property
    def provider_pid(self) -> str | None:
        return self.own_pid if self.role is Role.PROVIDER else self.peer_pid

    @property
    def consumer_pid(self) -> str | None:
        return self.own_pid if self.role is Role.CONSUMER else self.peer_pid

    # -- creation ---------------------------------------------------------------------------------------------
    @classmethod
    def start_request(cls, *, consumer_pid: str, offer: dict[str, Any], callback_address: str,
                      provider_id: str | None = None, consumer_id: str | None = None,
                      provider_address: str | None = None) -> tuple["Negotiation", Transition]:
        """Consumer side: create the negotiation with an initial ContractRequestMessage to send."""
        message = contract_request(consumer_pid, offer, callback_address=callback_address)
        validate_negotiation_message(message)
        state = initial_state(CN.REQUEST, Role.CONSUMER)
        neg = cls(Role.CONSUMER, consumer_pid, state, peer_address=provider_address, dataset_id=offer["target"],
                  offer=copy.deepcopy(offer), provider_id=provider_id, consumer_id=consumer_id,
                  initial_fp=(fp := fingerprint(message)), last=(CN.REQUEST, Role.CONSUMER, fp))
        return neg, Transition(CN.REQUEST, Role.CONSUMER, None, state, message, outbound=True)

    @classmethod
    def start_offer(cls, *, provider_pid: str, offer: dict[str, Any], callback_address: str,
                    provider_id: str | None = None, consumer_id: str | None = None,
                    consumer_address: str | None = None) -> tuple["Negotiation", Transition]:
        """Provider side: a provider-initiated negotiation, with the initial ContractOfferMessage to send."""
        message = contract_offer(provider_pid, offer, callback_address=callback_address)
        validate_negotiation_message(message)
        state = initial_state(CN.OFFER, Role.PROVIDER)
        neg = cls(Role.PROVIDER, provider_pid, state, peer_address=consumer_address, dataset_id=offer["target"],
                  offer=copy.deepcopy(offer), provider_id=provider_id, consumer_id=consumer_id,
                  initial_fp=(fp := fingerprint(message)), last=(CN.OFFER, Role.PROVIDER, fp))
        return neg, Transition(CN.OFFER, Role.PROVIDER, None, state, message, outbound=True)

    @classmethod
    def from_initial(cls, message: dict[str, Any], *, own_pid: str, own_id: str | None = None,
                     peer_id: str | None = None) -> tuple["Negotiation", Transition]:
        """Receiver side: create our record from an initial request (we are provider) or offer (we are consumer).

        ``own_pid`` is the fresh pid we assign; ``peer_id`` is the sender's verified participant id.
        """
        kind = validate_negotiation_message(message)
        if kind not in (CN.REQUEST, CN.OFFER) or not is_initial(message):
            # a later message where an initial one was expected: no negotiation to apply it to
            raise NegotiationError("NOT_INITIAL", f"{message['@type']} without callbackAddress cannot start a "
                                                  "negotiation; send it to the negotiation's own path")
        sender = Role.CONSUMER if kind is CN.REQUEST else Role.PROVIDER
        state = initial_state(kind, sender)
        role = sender.other
        peer_pid = message["consumerPid"] if role is Role.PROVIDER else message["providerPid"]
        ids = {"provider_id": own_id, "consumer_id": peer_id} if role is Role.PROVIDER else \
              {"provider_id": peer_id, "consumer_id": own_id}
        fp = fingerprint(message)
        neg = cls(role, own_pid, state, peer_pid=peer_pid, peer_address=message["callbackAddress"],
                  dataset_id=message["offer"]["target"], offer=copy.deepcopy(message["offer"]),
                  initial_fp=fp, last=(kind, sender, fp), **ids)
        return neg, Transition(kind, sender, None, state, message, outbound=False, reply=neg.state_message())

    def acknowledged(self, ack: dict[str, Any]) -> None:
        """Record the peer's pid from its 201 ``ContractNegotiation`` answer to our initial message."""
        validate_negotiation_message(ack)
        if ack["@type"] != "ContractNegotiation":
            raise InvalidMessage([f"@type: expected ContractNegotiation, got {ack['@type']!r}"])
        own_key = "providerPid" if self.role is Role.PROVIDER else "consumerPid"
        peer_key = "consumerPid" if self.role is Role.PROVIDER else "providerPid"
        if not same_id(ack[own_key], self.own_pid):
            raise NegotiationError("PID_MISMATCH", f"{own_key} {ack[own_key]!r} is not ours ({self.own_pid!r})")
        if self.peer_pid is not None and not same_id(ack[peer_key], self.peer_pid):
            raise NegotiationError("PID_MISMATCH", f"{peer_key} {ack[peer_key]!r} is not {self.peer_pid!r}")
        self.peer_pid = ack[peer_key]

    # -- receiving --------------------------------------------------------------------------------------------
    def receive(self, message: dict[str, Any]) -> Transition:
        """Apply a message from the counter-party, or raise a NegotiationError and change nothing."""
        kind = validate_negotiation_message(message)
        if kind is None:
            raise InvalidMessage([f"@type: {message['@type']} is an answer, not a negotiation message"])
        sender = self.role.other
        fp = fingerprint(message)
        if is_initial(message):
            return self._repeated_initial(kind, sender, message, fp)
        self._check_pids(message)
        if is_duplicate(self.state, kind, sender, fp, self.last):
            return Transition(kind, sender, self.state, self.state, message, outbound=False, duplicate=True,
                              reply=self.state_message())
        new = next_state(self.state, kind, sender)
        problems = self._content_problems(kind, message)
        if problems:
            raise NegotiationError("INVALID_AGREEMENT" if kind is CN.AGREEMENT else "INVALID_MESSAGE", problems)
        if self.peer_pid is None:
            self.peer_pid = message["providerPid"] if self.role is Role.CONSUMER else message["consumerPid"]
        return self._apply(kind, sender, message, fp, new, outbound=False)

    def _repeated_initial(self, kind: CN, sender: Role, message: dict[str, Any], fp: str) -> Transition:
        if fp == self.initial_fp:
            return Transition(kind, sender, self.state, self.state, message, outbound=False, duplicate=True,
                              reply=self.state_message())
        raise NegotiationError("PID_IN_USE", "an initial message with this pid already created a different "
                                             "negotiation; use a fresh pid")

    def _check_pids(self, message: dict[str, Any]) -> None:
        own_key = "providerPid" if self.role is Role.PROVIDER else "consumerPid"
        peer_key = "consumerPid" if self.role is Role.PROVIDER else "providerPid"
        problems = []
        if not same_id(message.get(own_key), self.own_pid):
            problems.append(f"{own_key} {message.get(own_key)!r} is not this negotiation's ({self.own_pid!r})")
        if self.peer_pid is not None and not same_id(message.get(peer_key), self.peer_pid):
            problems.append(f"{peer_key} {message.get(peer_key)!r} is not this negotiation's ({self.peer_pid!r})")
        if problems:
            raise NegotiationError("PID_MISMATCH", problems)

    def _content_problems(self, kind: CN, message: dict[str, Any]) -> list[str]:
        if kind in (CN.REQUEST, CN.OFFER):
            target = message["offer"].get("target")
            if self.dataset_id is not None and target != self.dataset_id:
                return [f"offer/target {target!r} is not the dataset under negotiation ({self.dataset_id!r})"]
        if kind is CN.AGREEMENT:
            try:
                agreement = Agreement.from_json(message["agreement"])
            except ValueError as exc:
                return [str(exc)]
            if self.role is Role.CONSUMER and self.offer is not None:
                return agreement_problems(agreement, self.offer, target=self.dataset_id,
                                          provider_id=self.provider_id, consumer_id=self.consumer_id)
        return []

    def _apply(self, kind: CN, sender: Role, message: dict[str, Any], fp: str, new: NegotiationState,
               *, outbound: bool) -> Transition:
        old = self.state
        if kind in (CN.REQUEST, CN.OFFER):
            self.offer = copy.deepcopy(message["offer"])
        elif kind is CN.AGREEMENT:
            self.agreement = Agreement.from_json(message["agreement"])
        elif kind is CN.TERMINATION:
            self.termination = {"by": sender.value, "code": message.get("code"), "reason": message.get("reason")}
        self.state, self.last = new, (kind, sender, fp)
        return Transition(kind, sender, old, new, message, outbound=outbound,
                          reply=None if outbound else self.state_message())

    # -- sending ----------------------------------------------------------------------------------------------
    def _send(self, kind: CN, message: dict[str, Any]) -> Transition:
        if self.peer_pid is None:
            raise NegotiationError("NO_PEER_PID", "the counter-party has not acknowledged the negotiation yet")
        new = next_state(self.state, kind, self.role)  # we obey the table we enforce on others
        validate_negotiation_message(message)
        return self._apply(kind, self.role, message, fingerprint(message), new, outbound=True)

    def counter_request(self, offer: dict[str, Any]) -> Transition:
        """Consumer: answer the provider's offer with a request of our own (OFFERED → REQUESTED)."""
        self._same_target(offer)
        return self._send(CN.REQUEST, contract_request(self.consumer_pid, offer, provider_pid=self.provider_pid))

    def counter_offer(self, offer: dict[str, Any]) -> Transition:
        """Provider: answer the consumer's request with an offer (REQUESTED → OFFERED)."""
        self._same_target(offer)
        return self._send(CN.OFFER, contract_offer(self.provider_pid, offer, consumer_pid=self.consumer_pid))

    def accept(self) -> Transition:
        """Consumer: accept the provider's current offer (OFFERED → ACCEPTED)."""
        return self._send(CN.ACCEPTED, negotiation_event(self.provider_pid, self.consumer_pid, "ACCEPTED"))

    def agree(self, agreement_id: str, timestamp: datetime) -> Transition:
        """Provider: issue the agreement for the offer on the table (REQUESTED/ACCEPTED → AGREED)."""
        if self.offer is None or self.dataset_id is None or not self.provider_id or not self.consumer_id:
            raise ValueError("agree needs the offer, the dataset and both participant ids")
        agreement = Agreement.from_offer(agreement_id, self.offer, target=self.dataset_id,
                                         assigner=self.provider_id, assignee=self.consumer_id, timestamp=timestamp)
        return self._send(CN.AGREEMENT, contract_agreement(self.provider_pid, self.consumer_pid, agreement))

    def verify(self) -> Transition:
        """Consumer: confirm the agreement received (AGREED → VERIFIED); it was checked when it arrived."""
        return self._send(CN.VERIFICATION, agreement_verification(self.provider_pid, self.consumer_pid))

    def finalize(self) -> Transition:
        """Provider: close the negotiation after verification (VERIFIED → FINALIZED)."""
        return self._send(CN.FINALIZED, negotiation_event(self.provider_pid, self.consumer_pid, "FINALIZED"))

    def terminate(self, code: str | None = None, reasons: list[Any] | None = None) -> Transition:
        """Either side, any non-terminal state; the reasons (e.g. a policy decision's) travel to the peer."""
        return self._send(CN.TERMINATION,
                          negotiation_termination(self.provider_pid, self.consumer_pid, code, reasons))

    def _same_target(self, offer: dict[str, Any]) -> None:
        if offer.get("target") != self.dataset_id:
            raise ValueError(f"offer target {offer.get('target')!r} is not the dataset under negotiation "
                             f"({self.dataset_id!r})")

    # -- views ------------------------------------------------------------------------------------------------
    def state_message(self) -> dict[str, Any]:
        """The ``ContractNegotiation`` object: acknowledgement and answer to GET."""
        return contract_negotiation(self.provider_pid or "", self.consumer_pid or "", self.state)

    def error_body(self, error: NegotiationError) -> dict[str, Any]:
        return error.body(self.provider_pid, self.consumer_pid)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able record for the store; :meth:`from_dict` reads it back. Shallow (it shares the offer and
        other dicts with this object): it is serialised at once, and a deep copy was a fifth of a save's CPU."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["role"], data["state"] = self.role.value, self.state.value
        data["agreement"] = self.agreement.to_json() if self.agreement else None
        data["last"] = [self.last[0].value, self.last[1].value, self.last[2]] if self.last else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Negotiation":
        data = dict(data)
        data["role"], data["state"] = Role(data["role"]), NegotiationState(data["state"])
        data["agreement"] = Agreement.from_json(data["agreement"]) if data.get("agreement") else None
        last = data.get("last")
        data["last"] = (CN(last[0]), Role(last[1]), last[2]) if last else None
        return cls(**data)
