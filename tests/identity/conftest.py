"""A small data space in memory: an authority (hub) and two nodes, DID documents served by a fake fetcher."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import pytest

from connector.identity import (InMemoryReplayStore, MembershipSubject, Participant, ParticipantResolver,
                                SigningKey, StatusList, StatusListCache, TrustAnchor, build_did_document,
                                did_to_url, generate_key, issue_membership_credential, issue_status_list_credential,
                                sign_participant_list, verify_participant_list)

NOW = 1_795_000_000  # 2026-11-18
HUB = "did:web:hub.atout-france.example.fr"
OCC = "did:web:donnees.tourisme-occitanie.example.fr"
HER = "did:web:data.herault.example.fr:nodes:herault"
STATUS_URL = "https://hub.atout-france.example.fr/trust/status/1"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Node:
    did: str
    auth: SigningKey
    audit: SigningKey
    issuer: SigningKey | None = None

    def document(self) -> dict:
        assertion = [(self.audit.kid, self.audit.public_key)]
        if self.issuer:
            assertion.append((self.issuer.kid, self.issuer.public_key))
        return build_did_document(self.did, auth_keys=[(self.auth.kid, self.auth.public_key)],
                                  assertion_keys=assertion)


def make_node(did: str, *, hub: bool = False) -> Node:
    return Node(did, SigningKey(did + "#key-2026-11", generate_key()),
                SigningKey(did + "#audit-2026-11", generate_key()),
                SigningKey(did + "#issuer-2026-11", generate_key()) if hub else None)


@dataclass
class World:
    hub: Node
    occ: Node
    her: Node
    clock: Clock
    documents: dict[str, bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    status: StatusList = field(default_factory=StatusList)
    status_fetches: int = 0
    status_down: bool = False
    NOW = NOW
    HUB = HUB
    OCC = OCC
    HER = HER
    STATUS_URL = STATUS_URL

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        if url not in self.documents:
            raise ConnectionError(f"no route to {url}")
        return self.documents[url]

    def publish(self, node: Node) -> None:
        self.documents[did_to_url(node.did)] = json.dumps(node.document()).encode()

    def fetch_status(self, url: str) -> bytes:
        self.status_fetches += 1
        if self.status_down or url != STATUS_URL:
            raise ConnectionError("status list unreachable")
        return issue_status_list_credential(self.hub.issuer, url, self.status, self.clock()).encode()

    @property
    def anchor(self) -> TrustAnchor:
        return TrustAnchor(HUB, {self.hub.issuer.kid: self.hub.issuer.public_key})

    def participants(self, *entries: Participant, version: int = 1):
        entries = entries or (Participant(HUB, "Atout France", ("national_hub",)),
                              Participant(OCC, "CRT Occitanie", ("regional_node",)),
                              Participant(HER, "Hérault Tourisme", ("departmental_node",)))
        token = sign_participant_list(self.hub.issuer, entries, version=version, now=NOW)
        return verify_participant_list(token, self.anchor, now=NOW)

    def resolver(self, registry=None) -> ParticipantResolver:
        return ParticipantResolver(registry or self.participants(), self.fetch, self.clock)

    def status_cache(self) -> StatusListCache:
        return StatusListCache(self.fetch_status, self.anchor)

    def membership(self, node: Node, *, index: int = 7, roles=("regional_node",), territory=("REG-76",),
                   issuer: SigningKey | None = None, valid_for: int = 365 * 86_400, now: float | None = None) -> str:
        subject = MembershipSubject(node.did, "CRT Occitanie", "130000000", tuple(roles), tuple(territory),
                                    date(2026, 1, 15), "1.2", "a" * 64)
        return issue_membership_credential(issuer or self.hub.issuer, subject, status_list_url=STATUS_URL,
                                           status_index=index, now=NOW if now is None else now,
                                           valid_for=valid_for)


@pytest.fixture
def world() -> World:
    w = World(make_node(HUB, hub=True), make_node(OCC), make_node(HER), Clock())
    for node in (w.hub, w.occ, w.her):
        w.publish(node)
    return w


@pytest.fixture
def replay() -> InMemoryReplayStore:
    return InMemoryReplayStore()
