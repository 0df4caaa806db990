"""Publishing a dataset into a catalogue: validate everything, then record a new version (never overwrite).

The catalogue is immutable, so a refused publication leaves the previous version current by construction; the caller
(management API, ``passerelle publish``) stores the returned catalogue only on success.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Mapping

from .metadata import read_dataset
from .model import Catalogue, Dataset, version_iri
from .problems import MetadataError, Problem
from .validation import validate_dataset

__all__ = ["Publication", "publish"]


@dataclass(frozen=True)
class Publication:
    """The outcome of a publication: the new catalogue, the dataset version now current, and whether it changed."""

    catalogue: Catalogue
    dataset: Dataset
    changed: bool


def publish(catalogue: Catalogue, dataset: Dataset | Mapping[str, Any], *, now: datetime,
            identifier: str | None = None) -> Publication:
    """Publish ``dataset`` (a model object, or a config mapping with ``identifier``) at time ``now``.

    Raises :class:`MetadataError` with every problem when the metadata is invalid. Republishing identical metadata
    and files is a no-op (``changed`` False); any difference records version n+1 linked to version n.
    """
    if isinstance(dataset, Dataset):
        candidate, problems = dataset, []
    else:
        if not identifier:
            raise ValueError("publishing a mapping needs the dataset identifier")
        candidate, problems = read_dataset(identifier, dataset, catalogue)
    problems += [p for p in validate_dataset(candidate, catalogue) if not any(p.field == q.field for q in problems)]
    if problems:
        raise MetadataError(problems, f"metadata of dataset {candidate.identifier!r}")
    previous = catalogue.datasets.get(candidate.identifier)
    if previous is not None and previous.content_key() == candidate.content_key():
        return Publication(catalogue, previous, changed=False)
    if previous is not None and previous.iri != candidate.iri:
        raise MetadataError([_iri_changed(previous, candidate)], f"metadata of dataset {candidate.identifier!r}")
    version = previous.version + 1 if previous else 1
    current = replace(candidate, version=version,
                      previous_version=version_iri(previous.iri, previous.version) if previous else None,
                      issued=previous.issued if previous else now, modified=now)
    return Publication(catalogue.with_dataset(current, now), current, changed=True)


def _iri_changed(previous: Dataset, candidate: Dataset) -> Problem:
    return Problem("iri", "iri-changed", f"dataset {previous.identifier!r} is published as {previous.iri!r}; "
                                         f"a new version cannot move it to {candidate.iri!r}")
