"""The hub's federated catalogue: crawl every participant's DSP catalogue, keep the copies in the database, search.

The index itself is ``catalog.FederatedIndex`` (sans-IO); this module does the I/O around it:

- :class:`DbCatalogueStore` implements ``catalog.CatalogueStore`` over the ``federated_catalogue`` table and keeps
  the records in memory; a worker reloads them when another worker's crawl moved the table's revision.
- :func:`crawl_all` asks each active participant on the authority's list for its catalogue (``catalog/request``,
  following ``Link: rel="next"``) with a fresh self-issued token per request, several nodes at once. Pages whose
  sha256 equals the stored copy's are not parsed again; a node that cannot be reached, or answers with something
  that is not a catalogue, keeps its last copy, marked stale with the reason.

Scheduling: ``crawl_all(node)`` is the function the node's scheduler calls; nothing here starts a thread.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable

from sqlalchemy import func
from sqlmodel import select

from catalog import CatalogueParseError, FederatedIndex, Hit, IndexEntry, NodeRecord
from connector.catalog_store import FederatedCatalogueRow
from connector.node import Node

__all__ = ["DbCatalogueStore", "FederatedCatalogue", "CrawlResult", "crawl_all", "PAGE_SIZE"]

PAGE_SIZE = 500       # datasets per catalog/request page
MAX_PAGES = 200       # a node announcing more pages than this is cut off (and marked stale)
PARALLEL = 8          # nodes crawled at once
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


# -- persistence ------------------------------------------------------------------------------------------------------

def _entry_json(e: IndexEntry) -> dict[str, Any]:
    d = asdict(e)
    d["start"] = e.start.isoformat() if e.start else None
    d["end"] = e.end.isoformat() if e.end else None
    return d


def _entry_from(d: dict[str, Any]) -> IndexEntry:
    tuples = ("keywords", "themes", "spatial", "publisher_names")
    return IndexEntry(**{**d, **{k: tuple(d[k]) for k in tuples},
                         "start": date.fromisoformat(d["start"]) if d["start"] else None,
                         "end": date.fromisoformat(d["end"]) if d["end"] else None})


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=timezone.utc) if t is not None and t.tzinfo is None else t


class DbCatalogueStore:
    """``catalog.CatalogueStore`` over the ``federated_catalogue`` table, cached in memory per process."""

    def __init__(self, node: Node):
        self.node = node
        self._records: dict[str, NodeRecord] = {}
        self._revision: int | None = None
        self._lock = threading.Lock()
        self.reload()

    def db_revision(self) -> int:
        with self.node.session() as s:
            return int(s.exec(select(func.coalesce(func.sum(FederatedCatalogueRow.revision), 0))).one())

    def reload(self) -> bool:
        """Re-read the table if another process wrote to it since; True when it did."""
        rev = self.db_revision()
        if rev == self._revision:
            return False
        with self.node.session() as s:
            rows = list(s.exec(select(FederatedCatalogueRow)).all())
        records = {}
        for r in rows:
            records[r.node] = NodeRecord(r.node, r.participant_id, r.digest, r.etag, _aware(r.fetched_at),
                                         _aware(r.checked_at), r.stale, r.error,
                                         tuple(_entry_from(e) for e in json.loads(r.entries)))
        with self._lock:
            self._records, self._revision = records, rev
        return True

    def get(self, node: str) -> NodeRecord | None:
        return self._records.get(node)

    def put(self, record: NodeRecord) -> None:
        previous = self._records.get(record.node)
        entries_changed = previous is None or previous.entries is not record.entries
        with self.node.session() as s:
            row = s.get(FederatedCatalogueRow, record.node)
            if row is None:
                row = FederatedCatalogueRow(node=record.node, entries="[]", revision=0)
            row.participant_id, row.digest, row.etag = record.participant_id, record.digest, record.etag
            row.fetched_at, row.checked_at = record.fetched_at, record.checked_at
            row.stale, row.error = record.stale, record.error
            if entries_changed:  # an unchanged catalogue costs no re-serialisation either
                row.entries = json.dumps([_entry_json(e) for e in record.entries], ensure_ascii=False)
            row.revision = (row.revision or 0) + 1
            s.add(row)
            s.commit()
        with self._lock:
            self._records[record.node] = record
            if self._revision is not None:
                self._revision += 1

    def records(self) -> Iterable[NodeRecord]:
        return list(self._records.values())


# -- crawling ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CrawlResult:
    node: str
    ok: bool
    changed: bool
    datasets: int
    stale: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _fetch_pages(trust: Any, did: str) -> tuple[list[bytes], str | None]:
    """Every page of ``did``'s catalogue: (bodies, joined ETags). Raises ``PeerError`` on any failure."""
    from contracts.schemas import DSP_CONTEXT
    from connector.peers import PeerError
    import httpx
    url: str | None = f"{trust.peer_url(did)}/dsp/2025-1/catalog/request?offset=0&limit={PAGE_SIZE}"
    message = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}
    pages: list[bytes] = []
    etags: list[str] = []
    client = trust.peers._client
    base = trust.peer_url(did)
    while url is not None:
        if len(pages) >= MAX_PAGES:
            raise PeerError(f"more than {MAX_PAGES} pages")
        if not url.startswith(base + "/"):  # follow links only on the node's own origin
            raise PeerError(f"next page link leaves the participant's address: {url}")
        try:
            resp = client.post(url, json=message, headers={"Authorization": f"Bearer {trust.self_issued_token(did)}"})
        except httpx.HTTPError as e:
            raise PeerError(f"{type(e).__name__}: {e}") from None
        if resp.status_code != 200:
            raise PeerError(f"catalog/request answered {resp.status_code}", resp.status_code)
        pages.append(resp.content)
        etags.append(resp.headers.get("ETag", ""))
        m = _NEXT.search(resp.headers.get("Link", ""))
        url = m.group(1) if m else None
    return pages, ("|".join(etags) if all(etags) else None)


