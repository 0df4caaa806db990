"""``passerelle policy``: check a request against a policy file, and validate a policy before publishing it.

``check`` exits 0 when the request is permitted, 1 when it is denied and 2 on bad input (like grep), so scripts
can branch on the decision; ``validate`` exits 0 when the policy is fit to publish and 1 otherwise.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from contracts.schemas import DSP_CONTEXT, validation_errors
from policies import (PolicyParseError, Request, World, evaluate, parse_policy, validate_policy)
from policies.values import parse_datetime

__all__ = ["policy"]

_MARK = {True: "ok ", False: "NO ", None: " ? "}


class BadInput(click.ClickException):
    exit_code = 2


def _read_policy_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise BadInput(f"cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def _pairs(values: tuple[str, ...], option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"{option} {item!r}: expected KEY=VALUE")
        key, value = key.strip(), value.strip()
        if key in out:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_datetime(text if "T" in text else text + "T00:00:00Z")
    except ValueError:
        raise BadInput(f"{option} {text!r}: expected an ISO 8601 date-time such as 2026-05-01T12:00:00Z") from None


@click.group(name="policy")
def policy() -> None:
    """Check requests against ODRL policies and validate policies before publishing."""


@policy.command()
@click.argument("policy_file", type=click.Path(dir_okay=False))
@click.option("--as", "party", required=True, metavar="DID", help="The requesting party's DID.")
@click.option("--action", required=True, help="Requested action (use, aggregate, distribute, …).")
@click.option("--purpose", help="Declared purpose (IRI, or a name in the data space's purpose list).")
@click.option("--claim", "claims", multiple=True, metavar="KEY=VALUE",
              help="A verified claim: membershipRole=…, territory=REG-76, organisation=…; repeat a key for a list.")
@click.option("--target", help="Dataset (asset) the request is about.")
@click.option("--recipient", help="Party receiving the result (default: the requester).")
@click.option("--spatial", help="Territory code the request is about (DEP-34, REG-76, FR).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Other request value, e.g. cellSize=5.")
@click.option("--at", "at", metavar="ISO_DATETIME", help="Evaluate at this instant (default: now).")
@click.option("--count", type=click.IntRange(min=0), default=0, show_default=True,
              help="Uses already made under the agreement.")
@click.option("--since", metavar="ISO_DATETIME", help="Agreement start, for elapsedTime constraints.")
@click.option("--duty", "duties", multiple=True, metavar="ID=STATE",
              help="Duty state: duty @id or action = fulfilled | violated | not-set.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with decision and reasons.")
def check(policy_file: str, party: str, action: str, purpose: str | None, claims: tuple[str, ...],
          target: str | None, recipient: str | None, spatial: str | None, params: tuple[str, ...],
          at: str | None, count: int, since: str | None, duties: tuple[str, ...], as_json: bool) -> None:
    """Decide whether DID may perform ACTION under POLICY_FILE, and say why."""
    doc = _read_policy_json(policy_file)
    try:
        parsed = parse_policy(doc)
    except PolicyParseError as e:
        raise BadInput(f"{policy_file}: {e}") from None
    param_values: dict[str, Any] = _pairs(params, "--param")
    for k, v in param_values.items():
        if isinstance(v, str) and v.lstrip("-").isdigit():
            param_values[k] = int(v)
    duty_states = _pairs(duties, "--duty")
    bad = {k: v for k, v in duty_states.items() if v not in ("fulfilled", "violated", "not-set")}
    if bad:
        raise BadInput(f"--duty {', '.join(bad)}: state must be fulfilled, violated or not-set")
    now = _instant(at, "--at") or datetime.now(timezone.utc)
    request = Request(party=party, action=action, target=target, purpose=purpose, recipient=recipient,
                      spatial=spatial, claims=_pairs(claims, "--claim"), parameters=param_values)
    world = World(now=now, count=count, agreement_start=_instant(since, "--since"), duty_states=duty_states)
    decision = evaluate(parsed, request, world)
    if as_json:
        body = decision.to_dict()
        click.echo(json.dumps({"decision": body["decision"], "reasons": body["reasons"], "rules": body["rules"],
                               "policy": parsed.uid, "party": party, "at": now.isoformat()}, ensure_ascii=False))
    else:
        click.echo(f"{decision.decision.upper()}: {party} {action} under {parsed.uid or policy_file}")
        for r in decision.reasons:
            click.echo(f"  {_MARK[r.satisfied]} {r.message}")
    raise SystemExit(0 if decision.permitted else 1)


def _schema_problems(doc: dict[str, Any]) -> list[str]:
    """The DSP 2025-1 JSON Schema verdict, with the policy wrapped in the message that would carry it."""
    kind = doc.get("@type")
    if kind == "Agreement":
        msg = {"@context": [DSP_CONTEXT], "@type": "ContractAgreementMessage", "providerPid": "urn:uuid:p",
               "consumerPid": "urn:uuid:c", "agreement": doc}
        prefix = "agreement/"
    elif kind == "Offer" and "target" in doc:
        msg = {"@context": [DSP_CONTEXT], "@type": "ContractRequestMessage", "consumerPid": "urn:uuid:c",
               "callbackAddress": "https://consumer.invalid/", "offer": doc}
        prefix = "offer/"
    elif kind == "Offer":
        msg = {"@context": [DSP_CONTEXT], "@type": "Dataset", "@id": "urn:uuid:d", "hasPolicy": [doc],
               "distribution": [{"@type": "Distribution", "format": "HttpData-PULL", "accessService": "urn:uuid:s"}]}
        prefix = "hasPolicy/0/"
    else:
        return [f"@type: DSP carries only Offer and Agreement policies, got {kind!r}"]
    return [f"DSP schema: {p.removeprefix(prefix)}" for p in validation_errors(msg)]


@policy.command()
@click.argument("policy_file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the problems.")
def validate(policy_file: str, as_json: bool) -> None:
    """List every problem of POLICY_FILE before it is published (ODRL, evaluator and DSP schema checks)."""
    doc = _read_policy_json(policy_file)
    problems = validate_policy(doc)
    if isinstance(doc, dict):
        problems += _schema_problems(doc)
    if as_json:
        click.echo(json.dumps({"valid": not problems, "problems": problems}, ensure_ascii=False))
    elif problems:
        click.echo(f"{policy_file}: {len(problems)} problem(s)")
        for p in problems:
            click.echo(f"  - {p}")
    else:
        click.echo(f"{policy_file}: valid")
    raise SystemExit(0 if not problems else 1)


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


@policy.command()
@click.argument("name", required=False)
@click.option("--set", "values", multiple=True, metavar="KEY=VALUE",
              help="Template parameter; a JSON value (11, [\"auditor\"]) or plain text.")
def template(name: str | None, values: tuple[str, ...]) -> None:
    """List the policy templates, or print template NAME rendered as a DSP Offer."""
    from policies import templates
    if name is None:
        for n in templates.names():
            declared = templates.parameters(templates.read(n))
            params = ", ".join(f"{k}={json.dumps(v['default'])}" if isinstance(v, dict) and "default" in v
                               else f"{k} (required)" for k, v in declared.items())
            click.echo(f"{n}: {params}")
        return
    params = {k: _json_or_text(v) if isinstance(v, str) else v for k, v in _pairs(values, "--set").items()}
    try:
        click.echo(json.dumps(templates.load(name, **params), indent=2, ensure_ascii=False))
    except templates.TemplateError as e:
        raise BadInput(str(e)) from None
