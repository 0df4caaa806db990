"""Builders and validators for every DSP 2025-1 transfer process message, and the HTTP-pull ``DataAddress``.

Same conventions as ``contracts.negotiation_messages``: compact 2025-1 form, schema first, then the prose rules
(dsp.md §4, §7), every problem listed. Ids are not required to be IRIs on input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from contracts.negotiation_messages import is_callback_url
from contracts.protocol import ProtocolError
from contracts.schemas import DSP_CONTEXT, validation_errors

__all__ = [
    "TP", "TRANSFER_TYPES", "HTTP_PULL", "HTTP_ENDPOINT_TYPE", "DataAddress", "TransferProtocolError",
    "InvalidTransferMessage", "is_pull", "transfer_request", "transfer_start", "transfer_suspension",
    "transfer_completion", "transfer_termination", "transfer_process", "transfer_error", "transfer_kind",
    "transfer_problems", "validate_transfer_message", "request_problems",
]


class TP(str, Enum):
    """Transfer message kinds (one per ``@type``)."""

    REQUEST = "TransferRequestMessage"
    START = "TransferStartMessage"
    SUSPENSION = "TransferSuspensionMessage"
    COMPLETION = "TransferCompletionMessage"
    TERMINATION = "TransferTerminationMessage"

    def __str__(self) -> str:
        return self.value


TRANSFER_TYPES = frozenset({t.value for t in TP} | {"TransferProcess", "TransferError"})

#: the distribution format of HTTP pull (EDC / conformance-kit convention) and the endpointType we announce
HTTP_PULL = "HttpData-PULL"
HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"


def is_pull(format_: str | None) -> bool:
    """Pull formats (``…-PULL``): the provider's start message must carry the data address."""
    return isinstance(format_, str) and format_.upper().endswith("-PULL")


class TransferProtocolError(ProtocolError):
    """A refused transfer message; its body is a ``TransferError``."""

    error_type = "TransferError"


class InvalidTransferMessage(TransferProtocolError):
    def __init__(self, problems: list[str]):
        super().__init__("INVALID_MESSAGE", problems)


@dataclass(frozen=True)
class DataAddress:
    """Where and how the consumer pulls: endpoint, and its properties (token, refresh token, expiry).

    Endpoint property names for HTTP pull: ``authorization`` (the access token), ``authType`` (``bearer``),
    ``refreshToken``, ``refreshEndpoint``, ``expiresIn`` (seconds, as a string: property values are strings).
    """

    endpoint_type: str
    endpoint: str | None = None
    properties: tuple[tuple[str, str], ...] = ()

    @classmethod
    def http_pull(cls, endpoint: str, token: str, *, refresh_token: str | None = None,
                  refresh_endpoint: str | None = None, expires_in: int | None = None,
                  auth_type: str = "bearer") -> "DataAddress":
        """The address a provider puts in its TransferStartMessage for ``HttpData-PULL``."""
        props = [("authorization", token), ("authType", auth_type)]
        if refresh_token is not None:
            props.append(("refreshToken", refresh_token))
        if refresh_endpoint is not None:
            props.append(("refreshEndpoint", refresh_endpoint))
        if expires_in is not None:
            props.append(("expiresIn", str(int(expires_in))))
        return cls(HTTP_ENDPOINT_TYPE, endpoint, tuple(props))

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.properties if k == name), None)

    @property
    def token(self) -> str | None:
        return self.get("authorization")

    @property
    def refresh_token(self) -> str | None:
        return self.get("refreshToken")

    @property
    def refresh_endpoint(self) -> str | None:
        return self.get("refreshEndpoint")

    @property
    def expires_in(self) -> int | None:
        value = self.get("expiresIn")
        return int(value) if value is not None and value.isdigit() else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": "DataAddress", "endpointType": self.endpoint_type}
        if self.endpoint is not None:
            out["endpoint"] = self.endpoint
        if self.properties:
            out["endpointProperties"] = [{"@type": "EndpointProperty", "name": k, "value": v}
                                         for k, v in self.properties]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DataAddress":
        """Read a (schema-valid) ``dataAddress`` object."""
        props = tuple((p["name"], p["value"]) for p in data.get("endpointProperties") or [])
        return cls(data["endpointType"], data.get("endpoint"), props)


def _envelope(type_: str, **fields: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"@context": [DSP_CONTEXT], "@type": type_}
    msg.update({k: v for k, v in fields.items() if v is not None})
    return msg


def _address(data_address: DataAddress | dict[str, Any] | None) -> dict[str, Any] | None:
    return data_address.to_json() if isinstance(data_address, DataAddress) else data_address


def transfer_request(consumer_pid: str, agreement_id: str, format_: str, callback_address: str,
                     data_address: DataAddress | dict[str, Any] | None = None) -> dict[str, Any]:
    """Consumer's request; ``data_address`` only for push formats (where the provider should push to)."""
    if data_address is not None and is_pull(format_):
        raise ValueError(f"a {format_} request carries no dataAddress (the provider sends it when starting)")
    return _envelope("TransferRequestMessage", consumerPid=consumer_pid, agreementId=agreement_id,
                     format=format_, dataAddress=_address(data_address), callbackAddress=callback_address)


