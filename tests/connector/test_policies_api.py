"""The management API validates policies and explains decisions, like `passerelle policy`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.testing import LiveSpace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):  # type: ignore[no-untyped-def]
    s = LiveSpace(tmp_path_factory.mktemp("space"))
    live = s.add("hub", role="hub", enrol=False)
    yield live
    s.stop()


def test_validate_lists_every_problem(hub) -> None:  # type: ignore[no-untyped-def]
    good = json.loads((ROOT / "config" / "policies" / "members-statistical-use.json").read_text())
    r = hub.api("POST", "/api/policies/validate", good)
    assert r.status_code == 200 and r.json() == {"valid": True, "problems": []}
    bad = {"@id": "urn:uuid:x", "@type": "Offer", "target": "urn:x",
           "permission": [{"action": "fly", "constraint": [{"leftOperand": "nope", "operator": "eq"}]}]}
    r = hub.api("POST", "/api/policies/validate", bad)
    body = r.json()
    assert body["valid"] is False and len(body["problems"]) >= 2, body


def test_check_explains_the_decision(hub) -> None:  # type: ignore[no-untyped-def]
    policy = json.loads((ROOT / "config" / "policies" / "members-statistical-use.json").read_text())
    req = {"party": "did:web:example.org", "action": "use", "purpose": "statistics",
           "claims": {"membershipRole": ["regional_node"]}}
    r = hub.api("POST", "/api/policies/check", {"policy": policy, "request": req, "at": "2026-07-01T00:00:00Z"})
    assert r.status_code == 200
    out = r.json()
    assert out["decision"] in ("permit", "deny") and out["reasons"]
    r = hub.api("POST", "/api/policies/check", {"policy": policy, "request": {"party": 1}})
    assert r.status_code == 400
