"""Which of a dataset's offers a requester may see in the catalogue.

THE single place where the policy evaluator plugs into the catalogue (DESIGN §6, "catalogue" evaluation point).
Until ``policies`` provides the evaluator, every requester sees every offer. When it lands, filter here: keep an
offer when the evaluator permits the requester to see it (membership role, territory from the verified credential),
and record the decision with its reasons. A dataset none of whose offers is visible is left out of the catalogue and
answers 404 to ``GET catalog/datasets/{id}`` (standards.md C-ENF-02).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .model import Dataset

__all__ = ["Requester", "visible_offers", "with_assigner"]


@dataclass(frozen=True)
class Requester:
    """Who asks for the catalogue: participant DID and the claims of its verified membership credential."""

    participant_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


def visible_offers(dataset: Dataset, requester: Requester | None) -> tuple[dict[str, Any], ...]:
    """The offers of ``dataset`` that ``requester`` sees (today: all of them; the evaluator is not plugged in yet).

    Returns ``dataset.offers`` itself when nothing is filtered out, which the DSP view uses as its fast path.
    """
    return dataset.offers


def with_assigner(offer: Mapping[str, Any], assigner: str) -> dict[str, Any]:
    """The offer as published: ``assigner`` set to the provider when absent (ODRL requires it), never a ``target``."""
    out = {k: v for k, v in offer.items() if k != "target"}
    out.setdefault("assigner", assigner)
    return out
