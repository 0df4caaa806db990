"""The DSP 2025-1 view of the catalogue: ``Catalog``, ``Dataset`` and ``CatalogError`` messages, paginated.

Messages are plain compacted JSON of the shapes the 2025-1 schemas fix (no JSON-LD processing here). A
:class:`CatalogView` serialises every dataset once when it is built; answering a request only selects the visible
offers, slices the page and joins pre-serialised fragments, so the hot path neither walks the model nor runs pyld.
DCAT metadata travels next to the DSP terms with the ``dct:``/``dcat:``/``xsd:`` prefixes of the DSP context; the few
terms of other vocabularies (foaf, vcard, spdx, adms) are written as absolute IRIs, because the 2025-1 context schema
only admits context URLs in ``@context``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

from contracts.schemas import DSP_CONTEXT, validation_errors

from . import vocabularies as vocab
from .model import Agent, Catalogue, ContactPoint, Dataset, Distribution
from .offers import Requester, visible_offers, with_assigner

__all__ = ["CATALOG_CONTEXT", "FOAF", "VCARD", "SPDX", "ADMS", "CatalogView", "CatalogPage", "CatalogRequest", "CatalogRequestError",
           "catalog_error", "read_catalog_request", "page_params", "page_links", "dataset_node", "dumps",
           "DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE"]

CATALOG_CONTEXT: list[Any] = [DSP_CONTEXT]
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
SPDX = "http://spdx.org/rdf/terms#"
ADMS = "http://www.w3.org/ns/adms#"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
IANA = "https://www.iana.org/assignments/media-types/"


def dumps(obj: Any) -> str:
    """Compact JSON as sent on the wire (UTF-8, no spaces)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _texts(value: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"@value": text, "@language": lang} for lang, text in sorted(value.items()) if text]


def _agent(agent: Agent) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": FOAF + "Agent", FOAF + "name": _texts(agent.name)}
    if agent.iri:
        node = {"@id": agent.iri, **node}
    return node


def _contact(contact: ContactPoint) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": VCARD + "Organization", VCARD + "fn": contact.name}
    if contact.email:
        node[VCARD + "hasEmail"] = {"@id": contact.email if contact.email.startswith("mailto:") else
                                  f"mailto:{contact.email}"}
    if contact.url:
        node[VCARD + "hasURL"] = {"@id": contact.url}
    return node


def _date(value: Any, type_: str) -> dict[str, str]:
    return {"@value": value.isoformat(), "@type": type_}


def _distribution(d: Distribution, dataset: Dataset) -> dict[str, Any]:
    node: dict[str, Any] = {"@id": f"{dataset.iri}/distributions/{d.identifier}", "@type": "Distribution",
                            "format": d.transfer_format, "accessService": d.access_service}
    if d.title:
        node["dct:title"] = _texts(d.title)
    media = d.media_type or vocab.media_type_of(d.file_type)
    if media:
        node["dcat:mediaType"] = {"@id": IANA + media}
    if d.byte_size is not None:
        node["dcat:byteSize"] = {"@value": str(d.byte_size), "@type": "xsd:nonNegativeInteger"}
    if d.sha256:
        node[SPDX + "checksum"] = {"@type": SPDX + "Checksum", SPDX + "algorithm": {"@id": SPDX + "checksumAlgorithm_sha256"},
                                 SPDX + "checksumValue": {"@value": d.sha256, "@type": "xsd:hexBinary"}}
    if d.licence or dataset.licence:
        node["dct:license"] = {"@id": d.licence or dataset.licence}
    return node


