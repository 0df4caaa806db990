"""The compiled validator the nodes run (jsonschema-rs) gives the same verdict as the pure-Python reference validator
on the same bundled schemas: every official example, and mutations of each that must fail or still pass."""

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

from contracts.schemas import _BASE, SCHEMA_BY_TYPE, schema_documents, validation_errors

EXAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "dsp" / "2025-1"


@pytest.fixture(scope="module")
def reference():
    docs = schema_documents()
    reg = Registry().with_resources(
        [(i, Resource.from_contents(d, default_specification=DRAFT201909)) for i, d in docs]).crawl()
    by_id = dict(docs)
    return lambda t: Draft201909Validator(by_id[_BASE + SCHEMA_BY_TYPE[t]], registry=reg)


def examples():
    out = []
    for path in sorted(EXAMPLES.rglob("example/*.json")):
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and doc.get("@type") in SCHEMA_BY_TYPE:
            out.append(pytest.param(doc, id=path.name))
    assert len(out) >= 20, "the official examples are missing"
    return out


def mutations(doc: dict):
    """Drop each top-level key, give each a wrong type, add an unknown one, empty each list."""
    for key in list(doc):
        dropped = copy.deepcopy(doc)
        del dropped[key]
        yield f"without {key}", dropped
        wrong = copy.deepcopy(doc)
        wrong[key] = 12345 if isinstance(doc[key], str) else "text"
        yield f"{key} of a wrong type", wrong
        if isinstance(doc[key], list):
            empty = copy.deepcopy(doc)
            empty[key] = []
            yield f"{key} empty", empty
    extra = copy.deepcopy(doc)
    extra["unexpected"] = {"a": 1}
    yield "with an extra key", extra


@pytest.mark.parametrize("doc", examples())
def test_same_verdict_as_the_reference_validator(reference, doc):
    t = doc["@type"]
    assert validation_errors(doc) == [] and not list(reference(t).iter_errors(doc))
    refused = 0
    for what, variant in mutations(doc):
        ours = validation_errors(variant, t)
        theirs = list(reference(t).iter_errors(variant))
        assert bool(ours) == bool(theirs), f"{what}: ours {ours}, reference {[e.message for e in theirs]}"
        if ours:
            refused += 1
            # every problem names where it is
            assert all(": " in p for p in ours)
    assert refused > 0


def test_problems_name_the_path():
    msg = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "ContractRequestMessage",
           "consumerPid": 5, "offer": {"x": 1}}
    problems = validation_errors(msg)
    assert any(p.startswith("consumerPid: ") and "string" in p for p in problems)
    assert any(p.startswith("offer: ") for p in problems)


def test_values_json_cannot_carry_are_refused_not_raised():
    msg = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "ContractNegotiationEventMessage",
           "providerPid": "urn:uuid:p", "consumerPid": "urn:uuid:c", "eventType": {1, 2}}
    assert validation_errors(msg)
