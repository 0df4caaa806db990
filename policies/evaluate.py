"""The evaluator: policy + request + state of the world → a decision with the reason for every rule and constraint.

Semantics (DESIGN §6, docs/policies.md):

- a request is permitted iff some permission is *active* — its action includes the requested one (ODRL
  ``includedIn``), its target and assignee match (directly or by collection membership in the world), every
  refinement and constraint is satisfied and every duty is fulfilled (duties are pre-conditions) — and no
  prohibition is active (unless the policy says ``conflict: perm``), and no policy-level obligation is violated;
- a constraint is three-valued: satisfied, not satisfied, or unknown (its value is missing from the request or the
  world). Unknown counts as *not satisfied* in a permission and as *satisfied* in a prohibition, so missing
  information never widens what is allowed;
- a policy holding a constraint that cannot be judged at all (unknown left operand or operator, malformed
  constraint, unreadable right operand) denies every request, with those reasons (fail closed).

Policies are compiled once into closures (kept on the policy object), which is what makes a decision cost a few
microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, NamedTuple, Optional

from policies.model import AnyConstraint, Constraint, LogicalConstraint, MalformedConstraint, Policy, Rule
from policies.operands import MISSING, OPERANDS, Elapsed, Unjudgeable, compile_test
from policies.vocabulary import ODRL, PASSERELLE, action_iri, compact, included_actions, odrl_left_operands

__all__ = ["Request", "World", "Reason", "RuleReport", "Decision", "CompiledPolicy", "compile_policy", "evaluate"]


@dataclass(slots=True)
class Request:
    """Who asks to do what: ``party`` is the requester's DID; ``claims`` its *verified* credential claims
    (``membershipRole``/``roles``, ``territory``, ``organisation``); ``parameters`` any other request values
    (e.g. ``cellSize`` of an aggregate)."""

    party: str
    action: str
    target: str | None = None
    purpose: str | None = None
    recipient: str | None = None
    spatial: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class World:
    """The state of the world, passed in (the evaluator never reads a clock): ``now`` (timezone-aware), ``count``
    of past uses under the agreement, ``agreement_start`` (for elapsedTime), ``memberships`` (party or asset →
    the collections it is part of) and ``duty_states`` (duty ``@id`` or action IRI → "fulfilled" / "violated" /
    "not-set")."""

    now: datetime
    count: int = 0
    agreement_start: datetime | None = None
    memberships: Mapping[str, Any] = field(default_factory=dict)
    duty_states: Mapping[str, str] = field(default_factory=dict)


def _jsonable(v: Any) -> Any:
    if v is MISSING:
        return None
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(v, Elapsed):
        return _duration_text(v.now - v.start)
    if isinstance(v, timedelta):
        return _duration_text(v)
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in (sorted(v, key=str) if isinstance(v, (set, frozenset)) else v)]
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _short(iri: Any) -> str:
    """Short display name of an IRI: ``odrl:x`` → ``x``, ours by local name."""
    if not isinstance(iri, str):
        return repr(iri)
    for ns in (ODRL, PASSERELLE):
        if iri.startswith(ns):
            return iri[len(ns):]
    return iri


def _duration_text(d: timedelta) -> str:
    sign = "-" if d < timedelta(0) else ""
    d = abs(d)
    secs = d.seconds + d.microseconds / 1e6
    return f"{sign}P{d.days}DT{secs:g}S"


class Reason(NamedTuple):
    """Why one premise of one rule holds or not. ``satisfied`` is None when it could not be determined (a value
    missing from the request or the world); ``kind`` is action/target/party/refinement/constraint/duty/obligation/
    rule/policy."""

    rule: str
    kind: str
    constraint: Optional[str]
    left_operand: Optional[str]
    operator: Optional[str]
    expected: Any
    actual: Any
    satisfied: Optional[bool]
    detail: Optional[str] = None

    @property
    def message(self) -> str:
        state = {True: "satisfied", False: "not satisfied", None: "unknown"}[self.satisfied]
        what = self.constraint or self.rule
        if self.kind in ("constraint", "refinement") and self.left_operand:
            head = f"{what}: {_short(self.left_operand)} {_short(self.operator)} {_jsonable(self.expected)!r}"
            tail = f" (actual {_jsonable(self.actual)!r})" if self.actual is not MISSING else ""
            return f"{head} {state}{tail}" + (f": {self.detail}" if self.detail else "")
        if self.kind in ("constraint", "refinement"):
            return f"{what}: {self.operator or 'constraint'} {state}" + (f": {self.detail}" if self.detail else "")
        if self.kind == "action":
            return (f"{what}: action {_short(self.expected) if self.expected else '(any)'} "
                    f"{'covers' if self.satisfied else 'does not cover'} {_short(self.actual)}")
        if self.kind in ("target", "party"):
            return (f"{what}: {self.kind} {self.actual!r} {'matches' if self.satisfied else 'does not match'} "
                    f"{self.expected!r}")
        if self.kind in ("duty", "obligation"):
            return f"{what}: {self.kind} {_short(self.expected)} is {self.actual}" + (
                f": {self.detail}" if self.detail else "")
        return f"{what}: {self.detail or state}"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "kind": self.kind, "constraint": self.constraint,
                "left_operand": self.left_operand, "operator": self.operator,
                "expected": _jsonable(self.expected), "actual": _jsonable(self.actual),
                "satisfied": self.satisfied, "message": self.message}


class RuleReport(NamedTuple):
    """The outcome of one rule: ``active`` = the rule applies to this request and all its premises hold."""

    rule: str
    kind: str
    uid: Optional[str]
    action: Optional[str]
    active: bool


class Decision(NamedTuple):
    """The outcome: ``permitted``, every :class:`Reason` in evaluation order, and one :class:`RuleReport` per rule."""

    permitted: bool
    reasons: tuple[Reason, ...]
    rules: tuple[RuleReport, ...]

    def __bool__(self) -> bool:  # ``if decision:`` means "permitted", never "is a non-empty tuple"
        return self.permitted

    @property
    def decision(self) -> str:
        return "permit" if self.permitted else "deny"

    @property
    def failed(self) -> tuple[Reason, ...]:
        """The reasons that did not hold (what a denied requester should be told)."""
        return tuple(r for r in self.reasons if r.satisfied is not True)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reasons": [r.to_dict() for r in self.reasons],
                "rules": [r._asdict() for r in self.rules]}


# --- compilation# --- compilation ------------------------------------------------------------------------------------------------

Check = Callable[[Request, World, list], Optional[bool]]
_new = tuple.__new__  # builds a Reason without the keyword-handling __new__ (hot path)


def _display(c: Constraint) -> Any:
    vals = [v.value for v in c.right]
    return vals if c.right_is_list else vals[0]


def _static_fail(rule: str, kind: str, path: str, left: str | None, op: str | None, expected: Any,
                 detail: str, broken: list[str]) -> Check:
    broken.append(f"{path}: {detail}")
    reason = _new(Reason, (rule, kind, path, left, op, expected, MISSING, False, detail))

    def check(req: Request, world: World, out: list) -> Optional[bool]:
        out.append(reason)
        return False
    return check


def _compile_constraint(c: AnyConstraint, rule: str, path: str, kind: str, broken: list[str]) -> Check:
    if isinstance(c, MalformedConstraint):
        return _static_fail(rule, kind, path, None, None, None, "malformed constraint: " + "; ".join(c.problems),
                            broken)
    if isinstance(c, LogicalConstraint):
        members = [_compile_constraint(m, rule, f"{path}.{c.operator}[{i}]", kind, broken)
                   for i, m in enumerate(c.constraints)]
        combine = _LOGIC[c.operator]
        op = c.operator

        def logical(req: Request, world: World, out: list) -> Optional[bool]:
            at = len(out)
            out.append(None)  # placeholder: the logical reason comes before its members
            result = combine([m(req, world, out) for m in members])
            out[at] = _new(Reason, (rule, kind, path, None, op, None, None, result, None))
            return result
        return logical
    spec = OPERANDS.get(c.left_operand)
    expected = _display(c)
    if spec is None:
        why = ("ODRL left operand not supported by this data space" if c.left_operand in odrl_left_operands()
               else "unknown left operand")
        return _static_fail(rule, kind, path, c.left_operand, c.operator, expected, f"{why} {c.left_operand}",
                            broken)
    try:
        test = compile_test(spec, c.operator, c)
    except Unjudgeable as e:
        return _static_fail(rule, kind, path, c.left_operand, c.operator, expected, str(e), broken)
    resolve, missing, left, op = spec.resolve, spec.missing, c.left_operand, c.operator

    def atomic(req: Request, world: World, out: list) -> Optional[bool]:
        try:
            actual = resolve(req, world)
            if actual is MISSING:
                out.append(_new(Reason, (rule, kind, path, left, op, expected, MISSING, None, missing)))
                return None
            ok = bool(test(actual, world))
        except Exception as e:  # a value of the wrong shape in the request or world: unknown, never a crash
            out.append(_new(Reason, (rule, kind, path, left, op, expected, MISSING, None, f"cannot evaluate: {e}")))
            return None
        out.append(_new(Reason, (rule, kind, path, left, op, expected, actual, ok, None)))
        return ok
    return atomic


def _and(vals: list[Optional[bool]]) -> Optional[bool]:
    if False in vals:
        return False
    return None if None in vals else True


def _or(vals: list[Optional[bool]]) -> Optional[bool]:
    if True in vals:
        return True
    return None if None in vals else False


def _xone(vals: list[Optional[bool]]) -> Optional[bool]:
    if None in vals:
        return None
    return vals.count(True) == 1


_LOGIC: dict[str, Callable[[list[Optional[bool]]], Optional[bool]]] = {
    "and": _and, "andSequence": _and, "or": _or, "xone": _xone}


@dataclass
class _CompiledRule:
    label: str
    rule: Rule
    actions: frozenset[str] | None
    refinements: list[Check]
    constraints: list[Check]
    duties: list["_CompiledRule"]
    state_keys: tuple[str, ...] = ()  # how the world may name this duty: its @id, its action IRI or short name
    target_refinements: list[Check] = field(default_factory=list)
    assignee_refinements: list[Check] = field(default_factory=list)


def _compile_rule(r: Rule, label: str, broken: list[str]) -> _CompiledRule:
    return _CompiledRule(
        label, r,
        included_actions(r.action) if r.action is not None else None,
        # a duty's refinements say what fulfilling it means; whether it was fulfilled comes from the world
        [_compile_constraint(c, label, f"{label}.action.refinement[{i}]", "refinement", broken)
         for i, c in enumerate(r.refinements)] if r.kind != "duty" else [],
        [_compile_constraint(c, label, f"{label}.constraint[{i}]", "constraint", broken)
         for i, c in enumerate(r.constraints)],
        [_compile_rule(d, f"{label}.{'duty' if r.kind == 'permission' else 'remedy'}[{i}]", broken)
         for i, d in enumerate(r.duties)] if r.kind == "permission" else [],
        tuple(k for k in (r.uid, r.action, compact(r.action) if r.action else None) if k is not None),
        [_compile_constraint(c, label, f"{label}.target.refinement[{i}]", "refinement", broken)
         for i, c in enumerate(r.target_refinements)],
        [_compile_constraint(c, label, f"{label}.assignee.refinement[{i}]", "refinement", broken)
         for i, c in enumerate(r.assignee_refinements)],
    )


def _duty_state(cr: "_CompiledRule", world: World) -> str:
    states = world.duty_states
    if states:
        for key in cr.state_keys:
            if key in states:
                return states[key]
    return "not-set"


class CompiledPolicy:
    """A policy turned into closures; build with :func:`compile_policy` (or use ``policy.compiled``)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        broken: list[str] = []
        self.permissions = [_compile_rule(r, f"permission[{i}]", broken) for i, r in enumerate(policy.permissions)]
        self.prohibitions = [_compile_rule(r, f"prohibition[{i}]", broken) for i, r in enumerate(policy.prohibitions)]
        self.obligations = [_compile_rule(r, f"obligation[{i}]", broken) for i, r in enumerate(policy.obligations)]
        #: constraints that cannot be judged: their presence denies every request
        self.broken = tuple(broken)

    def _premises(self, cr: _CompiledRule, req: Request, world: World, action: str, out: list,
                  possible: bool) -> bool:
        """Append the reasons of action/target/party/refinements/constraints; True iff all hold for this kind."""
        r = cr.rule
        # an unknown value keeps a prohibition in force, and fails a permission, unless asking what is *possible*
        none_ok = (r.kind == "prohibition") != possible
        ok = True
        if cr.actions is None:
            out.append(_new(Reason, (cr.label, "action", None, None, None, None, action, True, "rule names no action")))
        else:
            hit = action in cr.actions
            out.append(_new(Reason, (cr.label, "action", None, None, None, r.action, action, hit, None)))
            ok = hit
        if r.target is not None:
            t = req.target
            hit = t is not None and (t == r.target or r.target in world.memberships.get(t, ()))
            out.append(_new(Reason, (cr.label, "target", None, None, None, r.target, t, hit, None)))
            ok = ok and hit
        if r.assignee is not None:
            p = req.party
            hit = p == r.assignee or r.assignee in world.memberships.get(p, ())
            out.append(_new(Reason, (cr.label, "party", None, None, None, r.assignee, p, hit, None)))
            ok = ok and hit
        for check in cr.target_refinements:  # the request's asset and party must satisfy the collections' refinements
            v = check(req, world, out)
            ok = ok and (v is True or (none_ok and v is None))
        for check in cr.assignee_refinements:
            v = check(req, world, out)
            ok = ok and (v is True or (none_ok and v is None))
        for check in cr.refinements:
            v = check(req, world, out)
            ok = ok and (v is True or (none_ok and v is None))
        for check in cr.constraints:
            v = check(req, world, out)
            ok = ok and (v is True or (none_ok and v is None))
        return ok

    def evaluate(self, req: Request, world: World, unknown: str = "deny") -> Decision:
        if unknown not in ("deny", "possible"):
            raise ValueError(f"unknown must be 'deny' or 'possible', got {unknown!r}")
        possible = unknown == "possible"
        out: list = []
        reports: list[RuleReport] = []
        action = action_iri(req.action) if type(req.action) is str else repr(req.action)  # junk matches nothing
        permitted_by = None
        for cr in self.permissions:
            active = self._premises(cr, req, world, action, out, possible)
            for d in cr.duties:
                conditions = [c(req, world, out) for c in d.constraints]
                if conditions and not all(v is True for v in conditions):
                    out.append(_new(Reason, (d.label, "duty", None, None, None, d.rule.action, None, True,
                                      "duty not in force (its constraints do not hold)")))
                    continue
                state = _duty_state(d, world)
                done = state == "fulfilled" or (possible and state != "violated")
                out.append(_new(Reason, (d.label, "duty", None, None, None, d.rule.action, state, done,
                                  None if done else "duty is a pre-condition and is not fulfilled")))
                active = active and done
            out.append(_new(Reason, (cr.label, "rule", None, None, None, None, None, active,
                              "permission grants the request" if active else "permission does not apply")))
            reports.append(_new(RuleReport, (cr.label, "permission", cr.rule.uid, cr.rule.action, active)))
            if active and permitted_by is None:
                permitted_by = cr.label
        prohibited_by = None
        for cr in self.prohibitions:
            active = self._premises(cr, req, world, action, out, possible)
            out.append(_new(Reason, (cr.label, "rule", None, None, None, None, None, not active,
                              "prohibition forbids the request" if active else "prohibition does not apply")))
            reports.append(_new(RuleReport, (cr.label, "prohibition", cr.rule.uid, cr.rule.action, active)))
            if active and prohibited_by is None:
                prohibited_by = cr.label
        violated = None
        for cr in self.obligations:
            for check in cr.constraints:
                check(req, world, out)
            state = _duty_state(cr, world)
            ok = state != "violated"
            out.append(_new(Reason, (cr.label, "obligation", None, None, None, cr.rule.action, state, ok,
                              None if ok else "obligation violated")))
            reports.append(_new(RuleReport, (cr.label, "obligation", cr.rule.uid, cr.rule.action, state != "fulfilled")))
            if not ok and violated is None:
                violated = cr.label
        if self.broken:
            out.append(_new(Reason, ("policy", "policy", None, None, None, None, None, False,
                              "the policy holds constraints that cannot be judged: " + "; ".join(self.broken))))
            return Decision(False, tuple(out), tuple(reports))
        if permitted_by is None:
            out.append(_new(Reason, ("policy", "policy", None, None, None, None, None, False,
                              "no permission grants the request")))
            permitted = False
        elif prohibited_by is not None and self.policy.conflict != "perm":
            out.append(_new(Reason, ("policy", "policy", None, None, None, None, None, False,
                              f"{prohibited_by} forbids what {permitted_by} grants; prohibitions win")))
            permitted = False
        elif violated is not None:
            out.append(_new(Reason, ("policy", "policy", None, None, None, None, None, False,
                              f"{violated} was violated")))
            permitted = False
        else:
            permitted = True
        return Decision(permitted, tuple(out), tuple(reports))


def compile_policy(policy: Policy) -> CompiledPolicy:
    return CompiledPolicy(policy)


def evaluate(policy: Policy | CompiledPolicy, request: Request, world: World, *, unknown: str = "deny") -> Decision:
    """Decide ``request`` against ``policy`` in ``world``. Never raises on a parsed policy; a policy is compiled
    on first use and the compiled form reused.

    ``unknown="deny"`` (the default, for negotiation and pulls) treats values missing from the request or world as
    failing a permission and upholding a prohibition. ``unknown="possible"`` asks whether the request *could* be
    permitted once those values are known — what the catalogue needs to decide which offers a requester sees
    before any purpose is declared: missing values and duties not yet fulfilled are given the benefit of the doubt;
    anything known to fail, and any unjudgeable constraint, still denies."""
    compiled = policy if isinstance(policy, CompiledPolicy) else policy.compiled
    return compiled.evaluate(request, world, unknown)
