"""The conformance kit validates every message it receives against its own schema copies (dsp.md §11): our built
negotiation messages pass them too."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

import contracts as ct

TCK = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "dsp-tck" / "dsp-contract-negotiation"
BASE = "https://w3id.org/dspace/2025/1/"
FILES = {
    "ContractRequestMessage": "contract-request-message-schema.json",
    "ContractOfferMessage": "contract-offer-message-schema.json",
    "ContractAgreementMessage": "contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": "contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": "contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "contract-negotiation-schema.json",
    "ContractNegotiationError": "contract-negotiation-error-schema.json",
}


def registry() -> Registry:
    docs = []
    for path in TCK.rglob("*.json"):
        # the two in-memory patches of shared/spec/dsp-tck/SOURCE.md
        text = path.read_text().replace("#definitions/", "#/definitions/")
        text = text.replace('"items": "string"', '"items": {"type": "string"}')
        doc = json.loads(text)
        docs.append((doc["$id"], Resource.from_contents(doc, default_specification=DRAFT201909)))
    return Registry().with_resources(docs)


@pytest.fixture(scope="module")
def validators():
    reg = registry()
    return {t: Draft201909Validator(reg.get_or_retrieve(BASE + "negotiation/" + f).value.contents, registry=reg)
            for t, f in FILES.items()}


def messages():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    offer = ct.message_offer("urn:uuid:o", "urn:uuid:ds", permission=[{"action": "use", "constraint": [
        {"leftOperand": "odrl:purpose", "operator": "eq", "rightOperand": "statistics"}]}],
        assigner="did:web:p", assignee="did:web:c")
    agreement = ct.Agreement.from_offer("urn:uuid:a", offer, target="urn:uuid:ds", assigner="did:web:p",
                                        assignee="did:web:c", timestamp=now)
    p, c = "urn:uuid:p", "urn:uuid:c"
    return [ct.contract_request(c, offer, callback_address="https://h.example/cb"),
            ct.contract_request(c, offer, provider_pid=p),
            ct.contract_offer(p, offer, callback_address="https://p.example/dsp"),
            ct.contract_offer(p, offer, consumer_pid=c), ct.contract_agreement(p, c, agreement),
            ct.agreement_verification(p, c), ct.negotiation_event(p, c, "ACCEPTED"),
            ct.negotiation_event(p, c, "FINALIZED"), ct.negotiation_termination(p, c, "1", ["r"]),
            ct.contract_negotiation(p, c, "FINALIZED"), ct.negotiation_error(p, c, "X", ["r"])]


@pytest.mark.parametrize("message", messages(), ids=lambda m: m["@type"])
def test_built_messages_pass_the_kit_schemas(validators, message):
    errors = [e.message for e in validators[message["@type"]].iter_errors(message)]
    assert errors == []


def test_kit_schemas_do_refuse(validators):
    bad = dict(messages()[0])
    del bad["consumerPid"]
    assert list(validators["ContractRequestMessage"].iter_errors(bad))
