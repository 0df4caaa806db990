"""The W3C ODRL CG formal-semantics examples (draft; secondary to the SolidLab suite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies import Request, World, evaluate, parse_policy
from policies.values import parse_datetime

EX = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "odrl" / "formal-semantics" / "examples"


def load(policy: str, request: str, duty_states=None):
    p = parse_policy(json.loads((EX / policy).read_text()))
    r = json.loads((EX / request).read_text())
    param = r["requestParameters"]
    value = param["value"].get("@value", param["value"].get("@id"))
    is_time = param["describesFeature"] == "sotw:CurrentXSDDateTime"
    now = parse_datetime(value) if is_time else parse_datetime("2025-07-25T00:00:00Z")
    req = Request(party=r.get("evaluatedParty", "urn:anonymous"), action=r["evaluatedAction"],
                  target=r["evaluatedTarget"], parameters={} if is_time else {"resolution": int(value)})
    return p, req, World(now=now, duty_states=duty_states or {})


@pytest.mark.parametrize("policy,request_,expected", [
    ("A1-constrained-permission/policyA1.json", "A1-constrained-permission/A11/evaluationrequestA11.json", True),
    ("A1-constrained-permission/policyA1.json", "A1-constrained-permission/A12/evaluationrequestA12.json", False),
    ("B1-permission-with-refinement/policyB1.json", "B1-permission-with-refinement/B12/evaluationrequestB12.json",
     False),
    ("C1-conditioned-permission/policyC1.json", "C1-conditioned-permission/C11/evaluationrequestC11.json", False),
])
def test_example(policy, request_, expected):
    assert evaluate(*load(policy, request_)).permitted is expected


def test_b11_resolution_is_not_a_left_operand_of_this_data_space():
    """Known difference (docs/policies.md): B11 expects Permit; ``resolution`` is not supported here, so deny."""
    d = evaluate(*load("B1-permission-with-refinement/policyB1.json",
                       "B1-permission-with-refinement/B11/evaluationrequestB11.json"))
    assert not d.permitted and any("resolution" in r.message for r in d.failed)


def test_c12_condition_fulfilled_in_the_world():
    """C12's payment for condition/1 is in the state of the world; its request names party ``billie1`` while the
    rule's assignee is ``billie`` (a slip in the draft), so the permit shows for ``billie``."""
    paid = {"http://example.com/condition/1": "fulfilled"}
    p, req, world = load("C1-conditioned-permission/policyC1.json",
                         "C1-conditioned-permission/C12/evaluationrequestC12.json", paid)
    assert not evaluate(p, req, world).permitted
    req.party = "http://example.com/party/billie"
    assert evaluate(p, req, world).permitted
    assert not evaluate(p, req, World(now=world.now)).permitted  # unpaid: the pre-condition fails
