"""Entry schema v1 and its canonical form (RFC 8785)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import rfc8785

from connector.audit import EntryError, build_entry, canonical, entry_problems, format_ts
from connector.audit.entry import LineParser, may_hold_email, parse_line

HEADER = dict(seq=0, ts="2026-03-02T09:00:00.000Z", origin="o.example/audit/v1",
              event_id="6f1f2ab4-3c4d-4e5f-8a9b-0c1d2e3f4a5b", prev_leaf_hash=None)
ACTOR = {"actor": {"did": "did:web:o.example", "role": "provider"}}


def test_timestamps_are_utc_with_milliseconds() -> None:
    paris = timezone(timedelta(hours=1))
    assert format_ts(datetime(2026, 3, 2, 10, 0, 0, 123999, tzinfo=paris)) == "2026-03-02T09:00:00.123Z"
    assert format_ts(0) == "1970-01-01T00:00:00.000Z"
    with pytest.raises(ValueError, match="aware"):
        format_ts(datetime(2026, 3, 2))


def test_an_agreement_entry_keeps_the_full_policy_and_is_canonical() -> None:
    policy = {"@type": "Agreement", "@id": "urn:uuid:a1", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "count", "operator": "lteq", "rightOperand": 12}]}], "ratio": 0.85, "été": "ok"}
    entry = build_entry(**HEADER, event="agreement.finalized",
                        body={**ACTOR, "agreement": {"id": "urn:uuid:a1", "policy": policy,
                                                     "policy_sha256": "ab" * 32}})
    data = canonical(entry)
    assert data == rfc8785.dumps(json.loads(data))
    value, is_jcs = parse_line(data)
    assert value == entry and is_jcs


@pytest.fixture(params=["orjson", "stdlib"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> LineParser:
    """Both parsing paths: with orjson when it is installed, and the standard library's."""
    import connector.audit.entry as entry_module
    if request.param == "stdlib":
        monkeypatch.setattr(entry_module, "_orjson", None)
    elif entry_module._orjson is None:
        pytest.skip("orjson is not installed")
    return LineParser()


@pytest.mark.parametrize("line", [
    b'{"b":1,"a":2}',            # keys out of order
    b'{"a": 1}',                 # whitespace
    b'{"a":1.0}',                # 1.0 is written 1 in JCS
    b'{"a":"\\u00e9"}',          # needless escape
    b'{"a":1e2}',
    b'{"a":1,"a":1}',            # duplicate key
    b'{"decision":{"constraints":[{"right":3.0}]}}',
    b'{"agreement":{"policy":{"x":[1E+2]}}}',
    b'{"data":{"bytes":10.0}}',  # a float where the schema wants an integer
])
def test_non_canonical_lines_are_spotted(parser: LineParser, line: bytes) -> None:
    value, fast = parser.parse(line)
    assert not fast or entry_problems(value)  # caught at once, or the entry breaks the schema and the verifier
    assert parser.exact(line, value) is False  # then asks for the exact verdict


def test_canonical_lines_pass_the_fast_path_and_the_slow_one(parser: LineParser) -> None:
    for value in ({"a": 1, "b": [True, None, "x"]}, {"a": 0.5, "é": "ü"}, {"a": "\u001f\n"},
                  {"decision": {"constraints": [{"right": 0.85, "actual": 2}]}}, {"n": -(2 ** 53) + 1}):
        assert parser.parse(rfc8785.dumps(value)) == (value, True)
    big = b'{"decision":{"constraints":[{"right":123456789012345678901}]}}'  # beyond JCS's exact range
    assert parser.parse(big)[1] is False
    outside = b'{"n":123456789012345678901234567890}'  # breaks the schema: the verifier asks for the exact verdict
    assert entry_problems(parser.parse(outside)[0]) and parser.exact(outside, parser.parse(outside)[0]) is False


def test_every_problem_is_listed() -> None:
    problems = entry_problems({"v": 2, "seq": -1, "ts": "yesterday", "origin": "o", "event_id": "x",
                               "event": "made.up", "actor": {"did": "did:web:o"}, "process": {"kind": "other"},
                               "data": {"bytes": "12", "sha256": "XYZ"}, "surname": "Martin"})
    joined = "\n".join(problems)
    for expected in ("v: must be 1", "seq: must be a whole number", "ts: must be RFC 3339", "event_id: must be",
                     "event: is not a known event type", "actor.role: missing", "process.kind: must be one of",
                     "data.bytes: must be a whole number", "data.sha256: must be 64 lowercase hex",
                     "surname: unknown field"):
        assert expected in joined, expected


