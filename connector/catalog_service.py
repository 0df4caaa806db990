"""The node's catalogue: built from its persisted publications, cached per process, brought up to date on change.

Publications are rows of ``dataset_version``; replaying them in id order through ``catalog.publish`` gives the same
catalogue in every worker. A worker checks the newest row id on each use (one indexed query). When it moved from R
to R', only rows R+1..R' are applied to the cached catalogue: ``publish`` is a pure function of the catalogue and
the row, so applying the new rows to the catalogue of rows 1..R is the same fold as a replay of 1..R'. The worker
replays everything instead when it has nothing cached (or built it from no row: the catalogue's creation date is
the first row's), when the ``[catalog]`` section changed, or when a row at or below R appeared since (a transaction
that committed after a later one; counted with one indexed query).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from typing import Any, Mapping

from sqlalchemy import func
from sqlmodel import select

from catalog import (Catalogue, CatalogView, Dataset, DcatApExport, MetadataError, Requester, catalogue_from_mapping,
                     publish)
from connector.catalog_store import DatasetVersion
from connector.config import catalogue_section
from connector.store.raw import Statement
from connector.node import Node

__all__ = ["CatalogService", "MetadataError", "requester_of"]

log = logging.getLogger(__name__)


def requester_of(caller: Any, at: Any = None, decisions: list[Any] | None = None) -> Requester | None:
    """The catalogue's view of an authenticated caller (``connector.trust.Caller``): DID and credential claims.

    ``catalog.visible_offers`` receives it; the claims are those the policy evaluator reads (membershipRole,
    territory, organisation).
    """
    if caller is None:
        return None
    return Requester(participant_id=caller.did, claims=caller.claims(), at=at,
                     record=(lambda ds, offer, decision: decisions.append((ds, offer, decision)))
                     if decisions is not None else None)


_NEWEST = Statement("SELECT max(id) FROM dataset_version")


class CatalogService:
    def __init__(self, node: Node):
        self.node = node
        self._lock = threading.Lock()  # the cached state below
        self._refreshing = threading.Lock()  # one refresh at a time: the others wait for it rather than redo it
        self._rev: int | None = -1  # the newest row the cached catalogue holds (None: built from no row)
        self._applied = 0  # how many rows it was built from
        self._section: str | None = None  # the [catalog] section it was built with
        self._catalogue: Catalogue | None = None
        self._view: CatalogView | None = None
        self._export: DcatApExport | None = None
        self.full_rebuilds = 0  # replays of every row since this service started (the others were incremental)

    def _revision(self) -> int | None:
        """The newest publication row: read on every catalogue use, so without queueing behind the node's writers."""
        with self.node.reader_engine.connect() as conn:
            row = _NEWEST.first(conn)
        return row[0] if row else None

    def _rebuild(self, rows: list[DatasetVersion]) -> Catalogue:
        created = rows[0].published_at if rows else datetime(2026, 1, 1, tzinfo=timezone.utc)
        return _apply(catalogue_from_mapping(catalogue_section(self.node.config), created), rows)

    def catalogue(self) -> Catalogue:
        rev = self._revision()
        with self._lock:
            if rev == self._rev and self._catalogue is not None:
                return self._catalogue
        with self._refreshing:
            with self._lock:
                cat, view, built, applied, section = (self._catalogue, self._view, self._rev, self._applied,
                                                      self._section)
            if cat is not None and built == rev:  # brought up to date while this thread waited
                return cat
            cat, built, applied, section = self._refresh(cat, built, applied, section)
            view = CatalogView(cat, previous=view)  # serialises only the datasets that changed
            with self._lock:
                self._catalogue, self._view, self._export = cat, view, None
                self._rev, self._applied, self._section = built, applied, section
        return cat

    def _refresh(self, cat: Catalogue | None, built: int | None, applied: int,
                 section: str | None) -> tuple[Catalogue, int | None, int, str]:
        """The catalogue with every row, from the cached one when it can be extended; and its row, count, section."""
        current = json.dumps(catalogue_section(self.node.config), sort_keys=True, default=str)
        with self.node.session() as s:
            if cat is not None and built is not None and built > 0 and applied > 0 and section == current:
                known = s.exec(select(func.count()).select_from(DatasetVersion)
                               .where(DatasetVersion.id <= built)).one()  # type: ignore[arg-type]
                if known == applied:
                    rows = list(s.exec(select(DatasetVersion).where(DatasetVersion.id > built)  # type: ignore[arg-type]
                                       .order_by(DatasetVersion.id)).all())
                    return _apply(cat, rows), (rows[-1].id if rows else built), applied + len(rows), section
                log.warning("catalogue: %d publication rows up to id %d, %d applied; replaying all", known, built,
                            applied)
            rows = list(s.exec(select(DatasetVersion).order_by(DatasetVersion.id)).all())
        self.full_rebuilds += 1
        return self._rebuild(rows), (rows[-1].id if rows else None), len(rows), current

    @property
    def revision(self) -> int:
        """The publication row the cached catalogue was built from (0: nothing published yet)."""
        return self._rev or 0

    def export(self) -> DcatApExport:
        """The DCAT-AP 3.0.1 export, built once per catalogue revision (Turtle and JSON-LD computed on demand)."""
        cat = self.catalogue()
        with self._lock:
            if self._export is None or self._export.catalogue is not cat:
                self._export = DcatApExport(cat)
            return self._export

    def versions(self) -> list[dict[str, Any]]:
        """Every recorded publication, grouped by dataset, newest version last."""
        with self.node.session() as s:
            rows = list(s.exec(select(DatasetVersion).order_by(DatasetVersion.identifier,
                                                               DatasetVersion.version)).all())
        cat = self.catalogue()
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            entry = out.setdefault(r.identifier, {"identifier": r.identifier, "versions": []})
            entry["versions"].append({"version": r.version, "published_at": _aware(r.published_at).isoformat()})
        for ident, entry in out.items():
            ds = cat.datasets.get(ident)
            entry["current"] = ds.version if ds else None
            entry["iri"] = ds.iri if ds else None
            entry["title"] = dict(ds.title) if ds else {}
        return list(out.values())

    def view(self) -> CatalogView:
        self.catalogue()
        assert self._view is not None
        return self._view

    def dataset(self, identifier: str) -> Dataset | None:
        return self.catalogue().datasets.get(identifier)

    def find_offer(self, dataset_id: str, offer_id: str) -> tuple[Dataset, dict[str, Any]] | None:
        """The current dataset (by local identifier or IRI) and its offer with ``@id`` ``offer_id``."""
        cat = self.catalogue()
        ds = cat.datasets.get(dataset_id) or next((d for d in cat.datasets.values() if d.iri == dataset_id), None)
        if ds is None:
            return None
        offer = next((o for o in ds.offers if o.get("@id") == offer_id), None)
        return (ds, offer) if offer is not None else None

    def publish(self, identifier: str, mapping: Mapping[str, Any], *, session: Any = None) -> tuple[Dataset, bool]:
        """Validate and record a new version; raises ``MetadataError`` listing every problem, leaving the current
        version published. Returns the current dataset and whether a new version was recorded."""
        now = self.node.clock.utcnow()
        current = self.catalogue()
        result = publish(current, dict(mapping), now=now, identifier=identifier)
        if not result.changed:
            return result.dataset, False
        row = DatasetVersion(identifier=identifier, version=result.dataset.version,
                             mapping=json.dumps(dict(mapping), default=str, sort_keys=True), published_at=now)
        own = session is None
        s = session or self.node.session()
        try:
            s.add(row)
            if own:
                s.commit()
            else:
                s.flush()
        finally:
            if own:
                s.close()
        return result.dataset, True


def _apply(cat: Catalogue, rows: list[DatasetVersion]) -> Catalogue:
    """``cat`` with ``rows`` published in order, as each was recorded (its mapping, time and identifier)."""
    for row in rows:
        cat = publish(cat, json.loads(row.mapping), now=_aware(row.published_at), identifier=row.identifier).catalogue
    return cat


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
