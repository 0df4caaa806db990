"""Helpers of the node-side audit tests: enrolling auditors, calling a node as a member, pinned keys."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest

from connector.audit import COSIGNATURE_V1, NoteVerifier, query
from connector.audit_node import audit_verifiers, witness_name
from connector.audit_service import audit_origin
from connector.identity.did import parse_did_document
from connector.testing import LiveNode, LiveSpace


def add_auditor(space: LiveSpace, name: str, scope: list[str]) -> LiveNode:
    """A participant whose credential carries the role ``auditor`` and ``auditScope`` = ``scope``."""
    live = space.add(name, roles=["auditor"], enrol=False)
    hub = space.nodes["hub"]
    r = hub.api("POST", "/api/members", {"did": live.did, "legal_name": f"{name} (audit)", "siren": "552100554",
                                         "roles": ["auditor"], "audit_scope": scope})
    assert r.status_code == 201, r.text
    r = live.api("POST", "/api/membership/refresh")
    assert r.status_code == 200, r.text
    return live


def call(caller: LiveNode, callee: LiveNode, method: str, path: str, **kw: Any) -> httpx.Response:
    """A request from ``caller`` to ``callee`` with a fresh self-issued token (SI token + membership)."""
    token = caller.trust.self_issued_token(callee.did)
    return httpx.request(method, callee.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)


def pinned_keys(node: LiveNode, hub: LiveNode) -> list[NoteVerifier]:
    """What an auditor pins: the node's audit key and the hub's witness key, read from their DID documents."""
    doc = parse_did_document(httpx.get(node.url + "/.well-known/did.json").content, node.did)
    hub_doc = parse_did_document(httpx.get(hub.url + "/.well-known/did.json").content, hub.did)
    return [*audit_verifiers(doc, audit_origin(node.node)),
            *audit_verifiers(hub_doc, witness_name(hub.url), COSIGNATURE_V1)]


def entries(node: LiveNode, **filters: Any) -> list[dict[str, Any]]:
    with node.node.session() as s:
        return query(s, **filters)


def engines() -> list[Any]:
    from connector.testing import engines_under_test
    return [pytest.param(e, marks=pytest.mark.pg) for e in engines_under_test()]


class PgSchemas:
    """Fresh PostgreSQL schemas (one per node) on PASSERELLE_TEST_PG, dropped at the end."""

    def __init__(self) -> None:
        self.base = os.environ["PASSERELLE_TEST_PG"]
        self.made: list[str] = []

    def _engine(self) -> Any:
        from sqlalchemy import create_engine
        from connector.store import normalise_url
        return create_engine(normalise_url(self.base))

    def make(self) -> str:
        from sqlalchemy import text
        schema = "t_" + uuid.uuid4().hex[:12]
        eng = self._engine()
        with eng.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        eng.dispose()
        self.made.append(schema)
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        from sqlalchemy import text
        eng = self._engine()
        with eng.begin() as c:
            for schema in self.made:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


# -- a small exchange ------------------------------------------------------------------------------------------------
OPEN_OFFER = {"@id": "urn:offer:open", "@type": "Offer", "permission": [{"action": "use"}]}


def publish(live: LiveNode, identifier: str, offers: list[dict[str, Any]]) -> str:
    mapping = {"title": {"fr": "Fréquentation des campings", "en": "Campsite attendance"},
               "description": {"fr": "Nuitées par semaine", "en": "Nights per week"}, "themes": ["ECON"],
               "contact": {"name": "Observatoire", "url": "https://example.org/contact"}, "spatial": ["FR"],
               "frequency": "WEEKLY", "licence": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
               "access_rights": "RESTRICTED",
               "distributions": [{"identifier": "parquet", "file_type": "PARQUET", "byte_size": 10,
                                  "sha256": "0" * 64}],
               "offers": offers}
    dataset, _ = live.app.config["CATALOG"].publish(identifier, mapping)
    return dataset.iri


def negotiate(consumer: LiveNode, provider: LiveNode, dataset: str, offer: str, *,
              refuse: str | None = None) -> dict[str, Any]:
    """Start a negotiation from ``consumer``'s management API and wait until both sides reach an end state;
    with ``refuse``, the provider's operator refuses it with that reason (manual approval)."""
    other = provider.app.config["NEGOTIATIONS"]
    if refuse is not None:
        other.settings["approval"] = "manual"
    try:
        r = consumer.api("POST", "/api/negotiations", {"provider": provider.did, "dataset": dataset,
                                                       "offer": offer})
        assert r.status_code == 201, r.text
        pid = r.json()["pid"]
        svc = consumer.app.config["NEGOTIATIONS"]
        if refuse is not None:
            assert svc.wait_until(lambda: bool((svc.get(pid) or {}).get("provider_pid")), 20)
            ppid = svc.get(pid)["provider_pid"]
            assert other.wait_until(lambda: (other.get(ppid) or {}).get("pending") == "approval", 20)
            other.reject(ppid, refuse)
    finally:
        other.settings["approval"] = "auto"
    ends = ("FINALIZED", "TERMINATED")
    assert svc.wait_until(lambda: (svc.get(pid) or {}).get("state") in ends, 20), svc.get(pid)
    view = svc.get(pid)
    assert other.wait_until(lambda: (other.get(view["provider_pid"]) or {}).get("state") in ends, 20)
    return view
