"""The hub's federated catalogue: an index of every participant's DSP catalogue, searchable without the network.

Pure: the crawler (in ``hub``/``connector``) fetches ``catalog/request`` pages and hands them here with the time of
the fetch. Unchanged catalogues (same ETag or same sha256 of the pages) are not parsed again; a node that cannot be
reached keeps its last copy, marked stale. Records live in a :class:`CatalogueStore` (in memory by default; the hub
may pass a persistent one), and the search indexes are rebuilt from it at start.

Spatial search works on NUTS codes, which nest by prefix (FR ⊃ FRJ ⊃ FRJ13): a query matches every dataset whose
coverage overlaps it, so a région finds its départements' datasets, and a département finds datasets covering its
région or all of France, but not a neighbouring département's.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Protocol, Sequence

from . import vocabularies as vocab

__all__ = ["IndexEntry", "NodeRecord", "CatalogueStore", "MemoryStore", "FederatedIndex", "IngestResult", "Hit",
           "CatalogueParseError", "parse_catalog_pages", "catalogue_digest"]

_THEME_BASE = vocab.AUTHORITY + "data-theme/"
_DCT = "http://purl.org/dc/terms/"
_DCAT = "http://www.w3.org/ns/dcat#"
_FOAF_NAME = "http://xmlns.com/foaf/0.1/name"


@dataclass(frozen=True)
class IndexEntry:
    """What the hub knows of one dataset of one node (read from its DSP catalogue)."""

    node: str
    dataset: str  # the dataset @id, what a negotiation targets
    identifier: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    keywords: tuple[str, ...]
    themes: tuple[str, ...]  # EU data-theme codes (or IRIs outside that table)
    spatial: tuple[str, ...]  # NUTS codes; "FR" for the whole country
    start: date | None
    end: date | None
    publisher: str | None  # publisher IRI
    publisher_names: tuple[str, ...]
    version: str | None
    offers: int


@dataclass(frozen=True)
class NodeRecord:
    """The last copy of a node's catalogue and the state of its crawl."""

    node: str
    participant_id: str | None
    digest: str | None
    etag: str | None
    fetched_at: datetime | None  # when the copy we hold was fetched
    checked_at: datetime | None  # last crawl attempt
    stale: bool
    error: str | None
    entries: tuple[IndexEntry, ...] = ()


class CatalogueStore(Protocol):
    """Where node records live between hub restarts."""

    def get(self, node: str) -> NodeRecord | None: ...

    def put(self, record: NodeRecord) -> None: ...

    def records(self) -> Iterable[NodeRecord]: ...


class MemoryStore:
    """A :class:`CatalogueStore` in a dict."""

    def __init__(self) -> None:
        self._records: dict[str, NodeRecord] = {}

    def get(self, node: str) -> NodeRecord | None:
        return self._records.get(node)

    def put(self, record: NodeRecord) -> None:
        self._records[record.node] = record

    def records(self) -> Iterable[NodeRecord]:
        return list(self._records.values())


class CatalogueParseError(ValueError):
    """A node sent something that is not a DSP catalogue; ``problems`` lists what is wrong."""

    def __init__(self, node: str, problems: list[str]):
        super().__init__(f"catalogue of {node} unreadable: " + "; ".join(problems))
        self.node, self.problems = node, problems


@dataclass(frozen=True)
class IngestResult:
    node: str
    changed: bool
    datasets: int
    digest: str


@dataclass(frozen=True)
class Hit:
    """A search result: the entry and whether its node's copy is stale."""

    entry: IndexEntry
    stale: bool


def catalogue_digest(pages: Sequence[bytes | str]) -> str:
    """sha256 over the pages, each length-prefixed so page boundaries count."""
    h = hashlib.sha256()
    for page in pages:
        data = page.encode("utf-8") if isinstance(page, str) else page
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


# -- reading compact DSP / DCAT JSON leniently ---------------------------------------------------------------------

def _get(node: Mapping[str, Any], prefix: str, local: str) -> Any:
    full = {"dct": _DCT, "dcat": _DCAT}[prefix] + local
    for key in (f"{prefix}:{local}", full, f"dcterms:{local}" if prefix == "dct" else local):
        if key in node:
            return node[key]
    return None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _texts(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in _list(value):
        if isinstance(v, str):
            out.setdefault("", v)
        elif isinstance(v, Mapping) and isinstance(v.get("@value"), str):
            out.setdefault(str(v.get("@language", "")), v["@value"])
    return out


def _ids(value: Any) -> list[str]:
    out = []
    for v in _list(value):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, Mapping) and isinstance(v.get("@id"), str):
            out.append(v["@id"])
    return out


def _day(value: Any) -> date | None:
    if isinstance(value, Mapping):
        value = value.get("@value")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _spatial_code(iri: str) -> str | None:
    if iri == vocab.COUNTRY_FRA:
        return "FR"
    if iri.startswith(vocab.NUTS_BASE):
        return iri[len(vocab.NUTS_BASE):]
    return None


