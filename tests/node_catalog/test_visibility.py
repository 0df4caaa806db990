"""Which offers a requester sees is the policy evaluator's decision; each hidden offer is logged with its reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from connector.audit import query
from connector.publishing import publish_dataset


def _offers(space: Any, caller: str, target: str, kit: Any) -> dict[str, list[str]]:
    t = space.nodes[target]
    token = space.nodes[caller].trust.self_issued_token(t.did)
    r = httpx.post(t.url + "/dsp/2025-1/catalog/request", json=kit.CATALOG_REQUEST,
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    return {d["@id"].rsplit("/", 1)[-1]: [o["@id"] for o in d["hasPolicy"]] for d in r.json().get("dataset", [])}


def test_territory_bound_offer_is_hidden_outside_its_territory(space: Any, kit: Any, tmp_path: Path) -> None:
    space.add("bretagne", territory=["REG-53"])
    herault = space.nodes["herault"]
    publish_dataset(herault.node, "capacite-34", file=kit.write_csv(tmp_path / "c.csv"),
                    metadata=kit.metadata("capacite-34"))
    seen_by_occitanie = _offers(space, "occitanie", "herault", kit)["capacite-34"]
    seen_by_bretagne = _offers(space, "bretagne", "herault", kit)["capacite-34"]
    territory = "urn:passerelle:offer:capacite-34:territory"
    assert territory in seen_by_occitanie          # Occitanie contains DEP-34
    assert territory not in seen_by_bretagne       # Bretagne does not
    assert "urn:passerelle:offer:capacite-34:stats" in seen_by_bretagne
    with herault.node.session() as s:
        denials = query(s, kind="policy.decision")
        served = query(s, kind="catalog.response")
    assert [d["counterparty"]["did"] for d in denials] == [space.nodes["bretagne"].did]
    assert denials[0]["decision"]["point"] == "catalog" and denials[0]["decision"]["reasons"]
    assert {e["counterparty"]["did"] for e in served} == {space.nodes["occitanie"].did, space.nodes["bretagne"].did}
