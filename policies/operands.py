"""Left operands: where each one's actual value comes from, and how each operator compares it.

Every supported left operand has a *resolver* (request, world) → actual value (or :data:`MISSING`) and a *kind*
that fixes the operators it accepts. A constraint is compiled once into ``test(actual, world) -> bool``; an
unsupported operator or an unreadable right operand raises :class:`Unjudgeable` at compile time, which the evaluator
turns into a deny with the reason (fail closed).

Multi-valued actual values (a credential with several roles or territories) are sets; positive operators hold when
some value matches (``eq``, ``isA``, ``isAnyOf``, ``hasPart``), ``neq``/``isNoneOf``/``isPartOf`` need every value
to pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any, Callable

from policies import territory as territories
from policies.model import Constraint
from policies.values import Duration, add_duration, parse_date, parse_datetime, parse_duration
from policies.vocabulary import ODRL, PASSERELLE, XSD, purpose_ancestors, purpose_iri

__all__ = ["MISSING", "Unjudgeable", "OperandSpec", "OPERANDS", "compile_test", "Elapsed"]


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Unjudgeable(ValueError):
    """The constraint cannot be judged (unsupported operator, bad right operand)."""


@dataclass(frozen=True)
class Elapsed:
    """Actual value of ``elapsedTime``: from the agreement's start to now."""

    start: datetime
    now: datetime


Test = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class OperandSpec:
    name: str
    kind: str  # "datetime" | "integer" | "elapsed" | "term" | "purpose" | "territory"
    resolve: Callable[[Any, Any], Any]
    missing: str  # what the reason says when the value is absent


def _claim(*keys: str) -> Callable[[Any, Any], Any]:
    def resolve(req: Any, world: Any) -> Any:
        claims = req.claims
        for k in keys:
            v = claims.get(k)
            if v is not None:
                return v
        return MISSING
    return resolve


def _attr(name: str) -> Callable[[Any, Any], Any]:
    def resolve(req: Any, world: Any) -> Any:
        v = getattr(req, name)
        return MISSING if v is None else v
    return resolve


def _elapsed(req: Any, world: Any) -> Any:
    return MISSING if world.agreement_start is None else Elapsed(world.agreement_start, world.now)


def _cell_size(req: Any, world: Any) -> Any:
    v = req.parameters.get("cellSize", req.parameters.get(PASSERELLE + "cellSize"))
    return MISSING if v is None else v


OPERANDS: dict[str, OperandSpec] = {s.name: s for s in (
    OperandSpec(ODRL + "dateTime", "datetime", lambda req, world: world.now, "no current time"),
    OperandSpec(ODRL + "elapsedTime", "elapsed", _elapsed, "no agreement start time in the state of the world"),
    OperandSpec(ODRL + "count", "integer", lambda req, world: world.count + 1, "no use count"),
    OperandSpec(ODRL + "purpose", "purpose", _attr("purpose"), "no purpose in the request"),
    OperandSpec(ODRL + "spatial", "territory", _attr("spatial"), "no spatial value (territory) in the request"),
    OperandSpec(ODRL + "recipient", "term", lambda req, world: req.recipient or req.party, "no recipient"),
    OperandSpec(PASSERELLE + "membershipRole", "term", _claim("membershipRole", "roles", "role"),
                "no membership role among the verified claims"),
    OperandSpec(PASSERELLE + "territory", "territory", _claim("territory"), "no territory among the verified claims"),
    OperandSpec(PASSERELLE + "organisation", "term", _claim("organisation", "organization", "siren"),
                "no organisation among the verified claims"),
    OperandSpec(PASSERELLE + "cellSize", "integer", _cell_size, "no cellSize parameter in the request"),
)}

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "neq": lambda a, b: a != b, "lt": lambda a, b: a < b,
    "lteq": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gteq": lambda a, b: a >= b,
}


def _one(c: Constraint, op: str) -> Any:
    if c.right_is_list and len(c.right) != 1:
        raise Unjudgeable(f"operator {op} takes one right operand value, got {len(c.right)}")
    return c.right[0]


def _many(c: Constraint) -> list[Any]:
    return list(c.right)


def _int(v: Any) -> int:
    raw = v.value
    if isinstance(raw, bool) or isinstance(raw, float) and not raw.is_integer():
        raise Unjudgeable(f"not an integer: {raw!r}")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise Unjudgeable(f"not an integer: {raw!r}") from None


def _ordered(op: str, c: Constraint, parse: Callable[[Any], Any], actual: Callable[[Any], Any]) -> Test:
    if op in _ORDER:
        cmp, right = _ORDER[op], parse(_one(c, op))
        return lambda a, world: cmp(actual(a), right)
    if op in ("isAnyOf", "isNoneOf"):
        rights = {parse(v) for v in _many(c)}
        if op == "isAnyOf":
            return lambda a, world: actual(a) in rights
        return lambda a, world: actual(a) not in rights
    raise Unjudgeable(f"operator {op} does not apply to this left operand")


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _datetime_test(op: str, c: Constraint) -> Test:
    first = c.right[0]
    is_date = first.datatype == XSD + "date" or (first.datatype is None and isinstance(first.value, str)
                                                  and _DATE.match(first.value.strip()) is not None)

    def parse(v: Any) -> Any:
        try:
            return parse_date(v.value) if is_date else parse_datetime(v.value)
        except ValueError as e:
            raise Unjudgeable(str(e)) from None

    if is_date:
        return _ordered(op, c, parse, lambda a: _utc(a).astimezone(timezone.utc).date())
    return _ordered(op, c, parse, _utc)


