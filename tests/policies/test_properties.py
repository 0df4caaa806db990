"""Property tests: evaluation never raises, prohibitions only ever restrict, round trips and matching hold."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from policies import PASSERELLE, Request, World, evaluate, from_dsp, match_offer, to_dsp

OPERATORS = ["eq", "neq", "lt", "lteq", "gt", "gteq", "isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf", "isNoneOf"]
ROLES = ["regional_node", "departmental_node", "private_provider", "national_hub", "auditor"]
TERRITORIES = ["FR", "REG-76", "REG-53", "REG-11", "DEP-34", "DEP-30", "DEP-35", "DEP-75", "DEP-2A"]
PURPOSES = ["Statistics", "OfficialStatistics", "TourismIndicators", "PublicPolicy", "Research", "Commercial"]
ACTIONS = ["use", "odrl:aggregate", "odrl:reproduce", "odrl:distribute", "odrl:read", "odrl:sell", "odrl:transfer",
           "odrl:extract", "odrl:modify"]

instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                        timezones=st.just(timezone.utc))

right_for = {
    "odrl:dateTime": instants.map(lambda d: {"@value": d.isoformat(), "@type": "xsd:dateTime"}),
    "odrl:elapsedTime": st.integers(0, 400).map(lambda n: f"P{n}D"),
    "odrl:count": st.integers(0, 20),
    "odrl:purpose": st.sampled_from(PURPOSES),
    "odrl:spatial": st.sampled_from(TERRITORIES),
    "odrl:recipient": st.sampled_from(["did:web:a", "did:web:b", "urn:group:g"]),
    PASSERELLE + "membershipRole": st.sampled_from(ROLES),
    PASSERELLE + "territory": st.sampled_from(TERRITORIES),
    PASSERELLE + "cellSize": st.integers(0, 20),
    "odrl:industry": st.just("tourism"),  # an ODRL operand we do not support: must deny, never crash
}


@st.composite
def atomic(draw):
    left = draw(st.sampled_from(sorted(right_for)))
    op = draw(st.sampled_from(OPERATORS))
    if op in ("isAnyOf", "isNoneOf", "isAllOf") or draw(st.booleans()) and op in ("hasPart", "isPartOf"):
        right = draw(st.lists(right_for[left], min_size=1, max_size=3))
    else:
        right = draw(right_for[left])
    return {"leftOperand": left, "operator": op, "rightOperand": right}


constraints = st.recursive(atomic(), lambda inner: st.builds(
    lambda op, items: {op: items}, st.sampled_from(["and", "or", "xone", "andSequence"]),
    st.lists(inner, min_size=1, max_size=3)), max_leaves=6)


@st.composite
def rule(draw, duties=False):
    r = {"action": draw(st.sampled_from(ACTIONS))}
    cs = draw(st.lists(constraints, max_size=3))
    if cs:
        r["constraint"] = cs
    if duties and draw(st.booleans()):
        r["duty"] = [{"action": draw(st.sampled_from(["odrl:inform", "odrl:attribute", "odrl:compensate"]))}]
    return r


@st.composite
def policies(draw):
    doc = {"@id": "urn:offer:p", "@type": draw(st.sampled_from(["Offer", "Set", "Agreement"])),
           "permission": draw(st.lists(rule(duties=True), min_size=1, max_size=3))}
    prohibitions = draw(st.lists(rule(), max_size=2))
    if prohibitions:
        doc["prohibition"] = prohibitions
    if draw(st.booleans()):
        doc["obligation"] = [{"action": "odrl:attribute"}]
    return doc


@st.composite
def situations(draw):
    now = draw(instants)
    claims = {}
    if draw(st.booleans()):
        claims["membershipRole"] = draw(st.lists(st.sampled_from(ROLES), max_size=3))
    if draw(st.booleans()):
        claims["territory"] = draw(st.sampled_from(TERRITORIES))
    req = Request(party=draw(st.sampled_from(["did:web:a", "did:web:b"])),
                  action=draw(st.sampled_from(ACTIONS)),
                  purpose=draw(st.none() | st.sampled_from(PURPOSES)),
                  spatial=draw(st.none() | st.sampled_from(TERRITORIES)),
                  recipient=draw(st.none() | st.sampled_from(["did:web:a", "did:web:c"])),
                  claims=claims,
                  parameters=draw(st.sampled_from([{}, {"cellSize": 2}, {"cellSize": 12}])))
    world = World(now=now, count=draw(st.integers(0, 25)),
                  agreement_start=draw(st.none() | st.integers(0, 500).map(lambda d: now - timedelta(days=d))),
                  memberships={"did:web:b": {"urn:group:g"}},
                  duty_states=draw(st.sampled_from([{}, {"odrl:inform": "fulfilled"},
                                                    {"odrl:attribute": "violated"}])))
    return req, world


FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(policies(), situations())
def test_evaluation_never_raises_and_explains(doc, situation):
    decision = evaluate(from_dsp(doc), *situation)
    assert decision.decision in ("permit", "deny")
    assert decision.reasons
    assert (decision.permitted and all(r.kind != "policy" for r in decision.reasons)) or not decision.permitted
    for r in decision.reasons:
        assert isinstance(r.message, str)
        r.to_dict()


@FAST
@given(policies(), rule(), situations(), st.sampled_from(["deny", "possible"]))
def test_adding_a_prohibition_never_turns_deny_into_permit(doc, prohibition, situation, mode):
    before = evaluate(from_dsp(doc), *situation, unknown=mode)
    more = dict(doc, prohibition=[*doc.get("prohibition", []), prohibition])
    after = evaluate(from_dsp(more), *situation, unknown=mode)
    assert not (after.permitted and not before.permitted)


@FAST
@given(policies(), situations())
def test_what_is_permitted_is_possible(doc, situation):
    p = from_dsp(doc)
    if evaluate(p, *situation).permitted:
        assert evaluate(p, *situation, unknown="possible").permitted


@FAST
@given(policies(), st.randoms(use_true_random=False))
def test_round_trip_and_matching_ignore_order(doc, rnd: random.Random):
    p = from_dsp(doc)
    assert from_dsp(to_dsp(p)) == p
    shuffled = to_dsp(p)
    for key in ("permission", "prohibition"):
        if key in shuffled:
            rnd.shuffle(shuffled[key])
            for r in shuffled[key]:
                if "constraint" in r:
                    rnd.shuffle(r["constraint"])
    if doc["@type"] == "Offer":
        assert match_offer(doc, shuffled) == []


def _loader(url, options=None):
    from contracts.schemas import context_document
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": context_document(url), "tag": "static"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_expanded_jsonld_reads_as_the_compacted_form(doc):
    from pyld import jsonld

    from contracts.schemas import DSP_CONTEXT
    from policies import from_jsonld
    p = from_dsp(doc)
    wrapped = {"@context": [DSP_CONTEXT], "@type": "Dataset", "@id": "urn:uuid:ds", "hasPolicy": [to_dsp(p)]}
    expanded = jsonld.expand(wrapped, {"documentLoader": _loader, "base": None})
    assert from_jsonld(expanded) == p