def crawl_all(node: Node, trust: Any = None, index: "FederatedCatalogue | None" = None) -> list[CrawlResult]:
    """Crawl every active participant on the authority's list (hub only) into the hub's federated catalogue."""
    if trust is None:
        from connector.trust import Trust
        trust = Trust(node)
    fed = index or FederatedCatalogue(node, trust)
    return fed.crawl()


class FederatedCatalogue:
    """The hub's federated index with its database store; one per worker process."""

    def __init__(self, node: Node, trust: Any, parallel: int = PARALLEL):
        self.node, self.trust, self.parallel = node, trust, parallel
        self._lock = threading.Lock()
        self.store = DbCatalogueStore(node)
        self.index = FederatedIndex(self.store)

    def _current(self) -> FederatedIndex:
        with self._lock:
            if self.store.reload():
                self.index = FederatedIndex(self.store)
            return self.index

    def participants(self) -> list[str]:
        lst = self.trust.participants()
        return sorted(did for did, p in lst.participants.items() if p.status == "active" and did != self.node.did)

    def crawl(self, dids: list[str] | None = None) -> list[CrawlResult]:
        from connector.identity import IdentityError
        from connector.peers import PeerError
        dids = self.participants() if dids is None else dids

        def fetch(did: str) -> tuple[str, Any]:
            try:
                return did, _fetch_pages(self.trust, did)
            except (PeerError, IdentityError) as e:
                return did, e

        with ThreadPoolExecutor(max_workers=max(1, min(self.parallel, len(dids) or 1))) as pool:
            fetched = list(pool.map(fetch, dids))
        results: list[CrawlResult] = []
        with self._lock:
            if self.store.reload():
                self.index = FederatedIndex(self.store)
            index = self.index
            for did, got in fetched:
                at = self.node.clock.utcnow()
                if isinstance(got, Exception):
                    index.mark_unreachable(did, at=at, error=str(got)[:500])
                    rec = index.store.get(did)
                    results.append(CrawlResult(did, False, False, len(rec.entries) if rec else 0, True, str(got)))
                    continue
                pages, _etags = got  # ETags are body digests; ingest compares the pages' sha256 itself
                try:
                    r = index.ingest(did, pages, at=at, etag=None)
                except CatalogueParseError as e:
                    rec = index.store.get(did)
                    results.append(CrawlResult(did, False, False, len(rec.entries) if rec else 0, True, str(e)))
                    continue
                results.append(CrawlResult(did, True, r.changed, r.datasets, False,
                                           "updated" if r.changed else "unchanged"))
        return results

    def search(self, text: str | None = None, **criteria: Any) -> list[Hit]:
        return self._current().search(text, **criteria)

    def nodes(self) -> list[NodeRecord]:
        return self._current().nodes()

    def nodes_summary(self) -> list[dict[str, Any]]:
        return [{"node": r.node, "participant_id": r.participant_id, "datasets": len(r.entries), "stale": r.stale,
                 "error": r.error, "fetched_at": r.fetched_at.isoformat() if r.fetched_at else None,
                 "checked_at": r.checked_at.isoformat() if r.checked_at else None} for r in self.nodes()]
