"""Offer matching for negotiation: is the requested offer the provider's offer, and the agreement that follows.

Two offers are the same when their rules are the same *as meaning*: key order, rule and constraint order (except
inside ``andSequence``), list order of set-valued right operands, ``odrl:`` prefixes versus bare terms versus full
IRIs, typed versus plain literals, and the ids of rules and constraints do not matter. The offer ``@id`` does, and
the request's ``target`` must be the dataset.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from policies.model import AnyConstraint, LogicalConstraint, MalformedConstraint, Policy, Rule, Value
from policies.operands import OPERANDS
from policies.parse import parse_policy
from policies.values import parse_datetime, parse_duration
from policies.vocabulary import ODRL, compact, purpose_iri

__all__ = ["match_offer", "agreement_for", "canonical_rules"]

_SET_OPERATORS = {ODRL + o for o in ("isAnyOf", "isNoneOf", "isAllOf", "hasPart", "isPartOf")}


def _canon_value(left: str, v: Value) -> str:
    spec = OPERANDS.get(left)
    raw = v.value
    try:
        if spec is not None and spec.kind == "datetime":
            if isinstance(raw, str) and "T" in raw:
                return parse_datetime(raw).astimezone(timezone.utc).isoformat()
            return str(raw)
        if spec is not None and spec.kind == "integer":
            return str(int(raw))
        if spec is not None and spec.kind == "elapsed":
            return str(parse_duration(raw))
        if spec is not None and spec.kind == "purpose":
            return purpose_iri(str(raw))
    except (TypeError, ValueError):
        pass
    return str(raw).strip()


def _canon_constraint(c: AnyConstraint) -> str:
    if isinstance(c, LogicalConstraint):
        members = [_canon_constraint(m) for m in c.constraints]
        if c.operator != "andSequence":
            members.sort()
        return f"{c.operator}({', '.join(members)})"
    if isinstance(c, MalformedConstraint):
        return f"malformed({'; '.join(c.problems)})"
    values = [_canon_value(c.left_operand, v) for v in c.right]
    if c.operator in _SET_OPERATORS or c.right_is_list:
        values.sort()
    return f"{compact(c.left_operand)} {compact(c.operator)} [{', '.join(values)}]" + (
        f" unit={c.unit}" if c.unit else "")


def _canon_rule(r: Rule, policy: Policy) -> str:
    parts = [r.kind, compact(r.action) if r.action else "(any action)"]
    cs = sorted(_canon_constraint(c) for c in r.constraints)
    if cs:
        parts.append("constraint{" + "; ".join(cs) + "}")
    refs = sorted(_canon_constraint(c) for c in r.refinements)
    if refs:
        parts.append("refinement{" + "; ".join(refs) + "}")
    for k in ("assignee", "assigner"):
        v = getattr(r, k)
        if v is not None and v != getattr(policy, k):
            parts.append(f"{k}={v}")
    for k in ("target_refinements", "assignee_refinements"):
        refined = sorted(_canon_constraint(c) for c in getattr(r, k))
        if refined:
            parts.append(f"{k}{{" + "; ".join(refined) + "}")
    if r.duties:
        parts.append("duty{" + "; ".join(sorted(_canon_rule(d, policy) for d in r.duties)) + "}")
    return " ".join(parts)


def canonical_rules(policy: Policy) -> list[str]:
    """The policy's rules as sorted canonical strings (targets left out: the dataset is checked separately)."""
    return sorted(_canon_rule(r, policy) for r in (*policy.permissions, *policy.prohibitions, *policy.obligations))


def _as_policy(p: Policy | dict[str, Any]) -> Policy:
    return p if isinstance(p, Policy) else parse_policy(p)


def match_offer(offered: Policy | dict[str, Any], requested: Policy | dict[str, Any], *,
                dataset_id: str | None = None) -> list[str]:
    """Every difference between the provider's ``offered`` policy and the consumer's ``requested`` one; an empty
    list means the request is that offer. ``dataset_id``, when given, must be the request's target."""
    a, b = _as_policy(offered), _as_policy(requested)
    problems = []
    if b.type != "Offer":
        problems.append(f"requested policy is an {b.type}, expected an Offer")
    if a.uid != b.uid:
        problems.append(f"offer @id differs: provider {a.uid!r}, request {b.uid!r}")
    if dataset_id is not None and b.target is not None and b.target != dataset_id:
        problems.append(f"requested target {b.target!r} is not the dataset {dataset_id!r}")
    if a.assigner is not None and b.assigner is not None and a.assigner != b.assigner:
        problems.append(f"assigner differs: provider {a.assigner!r}, request {b.assigner!r}")
    mine, theirs = canonical_rules(a), canonical_rules(b)
    for r in mine:
        if r in theirs:
            theirs.remove(r)
        else:
            problems.append(f"rule of the offer missing from the request: {r}")
    problems += [f"rule in the request that the offer does not have: {r}" for r in theirs]
    if (a.conflict or "invalid") != (b.conflict or "invalid"):
        problems.append(f"conflict strategy differs: {a.conflict!r} vs {b.conflict!r}")
    return problems


def _bind(r: Rule, target: str, assigner: str, assignee: str) -> Rule:
    return Rule(r.kind, r.action, r.constraints, r.refinements,
                tuple(_bind(d, target, assigner, assignee) for d in r.duties),
                r.target or target, r.assignee or (assignee if r.kind != "duty" and not r.assignee_refinements
                                                   else None),
                r.assigner or (assigner if r.kind != "duty" else None), r.uid, r.target_refinements,
                r.assignee_refinements)


def agreement_for(offer: Policy | dict[str, Any], *, agreement_id: str, target: str, assigner: str,
                  assignee: str, timestamp: datetime | str) -> Policy:
    """The Agreement that ``offer`` becomes: fresh ``@id``, the dataset as target, provider as assigner, consumer as
    assignee, and the signing ``timestamp`` (passed in, timezone-aware)."""
    p = _as_policy(offer)
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        timestamp = timestamp.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    bind = lambda rules: tuple(_bind(r, target, assigner, assignee) for r in rules)  # noqa: E731
    return Policy("Agreement", agreement_id, bind(p.permissions), bind(p.prohibitions), bind(p.obligations),
                  target, assigner, assignee, p.profile, p.conflict, timestamp, p.extra)
