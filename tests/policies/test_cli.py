"""``passerelle policy check`` / ``validate``, driven through the click group object."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from connector.commands.policy import policy
from policies import templates

REGION = ["--claim", "membershipRole=regional_node", "--claim", "territory=REG-76"]


@pytest.fixture
def standard(tmp_path):
    path = tmp_path / "offer.json"
    path.write_text(json.dumps(templates.load("tourism-standard", until="2027-01-01T00:00:00Z", territory="DEP-34")))
    return str(path)


def run(*args):
    return CliRunner().invoke(policy, list(args))


def test_check_permit_text(standard):
    r = run("check", standard, "--as", "did:web:occitanie.example", "--action", "aggregate", "--purpose",
            "OfficialStatistics", *REGION, "--at", "2026-05-01T10:00:00Z", "--count", "3")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("PERMIT: did:web:occitanie.example aggregate")
    assert "territory hasPart 'DEP-34' satisfied" in r.output


def test_check_deny_json(standard):
    r = run("check", standard, "--as", "did:web:bretagne.example", "--action", "use", "--purpose", "Statistics",
            "--claim", "membershipRole=regional_node", "--claim", "territory=REG-53", "--at", "2026-05-01T10:00:00Z",
            "--json")
    assert r.exit_code == 1, r.output
    body = json.loads(r.output)
    assert body["decision"] == "deny"
    failed = [x for x in body["reasons"] if x["satisfied"] is False and x["kind"] == "constraint"]
    assert [x["left_operand"] for x in failed] == ["https://w3id.org/passerelle/odrl/territory"]
    assert failed[0]["actual"] == "REG-53" and failed[0]["expected"] == "DEP-34"
    assert set(body["reasons"][0]) >= {"rule", "constraint", "left_operand", "operator", "expected", "actual",
                                       "satisfied", "message"}


def test_check_time_and_count(standard):
    late = run("check", standard, "--as", "did:web:x", "--action", "use", "--purpose", "Statistics", *REGION,
               "--at", "2027-01-01", "--json")
    assert json.loads(late.output)["decision"] == "deny"
    over = run("check", standard, "--as", "did:web:x", "--action", "use", "--purpose", "Statistics", *REGION,
               "--at", "2026-01-01T00:00:00Z", "--count", "1000", "--json")
    assert json.loads(over.output)["decision"] == "deny"


def test_check_duty_and_elapsed(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"@id": "urn:o", "@type": "Offer", "permission": [{
        "action": "use", "duty": [{"action": "odrl:inform"}],
        "constraint": [{"leftOperand": "odrl:elapsedTime", "operator": "lteq", "rightOperand": "P30D"}]}]}))
    base = ["check", str(path), "--as", "did:web:x", "--action", "use", "--at", "2026-02-15T00:00:00Z",
            "--since", "2026-02-01T00:00:00Z"]
    assert run(*base).exit_code == 1
    assert run(*base, "--duty", "odrl:inform=fulfilled").exit_code == 0
    assert run(*base, "--duty", "odrl:inform=done").exit_code == 2


@pytest.mark.parametrize("args,message", [
    (["--claim", "novalue"], "expected KEY=VALUE"),
    (["--at", "yesterday"], "ISO 8601"),
])
def test_check_bad_input_is_one_line(standard, args, message):
    r = run("check", standard, "--as", "did:web:x", "--action", "use", *args)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_check_unreadable_files(tmp_path):
    missing = run("check", str(tmp_path / "none.json"), "--as", "did:web:x", "--action", "use")
    assert missing.exit_code == 2 and "cannot read" in missing.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert run("check", str(bad), "--as", "d", "--action", "use").exit_code == 2
    bad.write_text('["use"]')
    r = run("check", str(bad), "--as", "d", "--action", "use")
    assert r.exit_code == 2 and "policy" in r.output


def test_validate(standard, tmp_path):
    ok = run("validate", standard)
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"@type": "Offer", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "purpose", "operator": "odrl:eq", "rightOperand": "Statistics"}]}]}))
    r = run("validate", str(bad), "--json")
    assert r.exit_code == 1
    problems = json.loads(r.output)["problems"]
    assert any("needs an @id" in p for p in problems)
    assert any(p.startswith("DSP schema:") for p in problems)
    assert any("bare 'purpose'" in p for p in problems)
    text = run("validate", str(bad))
    assert f"{len(problems)} problem(s)" in text.output


def test_template_list_and_render(tmp_path):
    listing = run("template")
    assert listing.exit_code == 0
    assert "valid-until: id=" in listing.output and "until (required)" in listing.output
    r = run("template", "aggregate-only", "--set", "min_cell_size=11", "--set", "id=urn:o:9")
    assert r.exit_code == 0
    offer = json.loads(r.output)
    assert offer["@id"] == "urn:o:9"
    assert offer["permission"][0]["constraint"][0]["rightOperand"]["@value"] == 11
    path = tmp_path / "o.json"
    path.write_text(r.output)
    assert run("validate", str(path)).exit_code == 0
    missing = run("template", "valid-until")
    assert missing.exit_code == 2 and "missing required parameter 'until'" in missing.output
