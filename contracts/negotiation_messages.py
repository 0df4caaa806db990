"""Builders and validators for every contract negotiation message, in the DSP 2025-1 compact form.

Builders emit exactly the shapes of the spec's examples (``@context`` as an array, ``@type`` always, no empty
arrays). Validators run the bundled 2025-1 JSON Schema and then the rules the spec states only in prose (dsp.md §4),
and list every problem found. Ids are not required to be IRIs on input: peers send plain UUIDs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .agreement import Agreement, parse_timestamp
from .negotiation_state import CN, NegotiationError, NegotiationState
from .schemas import DSP_CONTEXT, validation_errors

__all__ = [
    "NEGOTIATION_TYPES", "InvalidMessage", "message_offer", "offer_for_request", "contract_request",
    "contract_offer", "contract_agreement", "agreement_verification", "negotiation_event",
    "negotiation_termination", "contract_negotiation", "negotiation_error", "message_kind", "is_initial",
    "negotiation_problems", "validate_negotiation_message", "offer_target_problems", "is_callback_url",
]

NEGOTIATION_TYPES = frozenset({
    "ContractRequestMessage", "ContractOfferMessage", "ContractAgreementMessage",
    "ContractAgreementVerificationMessage", "ContractNegotiationEventMessage",
    "ContractNegotiationTerminationMessage", "ContractNegotiation", "ContractNegotiationError",
})

_RULE_KEYS = ("permission", "prohibition", "obligation")


class InvalidMessage(NegotiationError):
    """A negotiation message that fails the schema or a prose rule; ``reasons`` lists every problem."""

    def __init__(self, problems: list[str]):
        super().__init__("INVALID_MESSAGE", problems)


def _envelope(type_: str, **fields: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"@context": [DSP_CONTEXT], "@type": type_}
    msg.update({k: v for k, v in fields.items() if v is not None})
    return msg


def message_offer(offer_id: str, target: str, *, permission: list[dict] | None = None,
                  prohibition: list[dict] | None = None, obligation: list[dict] | None = None,
                  profile: str | list[str] | None = None, assigner: str | None = None,
                  assignee: str | None = None) -> dict[str, Any]:
    """An ``Offer`` as carried in request/offer messages (with ``target``; empty rule lists are left out)."""
    if not (permission or prohibition):
        raise ValueError("an offer needs at least one permission or prohibition")
    offer: dict[str, Any] = {"@id": offer_id, "@type": "Offer", "target": target}
    for key, value in (("assigner", assigner), ("assignee", assignee), ("profile", profile),
                       ("permission", permission), ("prohibition", prohibition), ("obligation", obligation)):
        if value:
            offer[key] = value
    return offer


def offer_for_request(catalog_offer: dict[str, Any], dataset_id: str) -> dict[str, Any]:
    """A catalogue offer (which has no ``target``: the dataset around it is implicit) made explicit for a request."""
    offer = {k: v for k, v in catalog_offer.items() if k != "@context"}
    offer["@type"] = "Offer"
    offer["target"] = dataset_id
    return offer


def _one_of(name_a: str, a: Any, name_b: str, b: Any) -> None:
    if (a is None) == (b is None):
        raise ValueError(f"exactly one of {name_a} (initial message) and {name_b} (later message) is required")


def contract_request(consumer_pid: str, offer: dict[str, Any], *, callback_address: str | None = None,
                     provider_pid: str | None = None) -> dict[str, Any]:
    """Initial request (``callback_address``) or counter-request (``provider_pid``) from the consumer."""
    _one_of("callback_address", callback_address, "provider_pid", provider_pid)
    return _envelope("ContractRequestMessage", providerPid=provider_pid, consumerPid=consumer_pid, offer=offer,
                     callbackAddress=callback_address)


def contract_offer(provider_pid: str, offer: dict[str, Any], *, callback_address: str | None = None,
                   consumer_pid: str | None = None) -> dict[str, Any]:
    """Initial offer (``callback_address``, provider-initiated) or counter-offer (``consumer_pid``)."""
    _one_of("callback_address", callback_address, "consumer_pid", consumer_pid)
    if "@id" not in offer or "target" not in offer:
        raise ValueError("an offer in ContractOfferMessage needs @id and target")
    return _envelope("ContractOfferMessage", providerPid=provider_pid, consumerPid=consumer_pid, offer=offer,
                     callbackAddress=callback_address)


def contract_agreement(provider_pid: str, consumer_pid: str, agreement: Agreement | dict[str, Any]) -> dict:
    """The provider's agreement; ``timestamp`` comes from the Agreement (time is passed in, never read here)."""
    body = agreement.to_json() if isinstance(agreement, Agreement) else agreement
    return _envelope("ContractAgreementMessage", providerPid=provider_pid, consumerPid=consumer_pid, agreement=body)


def agreement_verification(provider_pid: str, consumer_pid: str) -> dict[str, Any]:
    return _envelope("ContractAgreementVerificationMessage", providerPid=provider_pid, consumerPid=consumer_pid)


def negotiation_event(provider_pid: str, consumer_pid: str, event_type: str) -> dict[str, Any]:
    """``ACCEPTED`` (consumer) or ``FINALIZED`` (provider); who may send which is the state table's business."""
    if event_type not in ("ACCEPTED", "FINALIZED"):
        raise ValueError(f"eventType must be ACCEPTED or FINALIZED, not {event_type!r}")
    return _envelope("ContractNegotiationEventMessage", providerPid=provider_pid, consumerPid=consumer_pid,
                     eventType=event_type)