def _entry(node: str, ds: Mapping[str, Any]) -> IndexEntry:
    temporal = next((t for t in _list(_get(ds, "dct", "temporal")) if isinstance(t, Mapping)), {})
    publisher = next((p for p in _list(_get(ds, "dct", "publisher")) if isinstance(p, Mapping)), {})
    names = _texts(publisher.get("foaf:name", publisher.get(_FOAF_NAME)))
    version = _get(ds, "dcat", "version")
    keywords = [w for w in _texts_all(_get(ds, "dcat", "keyword"))]
    ident = _get(ds, "dct", "identifier")
    return IndexEntry(
        node=node, dataset=str(ds["@id"]), identifier=str(ident) if isinstance(ident, str) else str(ds["@id"]),
        title=_texts(_get(ds, "dct", "title")), description=_texts(_get(ds, "dct", "description")),
        keywords=tuple(keywords),
        themes=tuple(i[len(_THEME_BASE):] if i.startswith(_THEME_BASE) else i for i in _ids(_get(ds, "dcat", "theme"))),
        spatial=tuple(c for c in (_spatial_code(i) for i in _ids(_get(ds, "dct", "spatial"))) if c),
        start=_day(_get(temporal, "dcat", "startDate")), end=_day(_get(temporal, "dcat", "endDate")),
        publisher=publisher.get("@id") if isinstance(publisher.get("@id"), str) else None,
        publisher_names=tuple(names.values()),
        version=str(version) if isinstance(version, (str, int)) else None,
        offers=len(_list(ds.get("hasPolicy"))),
    )


def _texts_all(value: Any) -> list[str]:
    out = []
    for v in _list(value):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, Mapping) and isinstance(v.get("@value"), str):
            out.append(v["@value"])
    return out


def _datasets(catalog: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for ds in _list(catalog.get("dataset")):
        if isinstance(ds, Mapping):
            yield ds
    for sub in _list(catalog.get("catalog")):
        if isinstance(sub, Mapping):
            yield from _datasets(sub)


def parse_catalog_pages(node: str, pages: Sequence[bytes | str]) -> tuple[str | None, list[IndexEntry]]:
    """(participantId, entries) of the DSP ``Catalog`` pages of one node; :class:`CatalogueParseError` if unreadable."""
    problems: list[str] = []
    entries: dict[str, IndexEntry] = {}
    participant = None
    for n, page in enumerate(pages):
        try:
            doc = json.loads(page)
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"page {n + 1}: not JSON ({exc})")
            continue
        if not isinstance(doc, Mapping) or doc.get("@type") not in ("Catalog", "dcat:Catalog"):
            problems.append(f"page {n + 1}: not a Catalog message")
            continue
        participant = participant or doc.get("participantId")
        for i, ds in enumerate(_datasets(doc)):
            if not isinstance(ds.get("@id"), str):
                problems.append(f"page {n + 1}: dataset {i} has no @id")
                continue
            entries[ds["@id"]] = _entry(node, ds)
    if problems:
        raise CatalogueParseError(node, problems)
    return participant, list(entries.values())


# -- search index ----------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[0-9a-z]+")


def _tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))


Key = tuple[str, str]  # (node, dataset @id)


@dataclass
class _Postings:
    by_token: dict[str, set[Key]] = field(default_factory=dict)
    sorted_tokens: list[str] | None = None

    def add(self, token: str, key: Key) -> None:
        bucket = self.by_token.get(token)
        if bucket is None:
            self.by_token[token] = bucket = set()
            self.sorted_tokens = None
        bucket.add(key)

    def remove(self, token: str, key: Key) -> None:
        bucket = self.by_token.get(token)
        if bucket is not None:
            bucket.discard(key)
            if not bucket:
                del self.by_token[token]
                self.sorted_tokens = None

    def prefixed(self, prefix: str) -> set[Key]:
        if self.sorted_tokens is None:
            self.sorted_tokens = sorted(self.by_token)
        out: set[Key] = set()
        i = bisect.bisect_left(self.sorted_tokens, prefix)
        while i < len(self.sorted_tokens) and self.sorted_tokens[i].startswith(prefix):
            out |= self.by_token[self.sorted_tokens[i]]
            i += 1
        return out


