"""Our own evaluation cases, in the suite's form: policy + request + state of the world → expected decision.

They cover what the SolidLab suite does not: purpose, spatial, count, elapsedTime, recipient, membershipRole,
territory (INSEE région ⊃ département), cellSize, duties as pre-conditions, obligations, prohibitions, the action
hierarchy, and fail-closed behaviour.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from policies import PASSERELLE, Request, World, evaluate, parse_policy

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
ALICE = "did:web:occitanie.example"
BOB = "did:web:bretagne.example"


def offer(*constraints, action="use", prohibitions=(), obligations=(), duties=()):
    perm = {"action": action, "constraint": list(constraints)}
    if duties:
        perm["duty"] = list(duties)
    doc = {"@id": "urn:offer:1", "@type": "Offer", "permission": [perm]}
    if prohibitions:
        doc["prohibition"] = list(prohibitions)
    if obligations:
        doc["obligation"] = list(obligations)
    return doc


def c(left, op, right):
    return {"leftOperand": left, "operator": op, "rightOperand": right}


PURPOSE_EQ = offer(c("odrl:purpose", "eq", {"@id": "https://w3id.org/passerelle/purpose/Statistics"}))
PURPOSE_ISA = offer(c("odrl:purpose", "isA", {"@id": "https://w3id.org/passerelle/purpose/Statistics"}))
PURPOSE_ANY = offer(c("odrl:purpose", "isAnyOf", ["Statistics", "PublicPolicy"]))
SPATIAL = offer(c("odrl:spatial", "isPartOf", "REG-76"))
SPATIAL_FR = offer(c("odrl:spatial", "isPartOf", "FR"))
COUNT = offer(c("odrl:count", "lteq", {"@value": "3", "@type": "xsd:integer"}))
ELAPSED = offer(c("odrl:elapsedTime", "lteq", {"@value": "P30D", "@type": "xsd:duration"}))
ELAPSED_MONTH = offer(c("odrl:elapsedTime", "lt", "P1M"))
RECIPIENT = offer(c("odrl:recipient", "isAnyOf", [ALICE, "did:web:hub.example"]))
RECIPIENT_COLL = offer(c("odrl:recipient", "isPartOf", {"@id": "urn:group:regions"}))
ROLE = offer(c(PASSERELLE + "membershipRole", "eq", "regional_node"))
ROLE_ALL = offer(c(PASSERELLE + "membershipRole", "isAllOf", ["regional_node", "auditor"]))
ROLE_NONE = offer(c(PASSERELLE + "membershipRole", "isNoneOf", ["private_provider"]))
TERRITORY = offer(c(PASSERELLE + "territory", "hasPart", "DEP-34"))
TERRITORY_IN = offer(c(PASSERELLE + "territory", "isPartOf", "REG-76"))
DATETIME_DATE = offer(c("odrl:dateTime", "lteq", {"@value": "2026-05-01", "@type": "xsd:date"}))
CELL = offer(c(PASSERELLE + "cellSize", "gteq", 3), action="odrl:aggregate")
COMBINED = offer(c(PASSERELLE + "membershipRole", "isAnyOf", ["regional_node", "national_hub"]),
                 c(PASSERELLE + "territory", "hasPart", "DEP-34"),
                 c("odrl:purpose", "isA", {"@id": "https://w3id.org/passerelle/purpose/Statistics"}),
                 c("odrl:dateTime", "lt", {"@value": "2027-01-01T00:00:00Z", "@type": "xsd:dateTime"}),
                 c("odrl:count", "lteq", 10),
                 prohibitions=[{"action": "odrl:distribute"}])
NO_DISTRIBUTE = offer(prohibitions=[{"action": "odrl:distribute"}])
PROHIBIT_COMMERCIAL = offer(prohibitions=[{"action": "use", "constraint": [c("odrl:purpose", "eq", "Commercial")]}])
DUTY = offer(duties=[{"@id": "urn:duty:register", "action": "odrl:inform"}])
DUTY_CONDITIONAL = offer(duties=[{"action": "odrl:compensate",
                                  "constraint": [c("odrl:dateTime", "gt", "2027-01-01T00:00:00Z")]}])
OBLIGATION = offer(obligations=[{"action": "odrl:attribute"}])
LOGICAL_OR = offer({"or": [c(PASSERELLE + "membershipRole", "eq", "auditor"),
                           c(PASSERELLE + "territory", "eq", "REG-76")]})
LOGICAL_XONE = offer({"xone": [c(PASSERELLE + "membershipRole", "eq", "regional_node"),
                               c(PASSERELLE + "territory", "eq", "REG-76")]})
UNKNOWN_OPERAND = offer(c("odrl:industry", "eq", "tourism"))
CUSTOM_OPERAND = offer(c("https://example.org/unknown", "eq", "x"))
UNKNOWN_OPERATOR = offer(c("odrl:purpose", "odrl:roughly", "Statistics"))
WRONG_OPERATOR = offer(c("odrl:dateTime", "isA", "2026-01-01T00:00:00Z"))
BAD_RIGHT = offer(c("odrl:dateTime", "lt", "next tuesday"))
BAD_TERRITORY = offer(c(PASSERELLE + "territory", "hasPart", "DEP-999"))
MALFORMED = offer({"leftOperand": "odrl:purpose", "operator": "eq"})
MALFORMED_LOGICAL = offer({"and": [c("odrl:count", "lteq", 3)], "or": [c("odrl:count", "lteq", 3)]})
PERMIT_READ = offer(action="odrl:read")
PERM_CONFLICT = {**NO_DISTRIBUTE, "conflict": "perm"}


def req(**kw):
    kw.setdefault("party", ALICE)
    kw.setdefault("action", "use")
    return Request(**kw)


def world(**kw):
    kw.setdefault("now", NOW)
    return World(**kw)


REGION = {"membershipRole": ["regional_node"], "territory": "REG-76"}

CASES = [
    # purpose
    ("purpose eq match", PURPOSE_EQ, req(purpose="Statistics"), world(), True),
    ("purpose eq mismatch", PURPOSE_EQ, req(purpose="Commercial"), world(), False),
    ("purpose missing is not satisfied", PURPOSE_EQ, req(), world(), False),
    ("purpose isA narrower purpose", PURPOSE_ISA, req(purpose="https://w3id.org/passerelle/purpose/TourismIndicators"),
     world(), True),
    ("purpose isA unrelated", PURPOSE_ISA, req(purpose="Research"), world(), False),
    ("purpose eq does not walk the taxonomy", PURPOSE_EQ, req(purpose="TourismIndicators"), world(), False),
    ("purpose isAnyOf", PURPOSE_ANY, req(purpose="purpose:PublicPolicy"), world(), True),
    # spatial (INSEE département ⊂ région ⊂ FR)
    ("spatial département in its région", SPATIAL, req(spatial="DEP-34"), world(), True),
    ("spatial département of another région", SPATIAL, req(spatial="DEP-35"), world(), False),
    ("spatial région is part of itself", SPATIAL, req(spatial="REG-76"), world(), True),
    ("spatial anything in FR", SPATIAL_FR, req(spatial="DEP-2A"), world(), True),
    ("spatial missing", SPATIAL, req(), world(), False),
    # count: lteq 3 → 3rd use allowed, 4th denied
    ("count 3rd use", COUNT, req(), world(count=2), True),
    ("count 4th use", COUNT, req(), world(count=3), False),
    # elapsedTime: lteq P30D → day 29 allowed, day 31 denied
    ("elapsed day 29", ELAPSED, req(), world(agreement_start=NOW - timedelta(days=29)), True),
    ("elapsed day 30 exactly", ELAPSED, req(), world(agreement_start=NOW - timedelta(days=30)), True),
    ("elapsed day 31", ELAPSED, req(), world(agreement_start=NOW - timedelta(days=31)), False),
    ("elapsed without agreement start", ELAPSED, req(), world(), False),
    ("elapsed calendar month", ELAPSED_MONTH, req(),
     world(now=datetime(2026, 2, 27, tzinfo=timezone.utc), agreement_start=datetime(2026, 1, 31, tzinfo=timezone.utc)),
     True),
    ("elapsed calendar month over", ELAPSED_MONTH, req(),
     world(now=datetime(2026, 2, 28, tzinfo=timezone.utc), agreement_start=datetime(2026, 1, 31, tzinfo=timezone.utc)),
     False),
    # recipient
    ("recipient defaults to the requester", RECIPIENT, req(), world(), True),
    ("recipient another party", RECIPIENT, req(recipient=BOB), world(), False),
    ("recipient in a party collection", RECIPIENT_COLL, req(party=BOB),
     world(memberships={BOB: {"urn:group:regions"}}), True),
    ("recipient outside the collection", RECIPIENT_COLL, req(party=BOB), world(), False),
    # membershipRole
    ("role held", ROLE, req(claims={"membershipRole": ["auditor", "regional_node"]}), world(), True),
    ("role as a single claim", ROLE, req(claims={"roles": "regional_node"}), world(), True),
    ("role not held", ROLE, req(claims={"membershipRole": ["private_provider"]}), world(), False),
    ("role claim missing", ROLE, req(), world(), False),
    ("role isAllOf", ROLE_ALL, req(claims={"membershipRole": ["auditor", "regional_node", "x"]}), world(), True),
    ("role isAllOf partial", ROLE_ALL, req(claims={"membershipRole": ["auditor"]}), world(), False),
    ("role isNoneOf", ROLE_NONE, req(claims={"membershipRole": ["regional_node"]}), world(), True),
    ("role isNoneOf hit", ROLE_NONE, req(claims={"membershipRole": ["regional_node", "private_provider"]}),
     world(), False),
    # territory: a région may receive only its own départements
    ("territory région receives its département", TERRITORY, req(claims={"territory": "REG-76"}), world(), True),
    ("territory other région", TERRITORY, req(claims={"territory": "REG-53"}), world(), False),
    ("territory the département itself", TERRITORY, req(claims={"territory": "DEP-34"}), world(), True),
    ("territory a neighbour département", TERRITORY, req(claims={"territory": "DEP-30"}), world(), False),
    ("territory national", TERRITORY, req(claims={"territory": "FR"}), world(), True),
    ("territory several, one covers", TERRITORY, req(claims={"territory": ["REG-53", "REG-76"]}), world(), True),
    ("territory isPartOf needs every territory inside", TERRITORY_IN,
     req(claims={"territory": ["DEP-34", "DEP-35"]}), world(), False),
    ("territory isPartOf", TERRITORY_IN, req(claims={"territory": ["DEP-34", "DEP-30"]}), world(), True),
    # dateTime with an xsd:date: the whole day counts
    ("date lteq same day", DATETIME_DATE, req(), world(), True),
    ("date lteq next day", DATETIME_DATE, req(), world(now=NOW + timedelta(days=1)), False),
    # cell size of an aggregate
    ("cell size large enough", CELL, req(action="aggregate", parameters={"cellSize": 3}), world(), True),
    ("cell size too small", CELL, req(action="aggregate", parameters={"cellSize": 2}), world(), False),
    ("aggregate-only does not permit reproduce", CELL, req(action="reproduce", parameters={"cellSize": 9}),
     world(), False),
    # all together, as in the tourism-standard template
    ("combined permit", COMBINED, req(action="aggregate", purpose="OfficialStatistics", claims=REGION), world(count=9),
     True),
    ("combined: over the count", COMBINED, req(purpose="Statistics", claims=REGION), world(count=10), False),
    ("combined: after the end date", COMBINED, req(purpose="Statistics", claims=REGION),
     world(now=datetime(2027, 1, 1, tzinfo=timezone.utc)), False),
    ("combined: distribute is prohibited", COMBINED, req(action="distribute", purpose="Statistics", claims=REGION),
     world(), False),
    # action hierarchy and prohibitions
    ("use includes reproduce", NO_DISTRIBUTE, req(action="reproduce"), world(), True),
    ("use includes extract (via reproduce)", NO_DISTRIBUTE, req(action="odrl:extract"), world(), True),
    ("prohibited distribute", NO_DISTRIBUTE, req(action="http://www.w3.org/ns/odrl/2/distribute"), world(), False),
    ("sell is not in use", NO_DISTRIBUTE, req(action="sell"), world(), False),
    ("read does not include use", PERMIT_READ, req(action="use"), world(), False),
    ("conflict perm lets the permission win", PERM_CONFLICT, req(action="distribute"), world(), True),
    ("prohibition with a missing value holds (fail closed)", PROHIBIT_COMMERCIAL, req(), world(), False),
    ("prohibition not applying", PROHIBIT_COMMERCIAL, req(purpose="Statistics"), world(), True),
    # duties are pre-conditions; obligations only deny once violated
    ("duty not set", DUTY, req(), world(), False),
    ("duty fulfilled by id", DUTY, req(), world(duty_states={"urn:duty:register": "fulfilled"}), True),
    ("duty fulfilled by action", DUTY, req(), world(duty_states={"odrl:inform": "fulfilled"}), True),
    ("duty violated", DUTY, req(), world(duty_states={"urn:duty:register": "violated"}), False),
    ("duty not in force", DUTY_CONDITIONAL, req(), world(), True),
    ("obligation pending", OBLIGATION, req(), world(), True),
    ("obligation violated", OBLIGATION, req(), world(duty_states={"odrl:attribute": "violated"}), False),
    # logical constraints
    ("or: one holds", LOGICAL_OR, req(claims={"territory": "REG-76"}), world(), True),
    ("or: none holds", LOGICAL_OR, req(claims={"territory": "REG-53", "membershipRole": "x"}), world(), False),
    ("xone: both hold", LOGICAL_XONE, req(claims=REGION), world(), False),
    ("xone: one holds", LOGICAL_XONE, req(claims={"membershipRole": "regional_node", "territory": "REG-53"}),
     world(), True),
    # fail closed
    ("ODRL operand we do not support", UNKNOWN_OPERAND, req(), world(), False),
    ("unknown operand", CUSTOM_OPERAND, req(), world(), False),
    ("unknown operator", UNKNOWN_OPERATOR, req(purpose="Statistics"), world(), False),
    ("operator not applicable", WRONG_OPERATOR, req(), world(), False),
    ("unreadable right operand", BAD_RIGHT, req(), world(), False),
    ("unknown territory code", BAD_TERRITORY, req(claims={"territory": "FR"}), world(), False),
    ("malformed constraint", MALFORMED, req(purpose="Statistics"), world(), False),
    ("malformed logical constraint", MALFORMED_LOGICAL, req(), world(), False),
]


@pytest.mark.parametrize("name,policy,request_,world_,expected", CASES, ids=[c[0] for c in CASES])
def test_case(name, policy, request_, world_, expected):
    decision = evaluate(parse_policy(policy), request_, world_)
    assert decision.permitted is expected, "\n".join(r.message for r in decision.reasons)
    assert decision.decision == ("permit" if expected else "deny")
    # a reason for every rule and every constraint
    rules = [r for r in decision.reasons if r.kind == "rule"]
    assert len(rules) == len(policy.get("permission", [])) + len(policy.get("prohibition", []))
    for reason in decision.reasons:
        assert reason.message
        reason.to_dict()


def test_reasons_are_structured_and_name_the_failure():
    d = evaluate(parse_policy(COUNT), req(), world(count=3))
    (r,) = [r for r in d.reasons if r.kind == "constraint"]
    assert r.to_dict() == {
        "rule": "permission[0]", "kind": "constraint", "constraint": "permission[0].constraint[0]",
        "left_operand": "http://www.w3.org/ns/odrl/2/count", "operator": "http://www.w3.org/ns/odrl/2/lteq",
        "expected": "3", "actual": 4, "satisfied": False, "message": r.message}
    assert "count lteq '3' not satisfied (actual 4)" in r.message
    assert d.failed[-1].kind == "policy"


def test_fail_closed_reason_names_the_operand():
    d = evaluate(parse_policy(CUSTOM_OPERAND), req(), world())
    assert any("unknown left operand https://example.org/unknown" in r.message for r in d.reasons)
    d = evaluate(parse_policy(UNKNOWN_OPERAND), req(), world())
    assert any("not supported" in r.message for r in d.reasons)


def test_logical_reason_precedes_its_members():
    d = evaluate(parse_policy(LOGICAL_OR), req(claims={"territory": "REG-76"}), world())
    paths = [r.constraint for r in d.reasons if r.kind == "constraint"]
    assert paths == ["permission[0].constraint[0]", "permission[0].constraint[0].or[0]",
                     "permission[0].constraint[0].or[1]"]


def test_wrongly_shaped_world_values_give_unknown_not_a_crash():
    d = evaluate(parse_policy(COUNT), req(), World(now=NOW, count="many"))  # type: ignore[arg-type]
    assert not d.permitted
    assert any(r.satisfied is None and "cannot evaluate" in r.message for r in d.reasons)


def test_compiled_form_is_reused():
    p = parse_policy(COMBINED)
    assert p.compiled is p.compiled


def test_decision_truthiness_is_the_verdict():
    assert not evaluate(parse_policy(COUNT), req(), world(count=3))
    assert evaluate(parse_policy(COUNT), req(), world(count=0))


def test_agreement_needs_the_target_in_the_request():
    agreement = parse_policy({"@id": "urn:a", "@type": "Agreement", "target": "urn:ds:1", "assigner": "did:web:p",
                              "assignee": ALICE, "timestamp": "2026-01-01T00:00:00Z",
                              "permission": [{"action": "use"}]})
    assert evaluate(agreement, req(target="urn:ds:1"), world()).permitted
    assert not evaluate(agreement, req(target="urn:ds:2"), world()).permitted
    assert not evaluate(agreement, req(), world()).permitted
    assert not evaluate(agreement, req(party=BOB, target="urn:ds:1"), world()).permitted
    assert not evaluate(agreement, req(action=None, target="urn:ds:1"), world()).permitted


def test_catalogue_mode_shows_offers_the_requester_could_get():
    members = parse_policy(offer(c(PASSERELLE + "membershipRole", "isAnyOf", ["regional_node"]),
                                 c("odrl:purpose", "isA", "Statistics"),
                                 prohibitions=[{"action": "use", "constraint": [c("odrl:purpose", "eq", "Commercial")]}],
                                 duties=[{"action": "odrl:inform"}]))
    region = req(claims={"membershipRole": ["regional_node"]})  # no purpose declared yet
    assert not evaluate(members, region, world()).permitted
    assert evaluate(members, region, world(), unknown="possible").permitted
    outsider = req(claims={"membershipRole": ["private_provider"]})
    assert not evaluate(members, outsider, world(), unknown="possible").permitted
    commercial = req(claims={"membershipRole": ["regional_node"]}, purpose="Commercial")
    assert not evaluate(members, commercial, world(), unknown="possible").permitted
    violated = world(duty_states={"odrl:inform": "violated"})
    assert not evaluate(members, region, violated, unknown="possible").permitted
    assert not evaluate(parse_policy(UNKNOWN_OPERAND), req(), world(), unknown="possible").permitted
    with pytest.raises(ValueError):
        evaluate(members, region, world(), unknown="maybe")
