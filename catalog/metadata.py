"""Reading catalogue and dataset metadata from a node's TOML config or a JSON call (plain mappings).

Config shape (all keys documented in docs/catalog.md)::

    [catalog]                      # -> catalogue_from_mapping
    participant_id = "did:web:campings.example"
    endpoint_url = "https://campings.example/dsp/2025-1"
    title = { fr = "…", en = "…" }
    description = { fr = "…", en = "…" }
    publisher = { name = "…", iri = "https://…", type = "NonProfitOrganisation" }
    contact = { name = "…", email = "…" }
    licence = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"   # default for datasets
    access_rights = "RESTRICTED"                                            # default for datasets

    [datasets.campings-reservations]  # -> dataset_from_mapping("campings-reservations", …)
    title = { fr = "…", en = "…" }
    …

Reading never stops at the first problem: :func:`read_dataset` returns the dataset it could build together with
every problem met, and :func:`validate_metadata` adds the model checks of ``catalog.validation``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

from .model import Agent, Catalogue, ContactPoint, DataService, Dataset, Distribution, PeriodOfTime
from .problems import MetadataError, Problem
from .validation import is_http_iri, is_iri, validate_dataset

__all__ = ["DATASET_KEYS", "DISTRIBUTION_KEYS", "CATALOG_KEYS", "INHERITED_KEYS", "read_dataset",
           "dataset_from_mapping", "validate_metadata", "catalogue_from_mapping"]

#: keys of a dataset section (anything else is reported as unknown, to catch typos)
DATASET_KEYS = frozenset({
    "iri", "title", "description", "publisher", "contact", "themes", "keywords", "spatial", "temporal",
    "temporal_resolution", "frequency", "licence", "access_rights", "conforms_to", "landing_page", "distributions",
    "offers", "version_notes",
})
DISTRIBUTION_KEYS = frozenset({"identifier", "file_type", "media_type", "byte_size", "sha256", "access_service",
                               "title", "transfer_format", "licence"})
#: dataset keys a [catalog] section may give once for all datasets
INHERITED_KEYS = ("publisher", "contact", "licence", "access_rights", "spatial", "themes", "frequency")
CATALOG_KEYS = frozenset({"iri", "participant_id", "endpoint_url", "title", "description", "publisher", "contact",
                          "homepage", "dataset_base", "service_title", *INHERITED_KEYS})


class _Reader:
    """Collects problems while turning loosely typed config values into model values."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, field: str, code: str, message: str) -> None:
        self.problems.append(Problem(field, code, message))

    def text(self, field: str, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, str):
            self.bad(field, "bad-type", f"give {field} per language, e.g. {field}.fr and {field}.en")
            return {}
        if not isinstance(value, Mapping):
            self.bad(field, "bad-type", f"{field} is a table of language → text")
            return {}
        out = {}
        for lang, text in value.items():
            if isinstance(text, str):
                out[str(lang)] = text
            else:
                self.bad(f"{field}.{lang}", "bad-type", f"{field}.{lang} is a string, not {type(text).__name__}")
        return out

    def string(self, field: str, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self.bad(field, "bad-type", f"{field} is a string, not {type(value).__name__}")
        return None

    def strings(self, field: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, (list, tuple)):
            self.bad(field, "bad-type", f"{field} is a list of strings")
            return ()
        out = []
        for i, v in enumerate(value):
            if isinstance(v, str):
                out.append(v)
            else:
                self.bad(f"{field}[{i}]", "bad-type", f"{field}[{i}] is a string, not {type(v).__name__}")
        return tuple(out)

    def day(self, field: str, value: Any) -> date | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.bad(field, "bad-date", f"{field} is a date such as 2024-01-01, not {value!r}")
        return None

    def agent(self, field: str, value: Any) -> Agent | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.bad(field, "bad-type", f"{field} is a table with name, iri and type")
            return None
        name = value.get("name")
        names = {"fr": name} if isinstance(name, str) else self.text(f"{field}.name", name)
        return Agent(name=names, iri=self.string(f"{field}.iri", value.get("iri")),
                     type=self.string(f"{field}.type", value.get("type")),
                     homepage=self.string(f"{field}.homepage", value.get("homepage")))

    def contact(self, field: str, value: Any) -> ContactPoint | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.bad(field, "bad-type", f"{field} is a table with name and email or url")
            return None
        return ContactPoint(name=self.string(f"{field}.name", value.get("name")) or "",
                            email=self.string(f"{field}.email", value.get("email")),
                            url=self.string(f"{field}.url", value.get("url")))

    def unknown_keys(self, field: str, value: Mapping[str, Any], allowed: frozenset[str]) -> None:
        for key in value:
            if key not in allowed:
                prefix = f"{field}." if field else ""
                self.bad(f"{prefix}{key}", "unknown-key", f"unknown key {key!r} (expected one of {', '.join(sorted(allowed))})")


def _keywords(r: _Reader, value: Any) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if isinstance(value, (list, tuple, str)):
        return {"fr": r.strings("keywords", value)}
    if not isinstance(value, Mapping):
        r.bad("keywords", "bad-type", "keywords is a table of language → list of words")
        return {}
    return {str(lang): r.strings(f"keywords.{lang}", words) for lang, words in value.items()}


def _distributions(r: _Reader, value: Any, default_service: str) -> tuple[Distribution, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        r.bad("distributions", "bad-type", "distributions is a list of tables")
        return ()
    out = []
    for i, item in enumerate(value):
        f = f"distributions[{i}]"
        if not isinstance(item, Mapping):
            r.bad(f, "bad-type", f"{f} is a table")
            continue
        r.unknown_keys(f, item, DISTRIBUTION_KEYS)
        size = item.get("byte_size")
        out.append(Distribution(
            identifier=r.string(f"{f}.identifier", item.get("identifier")) or
                       f"{str(item.get('file_type') or 'file').lower()}",
            file_type=r.string(f"{f}.file_type", item.get("file_type")) or "",
            access_service=r.string(f"{f}.access_service", item.get("access_service")) or default_service,
            byte_size=size,
            sha256=r.string(f"{f}.sha256", item.get("sha256")),
            media_type=r.string(f"{f}.media_type", item.get("media_type")),
            title=r.text(f"{f}.title", item.get("title")),
            transfer_format=r.string(f"{f}.transfer_format", item.get("transfer_format")) or "HttpData-PULL",
            licence=r.string(f"{f}.licence", item.get("licence")),
        ))
    return tuple(out)


def _offers(r: _Reader, value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        r.bad("offers", "bad-type", "offers is a list of ODRL offers in DSP compact form")
        return ()
    return tuple(dict(o) if isinstance(o, Mapping) else o for o in value)  # type: ignore[misc]


def read_dataset(identifier: str, mapping: Mapping[str, Any], catalogue: Catalogue | None = None,
                 ) -> tuple[Dataset, list[Problem]]:
    """Build a dataset from a config section, with the problems met reading it (types, unknown keys).

    Keys absent from the section are taken from the catalogue's ``defaults`` (the ``[catalog]`` section).
    """
    r = _Reader()
    if not isinstance(mapping, Mapping):
        r.bad("(dataset)", "bad-type", "dataset metadata is a table of keys")
        mapping = {}
    r.unknown_keys("", mapping, DATASET_KEYS)
    defaults: Mapping[str, Any] = catalogue.defaults if catalogue else {}
    m = {**{k: v for k, v in defaults.items() if k in INHERITED_KEYS}, **mapping}
    base = catalogue.dataset_base if catalogue else ""
    default_service = catalogue.services[0].iri if catalogue and catalogue.services else ""
    temporal = None
    t = m.get("temporal")
    if t is not None:
        if isinstance(t, Mapping):
            temporal = PeriodOfTime(r.day("temporal.start", t.get("start")), r.day("temporal.end", t.get("end")))
        else:
            r.bad("temporal", "bad-type", "temporal is a table with start and end dates")
    dataset = Dataset(
        identifier=identifier,
        iri=r.string("iri", m.get("iri")) or f"{base}{identifier}",
        title=r.text("title", m.get("title")),
        description=r.text("description", m.get("description")),
        publisher=r.agent("publisher", m.get("publisher")),
        contact_point=r.contact("contact", m.get("contact")),
        themes=r.strings("themes", m.get("themes")),
        keywords=_keywords(r, m.get("keywords")),
        spatial=r.strings("spatial", m.get("spatial")),
        temporal=temporal,
        temporal_resolution=r.string("temporal_resolution", m.get("temporal_resolution")),
        frequency=r.string("frequency", m.get("frequency")),
        licence=r.string("licence", m.get("licence")),
        access_rights=r.string("access_rights", m.get("access_rights")),
        conforms_to=r.strings("conforms_to", m.get("conforms_to")),
        landing_page=r.string("landing_page", m.get("landing_page")),
        distributions=_distributions(r, m.get("distributions"), default_service),
        offers=_offers(r, m.get("offers")),
        version_notes=r.text("version_notes", m.get("version_notes")),
    )
    return dataset, r.problems


def validate_metadata(metadata: Mapping[str, Any] | Dataset, catalogue: Catalogue | None = None,
                      identifier: str | None = None) -> list[Problem]:
    """Every problem of a dataset's metadata, given as a config mapping or as a model object."""
    if isinstance(metadata, Dataset):
        return validate_dataset(metadata, catalogue)
    dataset, problems = read_dataset(identifier or str(metadata.get("identifier", "dataset")) if
                                     isinstance(metadata, Mapping) else "dataset", metadata, catalogue)
    seen = {(p.field, p.code) for p in problems}
    return problems + [p for p in validate_dataset(dataset, catalogue) if (p.field, p.code) not in seen
                       and not any(p.field == q.field for q in problems)]


def dataset_from_mapping(identifier: str, mapping: Mapping[str, Any], catalogue: Catalogue | None = None) -> Dataset:
    """The dataset described by ``mapping``, or :class:`MetadataError` listing every problem."""
    dataset, problems = read_dataset(identifier, mapping, catalogue)
    problems += [p for p in validate_dataset(dataset, catalogue) if not any(p.field == q.field for q in problems)]
    if problems:
        raise MetadataError(problems, f"metadata of dataset {identifier!r}")
    return dataset


def catalogue_from_mapping(mapping: Mapping[str, Any], now: datetime | None = None) -> Catalogue:
    """An empty catalogue from a node's ``[catalog]`` section, or :class:`MetadataError` listing every problem."""
    r = _Reader()
    if not isinstance(mapping, Mapping):
        raise MetadataError([Problem("catalog", "bad-type", "[catalog] is a table of keys")], "[catalog] section")
    r.unknown_keys("catalog", mapping, CATALOG_KEYS)
    participant = r.string("catalog.participant_id", mapping.get("participant_id"))
    endpoint = r.string("catalog.endpoint_url", mapping.get("endpoint_url"))
    if not is_iri(participant):
        r.bad("catalog.participant_id", "missing", "missing participant_id (the node's DID, did:web:…)")
    if not is_http_iri(endpoint):
        r.bad("catalog.endpoint_url", "missing", "missing endpoint_url (the node's versioned DSP base URL)")
    endpoint = (endpoint or "").rstrip("/")
    title = r.text("catalog.title", mapping.get("title"))
    description = r.text("catalog.description", mapping.get("description"))
    for key, value in (("title", title), ("description", description)):
        for lang in ("fr", "en"):
            if not value.get(lang):
                r.bad(f"catalog.{key}.{lang}", "missing", f"missing {'French' if lang == 'fr' else 'English'} {key}")
    publisher = r.agent("catalog.publisher", mapping.get("publisher"))
    if publisher is None or not publisher.name:
        r.bad("catalog.publisher", "missing", "missing publisher (name, iri, type)")
    iri = r.string("catalog.iri", mapping.get("iri")) or f"{endpoint}/catalog"
    base = r.string("catalog.dataset_base", mapping.get("dataset_base")) or f"{endpoint}/catalog/datasets/"
    service_title = r.text("catalog.service_title", mapping.get("service_title")) or {
        "fr": "Point d'accès Dataspace Protocol 2025-1", "en": "Dataspace Protocol 2025-1 endpoint"}
    homepage = r.string("catalog.homepage", mapping.get("homepage"))
    if homepage is not None and not is_http_iri(homepage):
        r.bad("catalog.homepage", "bad-iri", f"{homepage!r} is not an http(s) URL")
    contact = r.contact("catalog.contact", mapping.get("contact"))
    if r.problems:
        raise MetadataError(r.problems, "[catalog] section")
    defaults = {k: mapping[k] for k in INHERITED_KEYS if k in mapping}
    return Catalogue(iri=iri, participant_id=participant or "", title=title, description=description,
                     publisher=publisher or Agent({}), homepage=homepage, contact_point=contact,
                     services=(DataService(iri=endpoint, endpoint_url=endpoint, title=service_title),),
                     dataset_base=base, defaults=defaults, issued=now, modified=now)
