"""Our transfer messages pass the schema copies the conformance kit validates received messages with."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

from connector.transfer import HTTP_PULL, DataAddress, transfer_process, transfer_request, transfer_start

TCK = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "dsp-tck" / "dsp-transfer-process"
BASE = "https://w3id.org/dspace/2025/1/transfer/"
FILES = {"TransferRequestMessage": "transfer-request-message-schema.json",
         "TransferStartMessage": "transfer-start-message-schema.json",
         "TransferProcess": "transfer-process-schema.json"}


@pytest.fixture(scope="module")
def validators():
    docs = []
    for path in TCK.rglob("*.json"):
        doc = json.loads(path.read_text().replace("#definitions/", "#/definitions/"))
        docs.append((doc["$id"], Resource.from_contents(doc, default_specification=DRAFT201909)))
    reg = Registry().with_resources(docs)
    return {t: Draft201909Validator(reg.get_or_retrieve(BASE + f).value.contents, registry=reg)
            for t, f in FILES.items()}


MESSAGES = [
    transfer_request("urn:uuid:c", "urn:uuid:a", HTTP_PULL, "https://h.example/cb"),
    transfer_start("urn:uuid:p", "urn:uuid:c", DataAddress.http_pull(
        "https://p.example/data", "tok", refresh_token="r", refresh_endpoint="https://p.example/token",
        expires_in=300)),
    transfer_process("urn:uuid:p", "urn:uuid:c", "STARTED"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m["@type"])
def test_built_messages_pass_the_kit_schemas(validators, message):
    assert [e.message for e in validators[message["@type"]].iter_errors(message)] == []


def test_kit_schemas_do_refuse(validators):
    bad = dict(MESSAGES[1], dataAddress={"@type": "DataAddress"})
    assert list(validators["TransferStartMessage"].iter_errors(bad))