def dataset_node(dataset: Dataset, catalogue: Catalogue, offers: Iterable[Mapping[str, Any]] | None = None,
                 ) -> dict[str, Any]:
    """The compact DSP ``Dataset`` object (without ``@context``) for ``dataset`` with these offers."""
    d = dataset
    node: dict[str, Any] = {"@id": d.iri, "@type": "Dataset", "dct:identifier": d.identifier,
                            "dct:title": _texts(d.title), "dct:description": _texts(d.description)}
    keywords = [{"@value": w, "@language": lang} for lang, words in sorted(d.keywords.items()) for w in words]
    if keywords:
        node["dcat:keyword"] = keywords
    if d.themes:
        node["dcat:theme"] = [{"@id": vocab.concept_iri("data-theme", t)} for t in d.themes]
    spatial = [p for p in (vocab.place_concept(c) for c in d.spatial) if p]
    if spatial:
        node["dct:spatial"] = [{"@id": iri} for iri, _ in spatial]
    if d.temporal is not None:
        period: dict[str, Any] = {"@type": "dct:PeriodOfTime"}
        if d.temporal.start:
            period["dcat:startDate"] = _date(d.temporal.start, "xsd:date")
        if d.temporal.end:
            period["dcat:endDate"] = _date(d.temporal.end, "xsd:date")
        node["dct:temporal"] = period
    if d.temporal_resolution:
        node["dcat:temporalResolution"] = {"@value": d.temporal_resolution, "@type": "xsd:duration"}
    if d.frequency:
        node["dct:accrualPeriodicity"] = {"@id": vocab.concept_iri("frequency", d.frequency)}
    if d.publisher:
        node["dct:publisher"] = _agent(d.publisher)
    if d.contact_point:
        node["dcat:contactPoint"] = _contact(d.contact_point)
    if d.licence:
        node["dct:license"] = {"@id": d.licence}
    if d.access_rights:
        node["dct:accessRights"] = {"@id": vocab.concept_iri("access-right", d.access_rights)}
    if d.conforms_to:
        node["dct:conformsTo"] = [{"@id": iri} for iri in d.conforms_to]
    if d.landing_page:
        node["dcat:landingPage"] = {"@id": d.landing_page}
    node["dcat:version"] = str(d.version)
    if d.previous_version:
        node["dcat:previousVersion"] = {"@id": d.previous_version}
    if d.version_notes:
        node[ADMS + "versionNotes"] = _texts(d.version_notes)
    if d.issued:
        node["dct:issued"] = _date(d.issued, "xsd:dateTime")
    if d.modified:
        node["dct:modified"] = _date(d.modified, "xsd:dateTime")
    chosen = d.offers if offers is None else tuple(offers)
    if chosen:
        node["hasPolicy"] = [with_assigner(o, catalogue.participant_id) for o in chosen]
    node["distribution"] = [_distribution(x, d) for x in d.distributions]
    return node


def _service_node(service) -> dict[str, Any]:
    return {"@id": service.iri, "@type": "DataService", "endpointURL": service.endpoint_url,
            "dct:title": _texts(service.title), "dct:conformsTo": {"@id": service.conforms_to}}


class CatalogRequestError(Exception):
    """A catalog request that fails: HTTP ``status`` and the ``CatalogError`` body that goes with it."""

    def __init__(self, status: int, code: str, reasons: list[str]):
        super().__init__(f"{status} {code}: {'; '.join(reasons)}")
        self.status, self.code, self.reasons = status, code, reasons

    @property
    def body(self) -> dict[str, Any]:
        return catalog_error(self.code, self.reasons)


def catalog_error(code: str, reasons: Iterable[str]) -> dict[str, Any]:
    """A ``CatalogError`` message (dsp.md §8: every catalog error carries one)."""
    return {"@context": [DSP_CONTEXT], "@type": "CatalogError", "code": code, "reason": list(reasons)}


@dataclass(frozen=True)
class CatalogRequest:
    """A parsed ``CatalogRequestMessage`` (we support no filter: an empty list or none)."""

    filter: tuple[Any, ...] = ()


def read_catalog_request(body: bytes | str | Mapping[str, Any]) -> CatalogRequest:
    """Parse and check a ``CatalogRequestMessage``; :class:`CatalogRequestError` (400) lists every problem."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CatalogRequestError(400, "BAD_REQUEST", [f"body is not JSON: {exc}"]) from None
    problems = validation_errors(body, "CatalogRequestMessage")
    if isinstance(body, Mapping) and body.get("@type") != "CatalogRequestMessage":
        problems = problems or [f"@type must be CatalogRequestMessage, not {body.get('@type')!r}"]
    if problems:
        raise CatalogRequestError(400, "BAD_REQUEST", problems)
    filters = body.get("filter") or []  # type: ignore[union-attr]
    if filters:
        raise CatalogRequestError(400, "UNSUPPORTED_FILTER",
                                  ["catalog filters are not supported: send no filter or an empty list"])
    return CatalogRequest()


def page_params(query: Mapping[str, str], default_limit: int = DEFAULT_PAGE_SIZE,
                max_limit: int = MAX_PAGE_SIZE) -> tuple[int, int]:
    """``(offset, limit)`` from the query string of a paginated catalog request; 400 when malformed."""
    problems, values = [], {}
    for key, default in (("offset", 0), ("limit", default_limit)):
        raw = query.get(key)
        if raw is None:
            values[key] = default
            continue
        try:
            values[key] = int(raw)
        except (TypeError, ValueError):
            problems.append(f"{key} must be an integer, not {raw!r}")
            continue
    if not problems:
        if values["offset"] < 0:
            problems.append("offset must be ≥ 0")
        if not 1 <= values["limit"] <= max_limit:
            problems.append(f"limit must be between 1 and {max_limit}")
    if problems:
        raise CatalogRequestError(400, "BAD_PAGE", problems)
    return values["offset"], values["limit"]


def page_links(url: str, offset: int, limit: int, total: int) -> list[str]:
    """``Link`` header values (RFC 8288) for the neighbours of a page: rel="next" unless last, "previous" unless first."""
    links = []
    if offset + limit < total:
        links.append(f'<{url}?{urlencode({"offset": offset + limit, "limit": limit})}>; rel="next"')
    if offset > 0:
        links.append(f'<{url}?{urlencode({"offset": max(0, offset - limit), "limit": limit})}>; rel="previous"')
    return links


@dataclass(frozen=True)
class CatalogPage:
    """One answer to ``catalog/request``: the UTF-8 body, its ``Link`` header values, and the slice it holds."""

    body: bytes
    links: list[str]
    offset: int
    limit: int
    total: int

    def message(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Fragments:
    """One dataset's JSON, pre-encoded: the full object, and the parts to rebuild it with fewer offers."""

    head: bytes  # the dataset object up to (excluding) hasPolicy, without its closing brace
    offers: dict[str, bytes]  # offer @id → JSON
    tail: bytes  # b',"distribution":[…]}'
    full: bytes  # the whole object with every offer


