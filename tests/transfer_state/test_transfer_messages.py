"""Transfer messages and the HTTP-pull DataAddress: builders valid, spec examples accepted, problems listed."""

import copy
import json
from pathlib import Path

import pytest

from connector.transfer import (
    HTTP_ENDPOINT_TYPE, HTTP_PULL, TP, DataAddress, InvalidTransferMessage, is_pull, transfer_completion,
    transfer_error, transfer_kind, transfer_problems, transfer_process, transfer_request, transfer_start,
    transfer_suspension, transfer_termination, validate_transfer_message,
)
from contracts.schemas import validation_errors

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "dsp" / "2025-1"
EXAMPLES = sorted((SPEC / "transfer" / "example").glob("*.json"))
P, C = "urn:uuid:p", "urn:uuid:c"
ADDRESS = DataAddress.http_pull("https://provider.example/data/ds-1", "eyJ.access.token",
                                refresh_token="eyJ.refresh", refresh_endpoint="https://provider.example/token",
                                expires_in=300)
PUSH_ADDRESS = DataAddress("https://w3id.org/idsa/v4.1/HTTP", "https://hub.example/in",
                           (("authorization", "t"), ("authType", "bearer")))

BUILT = {
    "request-pull": transfer_request(C, "urn:uuid:agreement", HTTP_PULL, "https://hub.example/cb"),
    "request-push": transfer_request(C, "urn:uuid:agreement", "HttpData-PUSH", "https://hub.example/cb",
                                     PUSH_ADDRESS),
    "start-pull": transfer_start(P, C, ADDRESS),
    "start-resume": transfer_start(P, C),
    "suspension": transfer_suspension(P, C, "PAUSE", ["maintenance"]),
    "suspension-bare": transfer_suspension(P, C),
    "completion": transfer_completion(P, C),
    "termination": transfer_termination(P, C, "REVOKED", ["agreement revoked"]),
    "ack": transfer_process(P, C, "STARTED"),
    "error": transfer_error(None, C, "INVALID_TRANSITION", ["no"]),
}


@pytest.mark.parametrize("name", BUILT)
def test_every_built_message_is_valid(name):
    msg = BUILT[name]
    assert msg["@context"] == ["https://w3id.org/dspace/2025/1/context.jsonld"]
    assert validation_errors(msg) == [] and transfer_problems(msg) == []


def test_http_pull_address():
    body = BUILT["start-pull"]["dataAddress"]
    assert body["@type"] == "DataAddress" and body["endpointType"] == HTTP_ENDPOINT_TYPE
    assert body["endpoint"] == "https://provider.example/data/ds-1"
    assert {p["name"]: p["value"] for p in body["endpointProperties"]} == {
        "authorization": "eyJ.access.token", "authType": "bearer", "refreshToken": "eyJ.refresh",
        "refreshEndpoint": "https://provider.example/token", "expiresIn": "300"}
    assert all(p["@type"] == "EndpointProperty" for p in body["endpointProperties"])
    back = DataAddress.from_json(body)
    assert back == ADDRESS and back.token == "eyJ.access.token" and back.expires_in == 300
    assert back.refresh_token == "eyJ.refresh" and back.refresh_endpoint == "https://provider.example/token"


def test_minimal_address_has_no_empty_array():
    body = DataAddress(HTTP_ENDPOINT_TYPE).to_json()
    assert body == {"@type": "DataAddress", "endpointType": HTTP_ENDPOINT_TYPE}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_spec_examples_are_accepted(path):
    assert transfer_problems(json.loads(path.read_text())) == []


def test_kinds_and_pull():
    assert transfer_kind(BUILT["start-pull"]) is TP.START
    assert is_pull("HttpData-PULL") and not is_pull("HttpData-PUSH") and not is_pull(None)
    with pytest.raises(InvalidTransferMessage):
        transfer_kind({"@type": "ContractRequestMessage"})


def test_pull_request_carries_no_address():
    with pytest.raises(ValueError):
        transfer_request(C, "urn:uuid:a", HTTP_PULL, "https://hub.example/cb", ADDRESS)


def _mut(name, fn):
    msg = copy.deepcopy(BUILT[name])
    fn(msg)
    return msg


INVALID = [
    ("request without callbackAddress", "request-pull", lambda m: m.pop("callbackAddress"), "callbackAddress"),
    ("request callback not URL", "request-pull", lambda m: m.update(callbackAddress="cb"), "URL"),
    ("request without agreementId", "request-pull", lambda m: m.pop("agreementId"), "agreementId"),
    ("request empty agreementId", "request-pull", lambda m: m.update(agreementId=""), "agreementId"),
    ("pull request with address", "request-pull", lambda m: m.update(dataAddress=ADDRESS.to_json()), "pull"),
    ("start without pids", "start-pull", lambda m: m.pop("consumerPid"), "consumerPid"),
    ("address without endpointType", "start-pull", lambda m: m["dataAddress"].pop("endpointType"),
     "endpointType"),
    ("address without @type", "start-pull", lambda m: m["dataAddress"].pop("@type"), "@type"),
    ("property value not string", "start-pull",
     lambda m: m["dataAddress"]["endpointProperties"][4].update(value=300), "value"),
    ("empty endpointProperties", "start-pull", lambda m: m["dataAddress"].update(endpointProperties=[]),
     "endpointProperties"),
    ("empty reason", "termination", lambda m: m.update(reason=[]), "reason"),
    ("context string", "completion",
     lambda m: m.update({"@context": "https://w3id.org/dspace/2025/1/context.jsonld"}), "@context"),
    ("unknown state", "ack", lambda m: m.update(state="dspace:STARTED"), "state"),
]


@pytest.mark.parametrize("label,name,fn,needle", INVALID, ids=[i[0] for i in INVALID])
def test_invalid_messages_are_refused_with_problems(label, name, fn, needle):
    msg = _mut(name, fn)
    problems = transfer_problems(msg)
    assert problems and any(needle in p for p in problems), problems
    with pytest.raises(InvalidTransferMessage) as info:
        validate_transfer_message(msg)
    assert info.value.reasons == problems and info.value.body(P, C)["@type"] == "TransferError"


def test_tpc18_pull_start_needs_address():
    assert any("dataAddress" in p for p in transfer_problems(BUILT["start-resume"], pull=True))
    assert transfer_problems(BUILT["start-resume"], pull=False) == []


def test_not_a_transfer_message():
    assert transfer_problems("x") == ["message is not a JSON object"]
    assert "not a transfer process message" in transfer_problems({"@type": "ContractNegotiation"})[0]


def test_provider_request_checks():
    """TPN-07 unknown/foreign agreement, TPN-08 agreement not FINALIZED, TPN-09 format not offered."""
    from connector.transfer import request_problems
    msg = BUILT["request-pull"]
    assert request_problems(msg, agreement_state="FINALIZED", formats=[HTTP_PULL, "HttpData-PUSH"]) == []
    assert "not an agreement" in request_problems(msg, agreement_state=None)[0]
    assert "not FINALIZED" in request_problems(msg, agreement_state="AGREED")[0]
    problems = request_problems(msg, agreement_state="FINALIZED", agreement_target="urn:uuid:ds",
                                formats=["HttpData-PUSH"])
    assert problems == ["format: 'HttpData-PULL' is not a distribution format of urn:uuid:ds (HttpData-PUSH)"]
