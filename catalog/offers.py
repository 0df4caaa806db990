"""Which of a dataset's offers a requester may see in the catalogue.

THE single place where the policy evaluator plugs into the catalogue (DESIGN §6, "catalogue" evaluation point).
An offer is shown when the requester *could* be permitted to ``use`` the data under it: the evaluator runs in its
"possible" mode, so what is only known at negotiation (purpose, counts) does not hide an offer, while what is already
known to fail (membership role, territory, validity dates) does. Denied decisions go to the requester's ``record``
callback with their reasons (the node writes them to its log). A dataset none of whose offers is visible is left out
of the catalogue and answers 404 to ``GET catalog/datasets/{id}`` (standards.md C-ENF-02).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime
from threading import Lock
from typing import Any, Callable, Mapping

from .model import Dataset

__all__ = ["Requester", "visible_offers", "with_assigner"]


@dataclass(frozen=True)
class Requester:
    """Who asks for the catalogue: participant DID and the claims of its verified membership credential."""

    participant_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # when the catalogue is asked for (the evaluator never reads a clock)
    record: Callable[[str, str, Any], None] | None = field(default=None, compare=False)


_COMPILED: "OrderedDict[int, tuple[Mapping[str, Any], Any]]" = OrderedDict()
_COMPILED_LOCK = Lock()


def _compiled(offer: Mapping[str, Any]) -> Any:
    """Parsed and compiled once per offer object (offers live in frozen datasets, so identity is stable)."""
    from policies import compile_policy, parse_policy
    key = id(offer)
    with _COMPILED_LOCK:
        hit = _COMPILED.get(key)
        if hit is not None and hit[0] is offer:
            _COMPILED.move_to_end(key)
            return hit[1]
    compiled = compile_policy(parse_policy(dict(offer)))
    with _COMPILED_LOCK:
        _COMPILED[key] = (offer, compiled)  # keeping the offer alive keeps its id from being reused
        while len(_COMPILED) > 20_000:
            _COMPILED.popitem(last=False)
    return compiled


def _narrower_actions(offer: Mapping[str, Any]) -> list[str]:
    return sorted({str(r.get("action")) for r in offer.get("permission") or []
                   if isinstance(r, Mapping) and isinstance(r.get("action"), str)} - {"use"})


def visible_offers(dataset: Dataset, requester: Requester | None) -> tuple[dict[str, Any], ...]:
    """The offers of ``dataset`` that ``requester`` could be granted; all of them when nobody is named.

    Returns ``dataset.offers`` itself when nothing is filtered out, which the DSP view uses as its fast path.
    An offer the evaluator cannot read is hidden (fail closed).
    """
    if requester is None or requester.participant_id is None or requester.at is None or not dataset.offers:
        return dataset.offers
    from policies import PolicyParseError, Request, World, evaluate
    request = Request(party=requester.participant_id, action="use", target=dataset.iri,
                      claims=requester.claims)
    world = World(now=requester.at)
    shown: list[dict[str, Any]] = []
    for offer in dataset.offers:
        try:
            decision = evaluate(_compiled(offer), request, world, unknown="possible")
            if not decision.permitted:  # a compute-to-data offer grants ``aggregate``, not ``use``
                for action in _narrower_actions(offer):
                    narrower = evaluate(_compiled(offer), replace(request, action=action), world, unknown="possible")
                    if narrower.permitted:
                        decision = narrower
                        break
        except PolicyParseError as e:
            decision = None
            if requester.record is not None:
                requester.record(dataset.identifier, str(offer.get("@id")), {"decision": "deny",
                                                                             "reasons": list(e.problems)})
        if decision is not None and decision.permitted:
            shown.append(offer)
        elif decision is not None and requester.record is not None:
            requester.record(dataset.identifier, str(offer.get("@id")), decision.to_dict())
    return dataset.offers if len(shown) == len(dataset.offers) else tuple(shown)


def with_assigner(offer: Mapping[str, Any], assigner: str) -> dict[str, Any]:
    """The offer as published: ``assigner`` set to the provider when absent (ODRL requires it), never a ``target``."""
    out = {k: v for k, v in offer.items() if k != "target"}
    out.setdefault("assigner", assigner)
    return out
