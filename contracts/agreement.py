"""The agreement model, and how a consumer checks that the agreement it received is the offer it asked for.

An agreement is the legal anchor every transfer refers to: which dataset (``target``), who grants (``assigner``,
the provider's participant id), who receives (``assignee``, the consumer's), under which rules, since when. DSP
says the consumer MUST refuse an agreement it cannot validate; :func:`agreement_problems` lists why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from policies import PolicyParseError, parse_policy
from policies.matching import canonical_rules

__all__ = [
    "Agreement", "POLICY_KEYS", "policy_of", "canonical_policy", "offer_matches", "agreement_problems",
    "format_timestamp", "parse_timestamp",
]

#: the parts of an ODRL offer/agreement that carry its meaning (ids, type, target and parties are compared apart)
POLICY_KEYS = ("permission", "prohibition", "obligation", "profile")

_ODRL_NS = "http://www.w3.org/ns/odrl/2/"
_SEQUENCED = {"andSequence"}  # order matters in these logical constraints; in and/or/xone it does not


def format_timestamp(moment: datetime) -> str:
    """xsd:dateTime in UTC with a ``Z``, to the second (the form the DSP examples use). Time is passed in."""
    if moment.tzinfo is None:
        raise ValueError("agreement timestamp must be timezone-aware")
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """Read an xsd:dateTime; a missing zone is read as UTC (the schema allows it, we do not guess otherwise)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def policy_of(offer_or_agreement: dict[str, Any]) -> dict[str, Any]:
    """Only the rule-bearing keys of an Offer/Agreement (no ``@id``, ``@type``, ``target``, parties, timestamp)."""
    return {k: offer_or_agreement[k] for k in POLICY_KEYS if k in offer_or_agreement}


def _term(value: Any) -> Any:
    """``odrl:use``, the full ODRL IRI and ``use`` are the same term; ``{"@id": x}`` is ``x``."""
    if isinstance(value, dict) and set(value) == {"@id"}:
        value = value["@id"]
    if isinstance(value, str):
        if value.startswith(_ODRL_NS):
            return value[len(_ODRL_NS):]
        if value.startswith("odrl:"):
            return value[5:]
    return value


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canon(value: Any, parent: str | None = None) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "@type" and parent in POLICY_KEYS + ("constraint",):
                continue  # rule/constraint @type adds nothing the position does not already say
            out[_term(k)] = _canon(v, k)
        return out
    if isinstance(value, list):
        items = [_canon(v, parent) for v in value]
        if parent in _SEQUENCED:
            return items
        return sorted(items, key=_key)  # a set of rules or constraints: order carries no meaning
    if parent in ("action", "leftOperand", "operator"):
        return _term(value)
    return value


def canonical_policy(offer_or_agreement: dict[str, Any]) -> dict[str, Any]:
    """A form in which two equivalent policies are equal: key and rule order ignored, ODRL terms unprefixed,
    a single ``profile`` string read as a one-item list."""
    policy = policy_of(offer_or_agreement)
    if isinstance(policy.get("profile"), str):
        policy["profile"] = [policy["profile"]]
    return _canon(policy)


def offer_matches(requested: dict[str, Any], provided: dict[str, Any]) -> bool:
    """Whether ``provided`` grants exactly the rules of ``requested`` (offer vs offer, or offer vs agreement).

    The single place where contracts decide policy equality. Rule equality is the ``policies`` package's canonical
    form (it also knows operand value types: a purpose as a word or as its IRI, typed or plain literals); the
    profile is compared here. A policy ``policies`` cannot read falls back to the stricter structural comparison.
    """
    mine, theirs = canonical_policy(requested), canonical_policy(provided)
    if mine.get("profile") != theirs.get("profile"):
        return False
    try:
        return (canonical_rules(parse_policy(policy_of(requested)))
                == canonical_rules(parse_policy(policy_of(provided))))
    except PolicyParseError:
        return mine == theirs


@dataclass(frozen=True)
class Agreement:
    """An ODRL Agreement as DSP carries it in ``ContractAgreementMessage.agreement``."""

    id: str
    target: str
    assigner: str
    assignee: str
    timestamp: datetime
    policy: dict[str, Any] = field(default_factory=dict)  # permission / prohibition / obligation / profile

    def __post_init__(self) -> None:
        problems = [f"{name} is empty" for name in ("id", "target", "assigner", "assignee")
                    if not isinstance(getattr(self, name), str) or not getattr(self, name)]
        if self.timestamp.tzinfo is None:
            problems.append("timestamp must be timezone-aware")
        if not (self.policy.get("permission") or self.policy.get("prohibition")):
            problems.append("an agreement needs at least one permission or prohibition")
        if problems:
            raise ValueError("invalid agreement: " + "; ".join(problems))

    @classmethod
    def from_offer(cls, agreement_id: str, offer: dict[str, Any], *, target: str, assigner: str, assignee: str,
                   timestamp: datetime) -> "Agreement":
        """The agreement a provider issues for the offer on the table (same rules, parties made explicit)."""
        return cls(agreement_id, target, assigner, assignee, timestamp, policy_of(offer))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Agreement":
        """Read the ``agreement`` object of a (validated) ContractAgreementMessage."""
        missing = [k for k in ("@id", "target", "assigner", "assignee", "timestamp") if not data.get(k)]
        if missing:
            raise ValueError("agreement lacks " + ", ".join(missing))
        return cls(data["@id"], data["target"], data["assigner"], data["assignee"],
                   parse_timestamp(data["timestamp"]), policy_of(data))

    def to_json(self) -> dict[str, Any]:
        """The compact 2025-1 form, keys in the order of the spec's example."""
        return {"@id": self.id, "@type": "Agreement", "target": self.target,
                "timestamp": format_timestamp(self.timestamp), "assigner": self.assigner,
                "assignee": self.assignee, **self.policy}


def agreement_problems(agreement: Agreement, offer: dict[str, Any], *, target: str | None = None,
                       provider_id: str | None = None, consumer_id: str | None = None) -> list[str]:
    """Why ``agreement`` is not the agreement to ``offer`` (empty when it is).

    ``target`` defaults to ``offer['target']``; the parties default to the offer's ``assigner``/``assignee``
    when it names them. A party we do not know is not checked.
    """
    problems: list[str] = []
    want_target = target or offer.get("target")
    if want_target is not None and agreement.target != want_target:
        problems.append(f"agreement target {agreement.target!r} is not the dataset requested ({want_target!r})")
    for role, got, want in (("assigner", agreement.assigner, provider_id or offer.get("assigner")),
                            ("assignee", agreement.assignee, consumer_id or offer.get("assignee"))):
        if want is not None and got != want:
            problems.append(f"agreement {role} {got!r} is not {want!r}")
    if not offer_matches(offer, agreement.policy):
        problems.append("agreement rules differ from the offer")
    return problems