class CatalogView:
    """The DSP view of one catalogue, serialised once; build a new view when the catalogue changes.

    ``previous``: the view of an earlier state of the same catalogue, whose serialised datasets are reused where the
    dataset object is the same (catalogues are immutable, so an unchanged dataset is the very same object), so a new
    publication costs one dataset's serialisation, not the whole catalogue's.
    """

    def __init__(self, catalogue: Catalogue, previous: "CatalogView | None" = None):
        self.catalogue = catalogue
        cat = catalogue
        head: dict[str, Any] = {"@context": CATALOG_CONTEXT, "@id": cat.iri, "@type": "Catalog",
                                "participantId": cat.participant_id, "dct:title": _texts(cat.title),
                                "dct:description": _texts(cat.description), "dct:publisher": _agent(cat.publisher)}
        if cat.homepage:
            head[FOAF + "homepage"] = {"@id": cat.homepage}
        if cat.modified:
            head["dct:modified"] = _date(cat.modified, "xsd:dateTime")
        head["service"] = [_service_node(s) for s in cat.services]
        self._head = dumps(head)[:-1].encode("utf-8")
        self._context = dumps(CATALOG_CONTEXT).encode("utf-8")
        self._order = sorted(cat.datasets)
        reuse = previous is not None and previous.catalogue.participant_id == cat.participant_id
        before = previous.catalogue.datasets if previous is not None and reuse else {}
        self._fragments = {ident: previous._fragments[ident]  # type: ignore[union-attr]
                           if before.get(ident) is cat.datasets[ident] else self._fragment(cat.datasets[ident])
                           for ident in self._order}

    def _fragment(self, dataset: Dataset) -> _Fragments:
        node = dataset_node(dataset, self.catalogue)
        offers = node.pop("hasPolicy", [])
        distribution = node.pop("distribution")
        head = dumps(node)[:-1].encode("utf-8")
        tail = (',"distribution":' + dumps(distribution) + "}").encode("utf-8")
        by_id = {o["@id"]: dumps(o).encode("utf-8") for o in offers}
        full = head + b',"hasPolicy":[' + b",".join(by_id.values()) + b"]" + tail
        return _Fragments(head, by_id, tail, full)

    def _dataset_json(self, ident: str, requester: Requester | None) -> bytes | None:
        dataset = self.catalogue.datasets[ident]
        frag = self._fragments[ident]
        offers = visible_offers(dataset, requester)
        if offers is dataset.offers:
            return frag.full
        if not offers:
            return None
        return frag.head + b',"hasPolicy":[' + b",".join(frag.offers[o["@id"]] for o in offers) + b"]" + frag.tail

    def catalog_page(self, requester: Requester | None = None, offset: int = 0, limit: int | None = None,
                     url: str | None = None) -> CatalogPage:
        """The ``Catalog`` message for datasets [offset, offset+limit) of those ``requester`` sees.

        ``url`` is the absolute URL of ``catalog/request``; when given (and ``limit`` is set) the page carries
        ``Link`` values to its neighbours. Without ``limit`` the whole catalogue is one page.
        """
        visible = [j for j in (self._dataset_json(i, requester) for i in self._order) if j is not None]
        total = len(visible)
        end = total if limit is None else offset + limit
        chosen = visible[offset:end]
        body = self._head + (b',"dataset":[' + b",".join(chosen) + b"]}" if chosen else b"}")
        links = page_links(url, offset, limit, total) if url and limit is not None else []
        return CatalogPage(body, links, offset, limit if limit is not None else total, total)

    def dataset_body(self, key: str, requester: Requester | None = None) -> bytes:
        """The ``Dataset`` message for a dataset id or IRI; :class:`CatalogRequestError` 404 when unknown or hidden."""
        dataset = self.catalogue.dataset(key)
        frag = self._dataset_json(dataset.identifier, requester) if dataset is not None else None
        if frag is None:
            raise CatalogRequestError(404, "UNKNOWN_DATASET", [f"no dataset {key!r} in this catalog"])
        return b'{"@context":' + self._context + b"," + frag[1:]

    def catalog_message(self, requester: Requester | None = None) -> dict[str, Any]:
        return self.catalog_page(requester).message()

    def dataset_message(self, key: str, requester: Requester | None = None) -> dict[str, Any]:
        return json.loads(self.dataset_body(key, requester))
