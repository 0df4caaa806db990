"""The node's catalogue follows its publications incrementally: a worker that holds the catalogue of rows 1..R applies
only the rows after R, and the result is the catalogue a full replay of every row gives. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from catalog import CatalogView, Catalogue
from connector.catalog_service import CatalogService
from connector.catalog_store import DatasetVersion
from connector.clock import FixedClock
from connector.config import load_config
from connector.init_node import init_node
from connector.node import Node

LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
IDENTS = ("frequentation", "capacite", "emploi", "energie")


def _node(tmp_path: Path, url: str, clock: FixedClock) -> Node:
    d = init_node(tmp_path / "node", name="node", role="hub", port=1, roles=["national_hub"], database_url=url)
    return Node(load_config(d), clock)


def _worker(node: Node) -> Node:
    """Another process's view of the same node: its own engine on the same database."""
    return Node(load_config(node.config.path), node.clock)


def mapping(ident: str, n: int, dep: str = "34") -> dict[str, Any]:
    """Valid metadata; ``n`` changes the title, the keywords and the file, so each ``n`` is a new version."""
    return {
        "title": {"fr": f"Jeu {ident} n°{n}", "en": f"Dataset {ident} #{n}"},
        "description": {"fr": "Nuitées par mois.", "en": "Nights by month."},
        "themes": ["ECON"] if n % 2 else ["ECON", "REGI"],
        "keywords": {"fr": ["tourisme", f"v{n}"], "en": ["tourism"]},
        "spatial": [f"DEP-{dep}"], "frequency": "MONTHLY", "licence": LICENCE, "access_rights": "RESTRICTED",
        "contact": {"name": "Observatoire", "email": "obs@example.org"},
        "distributions": [{"identifier": "csv", "file_type": "CSV", "byte_size": 1000 + n,
                           "sha256": hashlib.sha256(f"{ident}-{n}".encode()).hexdigest()}],
        "offers": [{"@id": f"urn:passerelle:offer:{ident}:stats", "@type": "Offer",
                    "permission": [{"action": "use"}]}],
    }


def full(node: Node) -> Catalogue:
    """A full replay of every row, by a service that has never seen the node."""
    fresh = CatalogService(node)
    cat = fresh.catalogue()
    assert fresh.full_rebuilds == 1
    return cat


def same(a: Catalogue, b: Catalogue) -> None:
    assert a == b
    assert CatalogView(a).catalog_page().body == CatalogView(b).catalog_page().body


def test_many_publications_applied_incrementally_equal_a_full_replay(tmp_path: Path, db_factory: Any) -> None:
    clock = FixedClock(1_780_000_000)
    node = _node(tmp_path, db_factory(), clock)
    service = CatalogService(node)
    rnd = random.Random(3)
    counts = {i: 0 for i in IDENTS}
    recorded = 0
    for step in range(60):
        ident = rnd.choice(IDENTS)
        clock.advance(rnd.choice([1, 60, 86_400]))
        if counts[ident] and step % 7 == 0:  # the same metadata again: no new version, no row
            _, changed = service.publish(ident, mapping(ident, counts[ident]))
            assert not changed
        else:
            counts[ident] += 1
            ds, changed = service.publish(ident, mapping(ident, counts[ident]))
            assert changed and ds.version == counts[ident]
            recorded += 1
        if step % 10 == 9:
            same(service.catalogue(), full(node))
    cat = service.catalogue()
    same(cat, full(node))
    # built from no row, then from the first (the catalogue's creation date is its time); then only new rows
    assert service.full_rebuilds == 2
    assert service.revision == recorded
    for ident, n in counts.items():
        assert cat.datasets[ident].version == n == len(cat.versions(ident))
        assert [d.version for d in cat.versions(ident)] == list(range(1, n + 1))
        assert cat.datasets[ident].title["fr"] == f"Jeu {ident} n°{n}"
        if n > 1:
            assert cat.datasets[ident].previous_version == f"{cat.datasets[ident].iri}/versions/{n - 1}"


