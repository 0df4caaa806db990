"""The ODRL 2.2 information model, as immutable values with every IRI already normalised.

Policies are frozen dataclasses of tuples, so they hash, compare by value and can be shared between threads; the
evaluator compiles each one once (see :mod:`policies.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Union

__all__ = ["Value", "Constraint", "LogicalConstraint", "MalformedConstraint", "AnyConstraint", "Rule", "Policy",
           "POLICY_TYPES", "RULE_KINDS"]

POLICY_TYPES = ("Set", "Offer", "Agreement")
RULE_KINDS = ("permission", "prohibition", "obligation", "duty")


@dataclass(frozen=True)
class Value:
    """One right-operand value as written: a JSON scalar, its ``@type`` (full IRI) if typed, or an IRI (``@id``)."""

    value: Any
    datatype: str | None = None
    iri: bool = False


@dataclass(frozen=True)
class Constraint:
    """An atomic constraint ``leftOperand operator rightOperand`` (IRIs normalised)."""

    left_operand: str
    operator: str
    right: tuple[Value, ...]
    right_is_list: bool = False
    unit: str | None = None
    datatype: str | None = None
    uid: str | None = None


@dataclass(frozen=True)
class LogicalConstraint:
    """``and`` / ``or`` / ``xone`` / ``andSequence`` over other constraints."""

    operator: str
    constraints: tuple["AnyConstraint", ...]
    uid: str | None = None


@dataclass(frozen=True)
class MalformedConstraint:
    """A constraint that could not be read: kept so evaluation denies with these problems (fail closed)."""

    problems: tuple[str, ...]
    uid: str | None = None


AnyConstraint = Union[Constraint, LogicalConstraint, MalformedConstraint]


@dataclass(frozen=True)
class Rule:
    """A permission, prohibition, obligation or duty. ``action`` None means the rule names no action (it then covers
    every action, as the ODRL test suite reads it; the validator refuses such a policy)."""

    kind: str
    action: str | None
    constraints: tuple[AnyConstraint, ...] = ()
    refinements: tuple[AnyConstraint, ...] = ()  # on the action, judged against the request
    duties: tuple["Rule", ...] = ()  # permission: duty (pre-condition); prohibition: remedy; duty: consequence
    target: str | None = None
    assignee: str | None = None
    assigner: str | None = None
    uid: str | None = None
    # a PartyCollection / AssetCollection narrowed by a refinement: members of ``assignee`` / ``target`` (any party
    # or asset when that is None) for which these constraints hold, judged against the request
    target_refinements: tuple[AnyConstraint, ...] = ()
    assignee_refinements: tuple[AnyConstraint, ...] = ()


@dataclass(frozen=True)
class Policy:
    """An ODRL policy (Set, Offer or Agreement); policy-level target/assigner/assignee are already propagated to
    the rules by the parser, and kept here too for serialisation."""

    type: str
    uid: str | None
    permissions: tuple[Rule, ...] = ()
    prohibitions: tuple[Rule, ...] = ()
    obligations: tuple[Rule, ...] = ()
    target: str | None = None
    assigner: str | None = None
    assignee: str | None = None
    profile: tuple[str, ...] = ()
    conflict: str | None = None
    timestamp: str | None = None
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False)  # other top-level keys, kept verbatim

    @cached_property
    def compiled(self) -> Any:
        """The evaluator's compiled form, built on first use and kept with the policy."""
        from policies.evaluate import compile_policy
        return compile_policy(self)