def _elapsed_test(op: str, c: Constraint) -> Test:
    if op not in _ORDER:
        raise Unjudgeable(f"operator {op} does not apply to elapsedTime")
    try:
        d: Duration = parse_duration(_one(c, op).value)
    except ValueError as e:
        raise Unjudgeable(str(e)) from None
    cmp = _ORDER[op]
    # elapsed OP d  ⟺  now OP start + d  (adding a duration is monotone), so calendar months stay exact
    return lambda a, world: cmp(_utc(a.now), _utc(add_duration(a.start, d)))


def _as_set(a: Any, norm: Callable[[str], str]) -> frozenset[str]:
    if type(a) is str:
        return frozenset((norm(a),))
    if isinstance(a, (list, tuple, set, frozenset)):
        return frozenset(norm(str(x)) for x in a)
    return frozenset((norm(str(a)),))


def _term_test(op: str, c: Constraint, norm: Callable[[str], str],
               broader: Callable[[str, Any], tuple[str, ...]]) -> Test:
    if op in ("lt", "lteq", "gt", "gteq"):
        raise Unjudgeable(f"operator {op} does not apply to this left operand")
    rights = frozenset(norm(str(v.value)) for v in c.right)
    if op in ("eq", "neq", "isA"):
        r = norm(str(_one(c, op).value))
        if op == "eq":
            return lambda a, world: r in _as_set(a, norm)
        if op == "neq":
            return lambda a, world: r not in _as_set(a, norm)
        return lambda a, world: any(r in broader(x, world) for x in _as_set(a, norm))
    if op == "isAnyOf":
        return lambda a, world: not rights.isdisjoint(_as_set(a, norm))
    if op == "isNoneOf":
        return lambda a, world: rights.isdisjoint(_as_set(a, norm))
    if op in ("isAllOf", "hasPart"):
        return lambda a, world: rights <= _as_set(a, norm)
    if op == "isPartOf":
        return lambda a, world: all(not rights.isdisjoint(broader(x, world)) for x in _as_set(a, norm))
    raise Unjudgeable(f"unknown operator {op}")


def _member_broader(x: str, world: Any) -> tuple[str, ...]:
    return (x, *world.memberships.get(x, ()))


def _purpose_broader(x: str, world: Any) -> tuple[str, ...]:
    return purpose_ancestors(x)


def _territory_code(v: str) -> str:
    v = v.strip()
    if v != "FR" and territories.parse_code(v) is None:
        raise Unjudgeable(f"unknown territory code {v!r} (expected FR, REG-xx or DEP-xx)")
    return v


@lru_cache(maxsize=8192)
def _contains(outer: str, inner: str) -> bool:
    return territories.contains(outer, inner)


def _territory_test(op: str, c: Constraint) -> Test:
    if op in ("lt", "lteq", "gt", "gteq"):
        raise Unjudgeable(f"operator {op} does not apply to territories")
    rights = [_territory_code(str(v.value)) for v in c.right]
    contains = _contains

    def codes(a: Any) -> list[str]:
        if type(a) is str:
            return [a.strip()]
        return [str(x).strip() for x in a] if isinstance(a, (list, tuple, set, frozenset)) else [str(a).strip()]

    if op in ("eq", "neq"):
        r = _territory_code(str(_one(c, op).value))
        if op == "eq":
            return lambda a, world: r in codes(a)
        return lambda a, world: r not in codes(a)
    if op == "isAnyOf":
        rs = set(rights)
        return lambda a, world: not rs.isdisjoint(codes(a))
    if op == "isNoneOf":
        rs = set(rights)
        return lambda a, world: rs.isdisjoint(codes(a))
    if op == "isAllOf":
        rs = set(rights)
        return lambda a, world: rs <= set(codes(a))
    if op in ("isPartOf", "isA"):  # every actual territory lies within one of the right operand's
        return lambda a, world: all(any(contains(r, x) for r in rights) for x in codes(a))
    if op == "hasPart":  # some actual territory contains every right-operand territory
        return lambda a, world: any(all(contains(x, r) for r in rights) for x in codes(a))
    raise Unjudgeable(f"unknown operator {op}")


def _identity(x: str) -> str:
    return x


def compile_test(spec: OperandSpec, op_iri: str, c: Constraint) -> Test:
    """``test(actual, world) -> bool`` for constraint ``c``; raises :class:`Unjudgeable`."""
    if not op_iri.startswith(ODRL):
        raise Unjudgeable(f"unknown operator {op_iri!r}")
    op = op_iri[len(ODRL):]
    if not c.right:
        raise Unjudgeable("empty right operand")
    if spec.kind == "datetime":
        return _datetime_test(op, c)
    if spec.kind == "elapsed":
        return _elapsed_test(op, c)
    if spec.kind == "integer":
        return _ordered(op, c, _int, int)
    if spec.kind == "purpose":
        return _term_test(op, c, purpose_iri, _purpose_broader)
    if spec.kind == "territory":
        return _territory_test(op, c)
    return _term_test(op, c, _identity, _member_broader)