def transfer_start(provider_pid: str, consumer_pid: str,
                   data_address: DataAddress | dict[str, Any] | None = None) -> dict[str, Any]:
    """Provider start (with the pull address) or a resume by either side."""
    return _envelope("TransferStartMessage", providerPid=provider_pid, consumerPid=consumer_pid,
                     dataAddress=_address(data_address))


def transfer_suspension(provider_pid: str, consumer_pid: str, code: str | None = None,
                        reasons: list[Any] | None = None) -> dict[str, Any]:
    return _envelope("TransferSuspensionMessage", providerPid=provider_pid, consumerPid=consumer_pid, code=code,
                     reason=list(reasons) if reasons else None)


def transfer_completion(provider_pid: str, consumer_pid: str) -> dict[str, Any]:
    return _envelope("TransferCompletionMessage", providerPid=provider_pid, consumerPid=consumer_pid)


def transfer_termination(provider_pid: str, consumer_pid: str, code: str | None = None,
                         reasons: list[Any] | None = None) -> dict[str, Any]:
    return _envelope("TransferTerminationMessage", providerPid=provider_pid, consumerPid=consumer_pid, code=code,
                     reason=list(reasons) if reasons else None)


def transfer_process(provider_pid: str, consumer_pid: str, state: str) -> dict[str, Any]:
    """The acknowledgement / state object (201 on creation, 200 on GET)."""
    return _envelope("TransferProcess", providerPid=provider_pid, consumerPid=consumer_pid, state=str(state))


def transfer_error(provider_pid: str | None, consumer_pid: str | None, code: str | None = None,
                   reasons: list[Any] | None = None) -> dict[str, Any]:
    return _envelope("TransferError", providerPid=provider_pid or "", consumerPid=consumer_pid or "", code=code,
                     reason=list(reasons) if reasons else None)


def transfer_kind(message: dict[str, Any]) -> TP:
    try:
        return TP(message.get("@type"))
    except ValueError:
        raise InvalidTransferMessage([f"@type {message.get('@type')!r} is not a transfer message"]) from None


def transfer_problems(message: Any, *, pull: bool | None = None) -> list[str]:
    """Every schema and prose problem of a transfer message (empty when valid).

    ``pull`` (known to the receiver from the transfer's format) makes ``dataAddress`` required on a provider's
    TransferStartMessage; pass ``None`` when the format is not known.
    """
    if not isinstance(message, dict):
        return ["message is not a JSON object"]
    type_ = message.get("@type")
    if type_ not in TRANSFER_TYPES:
        return [f"@type: {type_!r} is not a transfer process message"]
    problems = validation_errors(message)
    if type_ != "TransferError":
        problems += [f"{k}: must not be empty" for k in ("providerPid", "consumerPid", "agreementId")
                     if isinstance(message.get(k), str) and not message[k].strip()]
    if type_ == "TransferRequestMessage":
        if "callbackAddress" in message and not is_callback_url(message["callbackAddress"]):
            problems.append(f"callbackAddress: {message['callbackAddress']!r} is not an absolute http(s) URL")
        if "dataAddress" in message and is_pull(message.get("format")):
            problems.append(f"dataAddress: not allowed with the pull format {message['format']!r} "
                            "(the provider sends the address when it starts the transfer)")
    if type_ == "TransferStartMessage" and pull and "dataAddress" not in message:
        problems.append("dataAddress: required to start a pull transfer (endpoint and access token)")
    return list(dict.fromkeys(problems))


def validate_transfer_message(message: Any, *, pull: bool | None = None) -> TP | None:
    """Raise :class:`InvalidTransferMessage` listing every problem; return the kind (``None`` for ACK/error)."""
    problems = transfer_problems(message, pull=pull)
    if problems:
        raise InvalidTransferMessage(problems)
    if message["@type"] in ("TransferProcess", "TransferError"):
        return None
    return transfer_kind(message)


def request_problems(message: dict[str, Any], *, agreement_state: str | None, agreement_target: str | None = None,
                     formats: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The provider's checks of a TransferRequestMessage against what it knows (TPN-07/08/09); the node looks
    the agreement up (with the caller: a foreign agreement is an unknown one) and passes what it found.

    ``agreement_state`` is the negotiation state of the agreement's negotiation (``None``: unknown to us);
    ``formats`` the formats of the agreed dataset's distributions.
    """
    problems = []
    if agreement_state is None:
        problems.append(f"agreementId: {message.get('agreementId')!r} is not an agreement of yours with us")
    elif agreement_state != "FINALIZED":
        problems.append(f"agreementId: the agreement's negotiation is {agreement_state}, not FINALIZED")
    if formats and message.get("format") not in formats:
        target = f" of {agreement_target}" if agreement_target else ""
        problems.append(f"format: {message.get('format')!r} is not a distribution format{target} "
                        f"({', '.join(sorted(formats))})")
    return problems