class FederatedIndex:
    """Every node's last catalogue copy, searchable by text, theme, spatial code, temporal range and publisher."""

    def __init__(self, store: CatalogueStore | None = None):
        self.store: CatalogueStore = store if store is not None else MemoryStore()
        self._entries: dict[Key, IndexEntry] = {}
        self._text = _Postings()
        self._themes: dict[str, set[Key]] = {}
        self._spatial: dict[str, set[Key]] = {}
        for record in self.store.records():
            self._add(record.entries)

    # -- crawl results -------------------------------------------------------------------------------------------------
    def ingest(self, node: str, pages: Sequence[bytes | str], *, at: datetime, etag: str | None = None,
               ) -> IngestResult:
        """Take the pages of ``node``'s catalogue fetched at ``at``; re-parse only when they changed.

        An unreadable catalogue keeps the previous copy (marked stale) and raises :class:`CatalogueParseError`.
        """
        record = self.store.get(node)
        digest = catalogue_digest(pages)
        if record is not None and (record.digest == digest or (etag is not None and etag == record.etag)):
            self.store.put(replace(record, checked_at=at, fetched_at=at, stale=False, error=None,
                                   etag=etag or record.etag))
            return IngestResult(node, False, len(record.entries), record.digest or digest)
        try:
            participant, entries = parse_catalog_pages(node, pages)
        except CatalogueParseError as exc:
            self.mark_unreachable(node, at=at, error=str(exc))
            raise
        if record is not None:
            self._remove(record.entries)
        self._add(entries)
        self.store.put(NodeRecord(node, participant, digest, etag, at, at, False, None, tuple(entries)))
        return IngestResult(node, True, len(entries), digest)

    def not_modified(self, node: str, *, at: datetime) -> None:
        """The node answered 304 to our ETag: the copy is current."""
        record = self.store.get(node)
        if record is not None:
            self.store.put(replace(record, checked_at=at, fetched_at=at, stale=False, error=None))

    def mark_unreachable(self, node: str, *, at: datetime, error: str) -> None:
        """The crawl of ``node`` failed: keep its last copy, mark it stale with the reason."""
        record = self.store.get(node) or NodeRecord(node, None, None, None, None, None, True, None)
        self.store.put(replace(record, checked_at=at, stale=True, error=error))

    def nodes(self) -> list[NodeRecord]:
        return sorted(self.store.records(), key=lambda r: r.node)

    def __len__(self) -> int:
        return len(self._entries)

    # -- index maintenance ---------------------------------------------------------------------------------------------
    @staticmethod
    def _words(e: IndexEntry) -> set[str]:
        text = " ".join([*e.title.values(), *e.description.values(), *e.keywords, e.identifier])
        return set(_tokens(text))

    def _add(self, entries: Iterable[IndexEntry]) -> None:
        for e in entries:
            key = (e.node, e.dataset)
            self._entries[key] = e
            for w in self._words(e):
                self._text.add(w, key)
            for t in e.themes:
                self._themes.setdefault(t, set()).add(key)
            for s in e.spatial:
                self._spatial.setdefault(s, set()).add(key)

    def _remove(self, entries: Iterable[IndexEntry]) -> None:
        for e in entries:
            key = (e.node, e.dataset)
            self._entries.pop(key, None)
            for w in self._words(e):
                self._text.remove(w, key)
            for t in e.themes:
                self._themes.get(t, set()).discard(key)
            for s in e.spatial:
                self._spatial.get(s, set()).discard(key)

    # -- search ----------------------------------------------------------------------------------------------------------
    @staticmethod
    def spatial_code(code: str) -> str:
        """NUTS code of a query: ``FR``, ``REG-76``, ``DEP-34`` or a NUTS code itself; ValueError when unknown."""
        code = code.strip()
        if code.upper() in ("FR", "FRA"):
            return "FR"
        nuts = vocab.nuts_code(code)
        if nuts:
            return nuts
        if re.fullmatch(r"FR[A-Z0-9]{1,3}", code.upper()):
            return code.upper()
        raise ValueError(f"unknown spatial code {code!r}: use FR, REG-<INSEE>, DEP-<INSEE> or a NUTS code")

    def search(self, text: str | None = None, *, theme: str | None = None, spatial: str | None = None,
               start: date | None = None, end: date | None = None, publisher: str | None = None,
               include_stale: bool = True) -> list[Hit]:
        """Datasets matching every given criterion, ordered by node then title.

        ``text``: every word must start a word of the title, description, keywords or identifier (accents and
        case ignored). ``theme``: an EU data-theme code. ``spatial``: coverage overlaps the territory.
        ``start``/``end``: temporal coverage overlaps [start, end]. ``publisher``: IRI, or part of a name.
        """
        keys: set[Key] | None = None

        def narrow(found: set[Key]) -> None:
            nonlocal keys
            keys = set(found) if keys is None else keys & found

        if text:
            for word in _tokens(text):
                narrow(self._text.prefixed(word))
        if theme:
            narrow(self._themes.get(theme.strip().upper(), set()))
        if spatial:
            q = self.spatial_code(spatial)
            found: set[Key] = set()
            for code, bucket in self._spatial.items():
                if code.startswith(q) or q.startswith(code):
                    found |= bucket
            narrow(found)
        candidates = self._entries.keys() if keys is None else keys
        stale = {r.node for r in self.store.records() if r.stale}
        folded = publisher.casefold() if publisher else None
        hits = []
        for key in candidates:
            e = self._entries[key]
            if start or end:
                if e.start is None and e.end is None:
                    continue
                if start and e.end and e.end < start:
                    continue
                if end and e.start and e.start > end:
                    continue
            if folded and not (e.publisher == publisher or any(folded in n.casefold() for n in e.publisher_names)):
                continue
            if not include_stale and e.node in stale:
                continue
            hits.append(Hit(e, e.node in stale))
        hits.sort(key=lambda h: (h.entry.node, h.entry.title.get("fr") or next(iter(h.entry.title.values()), ""),
                                 h.entry.dataset))
        return hits