def negotiation_termination(provider_pid: str, consumer_pid: str, code: str | None = None,
                            reasons: list[Any] | None = None) -> dict[str, Any]:
    return _envelope("ContractNegotiationTerminationMessage", providerPid=provider_pid, consumerPid=consumer_pid,
                     code=code, reason=list(reasons) if reasons else None)


def contract_negotiation(provider_pid: str, consumer_pid: str, state: NegotiationState | str) -> dict[str, Any]:
    """The acknowledgement / state object (201 on creation, 200 on GET)."""
    return _envelope("ContractNegotiation", providerPid=provider_pid, consumerPid=consumer_pid,
                     state=NegotiationState(state).value)


def negotiation_error(provider_pid: str | None, consumer_pid: str | None, code: str | None = None,
                      reasons: list[Any] | None = None) -> dict[str, Any]:
    """The error body; pids unknown to us (a refused initial message) are sent as empty strings."""
    return _envelope("ContractNegotiationError", providerPid=provider_pid or "", consumerPid=consumer_pid or "",
                     code=code, reason=list(reasons) if reasons else None)


def message_kind(message: dict[str, Any]) -> CN:
    """The state-table kind of a (schema-valid) negotiation message."""
    type_ = message.get("@type")
    if type_ == "ContractNegotiationEventMessage":
        return CN(f"{type_}:{message.get('eventType')}")
    try:
        return CN(type_)
    except ValueError:
        raise InvalidMessage([f"@type {type_!r} is not a negotiation message"]) from None


def is_initial(message: dict[str, Any]) -> bool:
    """An initial request/offer creates a negotiation: it carries ``callbackAddress`` and not the receiver's pid."""
    return message.get("@type") in ("ContractRequestMessage", "ContractOfferMessage") and "callbackAddress" in message


def is_callback_url(value: Any) -> bool:
    """A callback address we can answer to: an absolute http(s) URL with a host."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _rules_without_target(policy: dict[str, Any], where: str) -> list[str]:
    return [f"{where}/{key}/{i}: a rule must not carry a target (the policy's target applies)"
            for key in _RULE_KEYS for i, rule in enumerate(policy.get(key) or [])
            if isinstance(rule, dict) and "target" in rule]


def _pid_problems(message: dict[str, Any]) -> list[str]:
    return [f"{k}: must not be empty" for k in ("providerPid", "consumerPid")
            if isinstance(message.get(k), str) and not message[k].strip()]


def negotiation_problems(message: Any) -> list[str]:
    """Every schema and prose problem of a negotiation message (empty when valid)."""
    if not isinstance(message, dict):
        return ["message is not a JSON object"]
    type_ = message.get("@type")
    if type_ not in NEGOTIATION_TYPES:
        return [f"@type: {type_!r} is not a contract negotiation message"]
    problems = validation_errors(message)
    if type_ != "ContractNegotiationError":
        problems += _pid_problems(message)
    if type_ in ("ContractRequestMessage", "ContractOfferMessage"):
        other = "providerPid" if type_ == "ContractRequestMessage" else "consumerPid"
        has_cb, has_pid = "callbackAddress" in message, other in message
        if has_cb and has_pid:
            problems.append(f"(root): both callbackAddress and {other}; an initial message has only "
                            f"callbackAddress, a later one only {other}")
        elif not has_cb and not has_pid:
            problems.append(f"(root): neither callbackAddress (initial message) nor {other} (later message)")
        if has_cb and not is_callback_url(message["callbackAddress"]):
            problems.append(f"callbackAddress: {message['callbackAddress']!r} is not an absolute http(s) URL")
        offer = message.get("offer")
        if isinstance(offer, dict):
            if not offer.get("target"):
                problems.append("offer/target: required (the id of the dataset negotiated)")
            problems += _rules_without_target(offer, "offer")
    if type_ == "ContractAgreementMessage":
        agreement = message.get("agreement")
        if isinstance(agreement, dict):
            for key in ("@id", "target", "assigner", "assignee"):
                if isinstance(agreement.get(key), str) and not agreement[key].strip():
                    problems.append(f"agreement/{key}: must not be empty")
            stamp = agreement.get("timestamp")
            if stamp is None:
                problems.append("agreement/timestamp: required (when the agreement was made)")
            elif isinstance(stamp, str):
                try:
                    parse_timestamp(stamp)
                except ValueError:
                    problems.append(f"agreement/timestamp: {stamp!r} is not an xsd:dateTime")
            problems += _rules_without_target(agreement, "agreement")
    return list(dict.fromkeys(problems))


def validate_negotiation_message(message: Any) -> CN | None:
    """Raise :class:`InvalidMessage` listing every problem; return the message's kind (``None`` for ACK/error)."""
    problems = negotiation_problems(message)
    if problems:
        raise InvalidMessage(problems)
    if message["@type"] in ("ContractNegotiation", "ContractNegotiationError"):
        return None
    return message_kind(message)


def offer_target_problems(message: dict[str, Any], dataset_id: str, offer_id: str | None = None) -> list[str]:
    """The provider's check of a request against its catalogue: ``offer.target`` is the dataset of that offer."""
    offer = message.get("offer") or {}
    problems = []
    if offer.get("target") != dataset_id:
        problems.append(f"offer/target: {offer.get('target')!r} is not the dataset of this offer ({dataset_id!r})")
    if offer_id is not None and offer.get("@id") != offer_id:
        problems.append(f"offer/@id: {offer.get('@id')!r} is not {offer_id!r}")
    return problems