def test_rows_recorded_by_another_writer_are_applied_in_order(tmp_path: Path, db_factory: Any) -> None:
    """Rows written in bulk (as ``benchmarks/catalog_http.py`` does), several per dataset, taken in one refresh."""
    clock = FixedClock(1_780_000_000)
    node = _node(tmp_path, db_factory(), clock)
    service = CatalogService(node)
    service.publish("frequentation", mapping("frequentation", 1))
    assert service.catalogue().datasets["frequentation"].version == 1
    rebuilds = service.full_rebuilds
    with node.session() as s:
        for n in range(2, 6):
            for ident in ("frequentation", "capacite"):
                version = n if ident == "frequentation" else n - 1
                s.add(DatasetVersion(identifier=ident, version=version, mapping=json.dumps(mapping(ident, n)),
                                     published_at=clock.utcnow()))
        s.commit()
    cat = service.catalogue()
    assert cat.datasets["frequentation"].version == 5 and cat.datasets["capacite"].version == 4
    same(cat, full(node))
    assert service.full_rebuilds == rebuilds


def test_two_workers_on_one_database_converge(tmp_path: Path, db_factory: Any) -> None:
    clock = FixedClock(1_780_000_000)
    node = _node(tmp_path, db_factory(), clock)
    a, b = CatalogService(node), CatalogService(_worker(node))
    rnd = random.Random(11)
    counts = {i: 0 for i in IDENTS}
    for step in range(30):
        ident = rnd.choice(IDENTS)
        counts[ident] += 1
        clock.advance(3600)
        worker = a if step % 3 else b  # each one publishes new versions of datasets the other published too
        ds, changed = worker.publish(ident, mapping(ident, counts[ident]))
        assert changed and ds.version == counts[ident]
        if step % 5 == 4:
            same(a.catalogue(), b.catalogue())
    reference = full(node)
    same(a.catalogue(), reference)
    same(b.catalogue(), reference)
    assert a.full_rebuilds <= 2 and b.full_rebuilds <= 2
    assert a.revision == b.revision == 30
    b.node.engine.dispose()


def test_a_row_that_commits_late_below_the_cached_one_forces_a_full_replay(tmp_path: Path,
                                                                           db_factory: Any) -> None:
    """Ids are taken at insert and rows become visible at commit: on PostgreSQL, row 4 may commit after row 5. A
    worker that built from row 5 must not skip row 4: it counts the rows up to 5 and replays all when one is new."""
    clock = FixedClock(1_780_000_000)
    node = _node(tmp_path, db_factory(), clock)
    service = CatalogService(node)

    def add(row_id: int, ident: str, n: int, version: int) -> None:
        with node.session() as s:
            s.add(DatasetVersion(id=row_id, identifier=ident, version=version, mapping=json.dumps(mapping(ident, n)),
                                 published_at=clock.utcnow()))
            s.commit()
        clock.advance(60)

    for row_id, ident in ((1, "frequentation"), (2, "capacite"), (3, "emploi")):
        add(row_id, ident, 1, 1)
    add(5, "frequentation", 2, 2)
    assert service.catalogue().datasets["frequentation"].version == 2 and service.full_rebuilds == 1
    add(4, "energie", 1, 1)  # committed after row 5: the newest id did not move, nothing to see yet
    add(6, "capacite", 2, 2)
    cat = service.catalogue()
    assert service.full_rebuilds == 2 and "energie" in cat.datasets
    same(cat, full(node))
    add(7, "energie", 2, 2)
    same(service.catalogue(), full(node))
    assert service.full_rebuilds == 2


def test_a_changed_catalog_section_forces_a_full_replay(tmp_path: Path, db_factory: Any) -> None:
    clock = FixedClock(1_780_000_000)
    node = _node(tmp_path, db_factory(), clock)
    service = CatalogService(node)
    service.publish("frequentation", mapping("frequentation", 1))
    assert service.catalogue().title["fr"].startswith("Catalogue de")
    rebuilds = service.full_rebuilds
    node.config.model.catalog["title"] = {"fr": "Catalogue renommé", "en": "Renamed catalogue"}
    clock.advance(60)
    service.publish("frequentation", mapping("frequentation", 2))
    cat = service.catalogue()
    assert cat.title["fr"] == "Catalogue renommé" and service.full_rebuilds == rebuilds + 1
    same(cat, full(node))
