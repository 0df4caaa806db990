"""Lint a policy before it is published: every problem at once, each naming where it is.

Checks the document shape (what the evaluator would refuse or deny), the DSP compacted spellings that break under
JSON-LD processing (bare left operands other than the DSP context's terms, prefixed operators), unknown or
deprecated actions, and what an Offer or an Agreement must carry. The DSP JSON Schema itself is checked by the
caller (``contracts.schemas``), since this package imports no schema library.
"""

from __future__ import annotations

from typing import Any

from policies.evaluate import compile_policy
from policies.model import Policy, Rule
from policies.parse import PolicyParseError, parse_policy
from policies.values import parse_datetime
from policies.vocabulary import ODRL, PASSERELLE, action_info, is_known_action

__all__ = ["validate_policy"]

_DSP_OPERATORS = {"eq", "neq", "lt", "lteq", "gt", "gteq", "isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf",
                  "isNoneOf"}


def _walk_constraints(raw: Any, where: str, problems: list[str]) -> None:
    for i, c in enumerate(raw if isinstance(raw, list) else [raw] if raw is not None else []):
        if not isinstance(c, dict):
            continue
        w = f"{where}[{i}]"
        for op in ("and", "or", "xone", "andSequence"):
            if op in c:
                _walk_constraints(c[op], f"{w}.{op}", problems)
        lo, op = c.get("leftOperand"), c.get("operator")
        if isinstance(lo, str) and ":" not in lo:
            problems.append(f"{w}.leftOperand: bare {lo!r} is not defined by the DSP context and expands to a "
                            f"relative IRI; write " + (f"'{PASSERELLE}{lo}'" if lo in ("membershipRole", "territory",
                                                                                       "organisation", "cellSize")
                                                       else f"'odrl:{lo}'"))
        if isinstance(op, str) and op not in _DSP_OPERATORS:
            problems.append(f"{w}.operator: {op!r} is not one of the DSP operators ({', '.join(sorted(_DSP_OPERATORS))})")


def _walk_rules(doc: dict[str, Any], problems: list[str]) -> None:
    for kind, nested in (("permission", "duty"), ("prohibition", "remedy"), ("obligation", "consequence")):
        rules = doc.get(kind)
        for i, r in enumerate(rules if isinstance(rules, list) else [rules] if rules is not None else []):
            if isinstance(r, dict):
                _walk_constraints(r.get("constraint"), f"{kind}[{i}].constraint", problems)
                for j, d in enumerate(r.get(nested) or []):
                    if isinstance(d, dict):
                        _walk_constraints(d.get("constraint"), f"{kind}[{i}].{nested}[{j}].constraint", problems)
        if rules is not None and not isinstance(rules, list):
            problems.append(f"{kind}: must be an array in the DSP form")


def _check_rule(r: Rule, where: str, problems: list[str]) -> None:
    if r.action is None:
        problems.append(f"{where}: no action (the rule would cover every action)")
    elif not is_known_action(r.action):
        problems.append(f"{where}: unknown action {r.action!r}")
    elif (info := action_info(r.action)) is not None and info["deprecated"]:
        same = info["exactMatch"]
        problems.append(f"{where}: action {r.action.removeprefix(ODRL)} is deprecated in ODRL 2.2"
                        + (f" (use {same[0].removeprefix(ODRL)})" if same else ""))
    for i, d in enumerate(r.duties):
        _check_rule(d, f"{where}.{'duty' if r.kind == 'permission' else 'remedy'}[{i}]", problems)


def validate_policy(doc: Any, *, expect: str | None = None, in_dataset: bool = False) -> list[str]:
    """Every problem of policy ``doc`` (a JSON object or a parsed :class:`Policy`); empty when fit to publish.

    ``expect`` ("Offer", "Agreement" or "Set") requires that type; ``in_dataset`` checks the rules for an offer
    published in a catalogue (no ``target``)."""
    problems: list[str] = []
    if isinstance(doc, Policy):
        policy = doc
    else:
        try:
            policy = parse_policy(doc)
        except PolicyParseError as e:
            return list(e.problems)
        if isinstance(doc, dict):
            _walk_rules(doc, problems)
    if expect is not None and policy.type != expect:
        problems.append(f"@type: expected {expect}, got {policy.type}")
    if not (policy.permissions or policy.prohibitions):
        problems.append("the policy has no permission and no prohibition")
    if policy.type in ("Offer", "Agreement") and not policy.uid:
        problems.append(f"@id: an {policy.type} needs an @id")
    if policy.type == "Agreement":
        for k in ("target", "assigner", "assignee", "timestamp"):
            if getattr(policy, k) is None:
                problems.append(f"{k}: an Agreement needs a {k}")
        if policy.timestamp is not None:
            try:
                parse_datetime(policy.timestamp)
            except ValueError:
                problems.append(f"timestamp: not an xsd:dateTime: {policy.timestamp!r}")
    if in_dataset and policy.target is not None:
        problems.append("target: an Offer inside a dataset must not have a target (the dataset is the target)")
    for kind, rules in (("permission", policy.permissions), ("prohibition", policy.prohibitions),
                        ("obligation", policy.obligations)):
        for i, r in enumerate(rules):
            _check_rule(r, f"{kind}[{i}]", problems)
            if in_dataset and r.target is not None and r.target != policy.target:
                problems.append(f"{kind}[{i}].target: rules must not have a target in DSP")
    problems += list(compile_policy(policy).broken)
    seen: set[str] = set()
    return [p for p in problems if not (p in seen or seen.add(p))]
