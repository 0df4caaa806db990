"""The DCAT model of a node's catalogue, independent of any wire form.

The DSP catalog messages (``dsp_views``) and the DCAT-AP graph (``dcat_ap``) are two renderings of these objects.
Objects are frozen: publishing returns a new :class:`Catalogue`, so a view built from one catalogue never changes
under a reader and the previous version stays intact when a publication is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Mapping

__all__ = ["Agent", "ContactPoint", "PeriodOfTime", "DataService", "Distribution", "Dataset", "Catalogue",
           "DSP_2025_1", "HTTP_PULL"]

#: what a DSP DataService conforms to (our convention, standards.md §3.3)
DSP_2025_1 = "https://w3id.org/dspace/2025/1"
#: the transfer type our distributions are served with (DSP ``Distribution.format``)
HTTP_PULL = "HttpData-PULL"

LangText = Mapping[str, str]


@dataclass(frozen=True)
class Agent:
    """A publisher: a name per language, an optional IRI and ADMS publisher type (``RegionalAuthority``…)."""

    name: LangText
    iri: str | None = None
    type: str | None = None
    homepage: str | None = None


@dataclass(frozen=True)
class ContactPoint:
    """Who answers questions about a dataset (an organisation's desk, not a person)."""

    name: str
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class PeriodOfTime:
    """Temporal coverage; either bound may be open."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class DataService:
    """The node's DSP endpoint (``endpoint_url`` is the versioned DSP base)."""

    iri: str
    endpoint_url: str
    title: LangText
    conforms_to: str = DSP_2025_1


@dataclass(frozen=True)
class Distribution:
    """One published file of a dataset, served through a data service by the transfer type ``transfer_format``."""

    identifier: str
    file_type: str  # EU file-type code: PARQUET, CSV, XLSX…
    access_service: str  # IRI of a DataService of the catalogue
    byte_size: int | None = None
    sha256: str | None = None
    media_type: str | None = None  # IANA; derived from file_type when None
    title: LangText = field(default_factory=dict)
    transfer_format: str = HTTP_PULL
    licence: str | None = None  # the dataset's when None


@dataclass(frozen=True)
class Dataset:
    """A dataset at one version; ``iri`` is stable across versions, ``version_iri`` names this version."""

    identifier: str
    iri: str
    title: LangText
    description: LangText
    publisher: Agent | None = None
    contact_point: ContactPoint | None = None
    themes: tuple[str, ...] = ()  # EU data-theme codes
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # language → keywords
    spatial: tuple[str, ...] = ()  # "FR", "REG-76", "DEP-34"
    temporal: PeriodOfTime | None = None
    temporal_resolution: str | None = None  # ISO 8601 duration, e.g. P1W
    frequency: str | None = None  # EU frequency code
    licence: str | None = None
    access_rights: str | None = None  # EU access-right code
    conforms_to: tuple[str, ...] = ()
    landing_page: str | None = None
    distributions: tuple[Distribution, ...] = ()
    offers: tuple[dict[str, Any], ...] = ()  # ODRL offers in DSP compact form, without target
    version: int = 1
    version_notes: LangText = field(default_factory=dict)
    previous_version: str | None = None
    issued: datetime | None = None
    modified: datetime | None = None

    @property
    def version_iri(self) -> str:
        return version_iri(self.iri, self.version)

    def content_key(self) -> "Dataset":
        """This dataset without its version bookkeeping: equal keys mean a republication changes nothing."""
        return replace(self, version=1, previous_version=None, issued=None, modified=None)


def version_iri(dataset_iri: str, version: int) -> str:
    return f"{dataset_iri}/versions/{version}"


@dataclass(frozen=True)
class Catalogue:
    """A node's catalogue: its current datasets and every version published before."""

    iri: str
    participant_id: str
    title: LangText
    description: LangText
    publisher: Agent
    services: tuple[DataService, ...]
    homepage: str | None = None
    contact_point: ContactPoint | None = None
    dataset_base: str = ""  # dataset IRI = dataset_base + identifier
    defaults: Mapping[str, Any] = field(default_factory=dict)  # dataset keys inherited from the [catalog] section
    datasets: Mapping[str, Dataset] = field(default_factory=dict)  # identifier → current version
    history: Mapping[str, tuple[Dataset, ...]] = field(default_factory=dict)  # identifier → versions, oldest first
    issued: datetime | None = None
    modified: datetime | None = None

    def dataset(self, key: str) -> Dataset | None:
        """The current dataset by identifier or by IRI (DSP clients may send either)."""
        found = self.datasets.get(key)
        if found is not None:
            return found
        if self.dataset_base and key.startswith(self.dataset_base):
            return self.datasets.get(key[len(self.dataset_base):])
        return next((d for d in self.datasets.values() if d.iri == key), None)

    def versions(self, identifier: str) -> tuple[Dataset, ...]:
        return self.history.get(identifier, ())

    def service(self, iri: str) -> DataService | None:
        return next((s for s in self.services if s.iri == iri), None)

    def with_dataset(self, dataset: Dataset, now: datetime) -> "Catalogue":
        """A new catalogue where ``dataset`` is the current version of its identifier (history appended)."""
        datasets = dict(self.datasets)
        datasets[dataset.identifier] = dataset
        history = dict(self.history)
        history[dataset.identifier] = self.history.get(dataset.identifier, ()) + (dataset,)
        return replace(self, datasets=datasets, history=history, modified=now, issued=self.issued or now)