def test_personal_data_has_nowhere_to_go() -> None:
    with pytest.raises(EntryError, match="e-mail"):
        build_entry(**HEADER, event="auth.rejected",
                    body={**ACTOR, "auth": {"reason_code": "BAD_AUDIENCE", "iss": "mailto:camille.durand@example.fr"}})
    with pytest.raises(EntryError, match="unknown field"):
        build_entry(**HEADER, event="data.pull", body={**ACTOR, "guest": {"name": "Camille Durand"}})


def test_the_screen_looks_past_json_ld_keywords_but_not_past_an_address() -> None:
    """An "@" that opens a string ("@context", "@id") cannot end an address; any other sends the entry to the screen,
    however the address is written in the JSON text (after an escaped quote, non-ASCII, the "@" itself escaped)."""
    policy = {"@context": "https://w3id.org/dspace/2025/1/context.jsonld", "@id": "urn:offer:1", "@type": "Offer"}
    body = {**ACTOR, "agreement": {"id": "urn:uuid:a1", "policy": policy, "policy_sha256": "ab" * 32}}
    entry = build_entry(**HEADER, event="agreement.finalized", body=body)
    raw = canonical(entry)
    assert b"@" in raw and not may_hold_email(raw) and entry_problems(entry, raw) == []
    for address in ('"camille@example.fr', "camille.durand@example.fr", "céline@exemple.fr"):
        leaky = {**entry, "agreement": {**body["agreement"], "policy": {**policy, "assignee": address}}}
        for raw in (canonical(leaky), json.dumps(leaky).encode(), json.dumps(leaky).replace("@e", "\\u0040e").encode()):
            assert may_hold_email(raw), raw
            assert any("e-mail" in p for p in entry_problems(json.loads(raw), raw)), raw


def test_the_chain_link_is_required_after_the_first_entry() -> None:
    with pytest.raises(EntryError, match="prev_leaf_hash"):
        build_entry(**{**HEADER, "seq": 1}, event="data.pull", body=ACTOR)


def test_the_fast_verdict_agrees_with_the_field_table() -> None:
    from connector.audit.entry import _ALL_FIELDS, _REQUIRED, _conforms, _fields_problems
    good = build_entry(**{**HEADER, "seq": 3, "prev_leaf_hash": "0" * 64}, event="data.pull", body={
        **ACTOR, "dataset": {"id": "d"}, "data": {"bytes": 1, "rows": 2, "sha256": "e" * 64},
        "decision": {"effect": "deny", "constraints": [{"left": "count", "op": "lteq", "right": 3, "actual": 4,
                                                        "ok": False}]}})
    variants = [good, {**good, "v": True}, {**good, "seq": True}, {**good, "seq": -1}, {**good, "ts": "2026"},
                {**good, "event_id": "X"}, {**good, "event": "nope"}, {**good, "prev_leaf_hash": "A" * 64},
                {**good, "origin": 7}, {**good, "extra": {}}, {**good, "data": []},
                {**good, "data": {"bytes": "1"}}, {**good, "dataset": {"id": "d", "x": 1}},
                {**good, "decision": {"effect": "maybe"}}, {k: v for k, v in good.items() if k != "actor"},
                {**good, "actor": {"did": "x", "role": "r"}}]
    for v in variants:
        assert _conforms(v) == (not _fields_problems(v, _ALL_FIELDS, _REQUIRED)), v
    assert _conforms(good) and sum(map(_conforms, variants)) == 1


def test_canonical_bytes_are_rfc8785_on_every_path(parser: LineParser) -> None:
    samples = [{"v": 1, "a": {"z": [1, 2, {"y": None}], "b": True}}, {"t": "tab\there", "q": "\"quoted\""},
               {"é": "ü", "n": -5}, {"x": 0.85, "y": 1.0}, {"s": "\u2028 \U0001f600", "k": {"\ue000": 1, "\U0001f600": 2}}]
    for value in samples:
        assert canonical(value) == rfc8785.dumps(value)
