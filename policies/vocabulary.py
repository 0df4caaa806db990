"""Names: the ODRL 2.2 terms (from the bundled vocabulary table) and the data space's own terms.

Every IRI the rest of the package compares is normalised here once, so ``"use"``, ``"odrl:use"`` and
``"http://www.w3.org/ns/odrl/2/use"`` are the same action, and the action hierarchy (``includedIn`` plus the
``exactMatch`` of deprecated terms) is a precomputed set lookup.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

__all__ = [
    "ODRL", "XSD", "PASSERELLE", "PURPOSE", "ODRL_OPERATORS", "LOGICAL_OPERATORS", "PROJECT_LEFT_OPERANDS",
    "PURPOSE_PARENTS", "action_iri", "left_operand_iri", "operator_iri", "purpose_iri", "compact", "included_actions",
    "is_known_action", "action_info", "odrl_left_operands", "purpose_ancestors",
]

ODRL = "http://www.w3.org/ns/odrl/2/"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: namespace of the data space's own left operands (membershipRole, territory, organisation, cellSize)
PASSERELLE = "https://w3id.org/passerelle/odrl/"
#: namespace of the data space's purposes (the right operands of ``odrl:purpose``)
PURPOSE = "https://w3id.org/passerelle/purpose/"

ODRL_OPERATORS = frozenset(ODRL + o for o in (
    "eq", "neq", "lt", "lteq", "gt", "gteq", "isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf", "isNoneOf"))
LOGICAL_OPERATORS = ("and", "or", "xone", "andSequence")

#: our left operands, with what each reads (documented in docs/policies.md)
PROJECT_LEFT_OPERANDS = {
    PASSERELLE + "membershipRole": "roles of the requester's verified membership credential",
    PASSERELLE + "territory": "territory codes (REG-xx, DEP-xx, FR) of the requester's verified credential",
    PASSERELLE + "organisation": "organisation identifier (SIREN) of the requester's verified credential",
    PASSERELLE + "cellSize": "smallest number of contributing units per cell of the requested aggregate",
}

#: the purpose taxonomy ``isA`` walks: purpose → broader purpose
PURPOSE_PARENTS: dict[str, str] = {
    PURPOSE + "OfficialStatistics": PURPOSE + "Statistics",
    PURPOSE + "TourismIndicators": PURPOSE + "Statistics",
    PURPOSE + "Statistics": PURPOSE + "PublicInterest",
    PURPOSE + "PublicPolicy": PURPOSE + "PublicInterest",
    PURPOSE + "ScientificResearch": PURPOSE + "Research",
    PURPOSE + "Audit": PURPOSE + "PublicInterest",
}


@lru_cache(maxsize=1)
def _table() -> dict:
    text = resources.files("policies.vocab").joinpath("odrl22.json").read_text(encoding="utf-8")
    return json.loads(text)


def odrl_left_operands() -> frozenset[str]:
    """IRIs of every left operand the ODRL 2.2 vocabulary defines."""
    return frozenset(_table()["leftOperands"])


def is_known_action(iri: str) -> bool:
    return iri in _table()["actions"]


def action_info(iri: str) -> dict | None:
    """The vocabulary row of an action (``includedIn``, ``exactMatch``, ``deprecated``), or None."""
    return _table()["actions"].get(iri)


def _expand(term: str, namespace: str) -> str:
    """Full IRI for ``term``: absolute IRIs stay, ``odrl:x`` and bare ``x`` go to ``namespace``."""
    if term.startswith("odrl:"):
        return ODRL + term[5:]
    if "://" in term or term.startswith(("urn:", "did:")):
        return term
    if ":" in term:  # an unknown prefix: kept as written so it stays unknown (and denies)
        return term
    return namespace + term


@lru_cache(maxsize=4096)
def action_iri(term: str) -> str:
    """``use`` / ``odrl:use`` / full IRI → the ODRL IRI."""
    return _expand(term.strip(), ODRL)


@lru_cache(maxsize=4096)
def operator_iri(term: str) -> str:
    return _expand(term.strip(), ODRL)


@lru_cache(maxsize=4096)
def left_operand_iri(term: str) -> str:
    """Left operands: ODRL terms by name or ``odrl:`` prefix, ours by name, full IRI or ``passerelle:`` prefix."""
    term = term.strip()
    if term.startswith("passerelle:"):
        return PASSERELLE + term[len("passerelle:"):]
    if ":" not in term and PASSERELLE + term in PROJECT_LEFT_OPERANDS:
        return PASSERELLE + term
    return _expand(term, ODRL)


@lru_cache(maxsize=4096)
def purpose_iri(term: str) -> str:
    """A purpose: absolute IRI kept, ``purpose:X`` or bare ``X`` in the data space's purpose namespace."""
    term = term.strip()
    if term.startswith("purpose:"):
        return PURPOSE + term[len("purpose:"):]
    if "://" in term or term.startswith("urn:") or ":" in term:
        return term
    return PURPOSE + term


@lru_cache(maxsize=4096)
def purpose_ancestors(iri: str) -> tuple[str, ...]:
    """``iri`` then each broader purpose, nearest first."""
    out = [iri]
    while (parent := PURPOSE_PARENTS.get(out[-1])) is not None and parent not in out:
        out.append(parent)
    return tuple(out)


def compact(iri: str) -> str:
    """The short name used in the DSP compacted form: ``use`` for the one action the DSP context defines,
    ``odrl:x`` for other ODRL terms, full IRIs otherwise."""
    if iri == ODRL + "use":
        return "use"
    if iri.startswith(ODRL):
        return "odrl:" + iri[len(ODRL):]
    return iri


@lru_cache(maxsize=1)
def _parents() -> dict[str, tuple[str, ...]]:
    """action → direct broader actions (``includedIn`` and ``exactMatch``, both ways for exactMatch)."""
    parents: dict[str, set[str]] = {}
    for iri, row in _table()["actions"].items():
        parents.setdefault(iri, set()).update(row["includedIn"])
        for same in row["exactMatch"]:
            parents[iri].add(same)
            parents.setdefault(same, set()).add(iri)
    return {k: tuple(sorted(v)) for k, v in parents.items()}


@lru_cache(maxsize=4096)
def _ancestors(iri: str) -> frozenset[str]:
    seen = {iri}
    todo = [iri]
    parents = _parents()
    while todo:
        for p in parents.get(todo.pop(), ()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return frozenset(seen)


@lru_cache(maxsize=1024)
def included_actions(iri: str) -> frozenset[str]:
    """Every action a rule on ``iri`` covers: itself and all actions transitively ``includedIn`` it
    (``use`` covers ``aggregate``, ``reproduce``, ``distribute``…; ``reproduce`` covers ``extract``)."""
    out = {iri}
    for action in _parents():
        if iri in _ancestors(action):
            out.add(action)
    return frozenset(out)
