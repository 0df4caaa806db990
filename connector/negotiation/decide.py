"""The provider's decision on a contract request: is it our offer, and may this participant have it?

At negotiation time the node knows who asks (the verified membership claims) and when, not yet what each pull will
be for. So the offer is judged on the constraints about the *party* and the *time* (membership role, territory,
organisation, recipient, date): those decide whether an agreement is granted. Constraints about each use (purpose,
count, elapsed time, spatial scope of a request, cell size) and duties become terms of the agreement and are
evaluated at every pull. A policy holding a constraint the evaluator cannot judge is refused outright (fail closed).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime
from typing import Any, Mapping

from policies import PolicyParseError, Request, World, evaluate, match_offer, parse_policy

__all__ = ["NegotiationDecision", "decide", "NEGOTIATION_OPERANDS"]

#: left operands (local names) judged when the agreement is made; every other one is judged at each pull
NEGOTIATION_OPERANDS = frozenset({"membershipRole", "territory", "organisation", "recipient", "dateTime"})
_LOGICAL = ("and", "or", "xone", "andSequence")


@dataclass(frozen=True)
class NegotiationDecision:
    agree: bool
    reasons: list[str]                         # readable sentences; sent to the consumer on refusal
    code: str                                  # AGREED, OFFER_MISMATCH, POLICY_DENIED, POLICY_UNJUDGEABLE
    details: list[dict[str, Any]] = field(default_factory=list)   # the evaluator's reasons, for the record

    def to_dict(self) -> dict[str, Any]:
        return {"effect": "permit" if self.agree else "deny", "code": self.code, "reasons": self.reasons,
                "details": self.details}


def _local(name: Any) -> str:
    text = name.get("@id", "") if isinstance(name, dict) else str(name or "")
    return text.rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1]


def _judged_now(constraint: Any) -> bool:
    """Whether every atomic part of ``constraint`` is about the party or the time."""
    if not isinstance(constraint, dict):
        return False
    for key in _LOGICAL:
        if key in constraint:
            members = constraint[key]
            if isinstance(members, dict):
                members = members.get("@list", [members])
            return all(_judged_now(c) for c in members or [])
    return _local(constraint.get("leftOperand")) in NEGOTIATION_OPERANDS


def negotiation_view(offer: Mapping[str, Any]) -> dict[str, Any]:
    """The offer restricted to what is judged at negotiation: permissions with their party/time constraints."""
    view = {k: copy.deepcopy(v) for k, v in offer.items() if k not in ("prohibition", "obligation")}
    rules = []
    for rule in offer.get("permission") or []:
        r = {k: copy.deepcopy(v) for k, v in rule.items() if k not in ("constraint", "duty")}
        kept = [c for c in rule.get("constraint") or [] if _judged_now(c)]
        if kept:
            r["constraint"] = kept
        rules.append(r)
    if rules:
        view["permission"] = rules
    else:
        view.pop("permission", None)
    return view


@dataclass(frozen=True)
class _Prepared:
    """Our offer parsed and compiled once: the full policy (to match requests against), what cannot be judged, and
    the negotiation view with the actions it grants."""

    full: Any
    broken: tuple[str, ...]
    view: dict[str, Any]
    policy: Any
    actions: tuple[str, ...]


@lru_cache(maxsize=256)
def _prepare(offered_json: str) -> _Prepared:
    offered = json.loads(offered_json)
    full = parse_policy(offered)
    broken = tuple(str(b) for b in full.compiled.broken)
    view = negotiation_view(offered)
    policy = parse_policy(view) if view.get("permission") and not broken else None
    # the agreement grants what the offer's permissions name: ``use``, or a narrower action such as ``aggregate``
    # (compute-to-data offers); the participant qualifies if some granted action is permitted to it
    actions = ("use",) + tuple(sorted({str(r.get("action")) for r in view.get("permission") or []
                                       if isinstance(r.get("action"), str)} - {"use"}))
    return _Prepared(full, broken, view, policy, actions)


def decide(requested: Mapping[str, Any], offered: Mapping[str, Any], *, dataset_id: str, party: str,
           claims: Mapping[str, Any], now: datetime) -> NegotiationDecision:
    """Match ``requested`` (the consumer's offer) against ``offered`` (ours, from the catalogue), then evaluate.

    Our offer is parsed and compiled once per distinct offer (it changes only when the catalogue does); what
    depends on the request, the party and the time is evaluated every time."""
    try:
        prepared = _prepare(json.dumps(offered, sort_keys=True, separators=(",", ":"), default=str))
    except PolicyParseError as exc:
        return NegotiationDecision(False, [f"our offer cannot be read: {exc}"], "POLICY_UNJUDGEABLE")
    problems = match_offer(prepared.full, dict(requested), dataset_id=dataset_id)
    if problems:
        return NegotiationDecision(False, problems, "OFFER_MISMATCH")
    if prepared.broken:
        return NegotiationDecision(False, [f"the offer holds a constraint that cannot be judged: {b}"
                                           for b in prepared.broken], "POLICY_UNJUDGEABLE")
    if prepared.policy is None:
        return NegotiationDecision(False, ["the offer grants no permission"], "POLICY_DENIED")
    policy, actions = prepared.policy, prepared.actions
    for action in actions:
        decision = evaluate(policy, Request(party=party, action=action, target=None, claims=dict(claims)),
                            World(now=now, agreement_start=now))
        if decision.permitted:
            break
    details = [r.to_dict() for r in decision.reasons]
    if decision.permitted:
        return NegotiationDecision(True, ["the offer's conditions on the participant and the date hold"],
                                   "AGREED", details)
    failed = [r.message for r in decision.reasons
              if r.satisfied is not True and r.kind in ("constraint", "refinement", "party", "action", "target")]
    return NegotiationDecision(False, failed or [r.message for r in decision.reasons if r.satisfied is False]
                               or ["no permission grants the request"], "POLICY_DENIED", details)
