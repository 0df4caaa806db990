"""A compute-to-data offer grants ``aggregate``, not ``use``: it is shown and can be agreed, with its cell rule."""

from __future__ import annotations

from datetime import datetime, timezone

from catalog.model import Dataset
from catalog.offers import Requester, visible_offers
from connector.negotiation.decide import decide
from policies import templates

NOW = datetime(2026, 7, 1, tzinfo=timezone.utc)


def test_aggregate_only_offer_is_agreed_for_a_member() -> None:
    offer = templates.load("aggregate-only", id="urn:passerelle:offer:agg")
    requested = dict(offer, target="urn:dataset:x")
    d = decide(requested, offer, dataset_id="urn:dataset:x", party="did:web:example.org",
               claims={"membershipRole": ["regional_node"]}, now=NOW)
    assert d.agree and d.code == "AGREED", d


def test_aggregate_only_offer_is_visible_in_the_catalogue() -> None:
    import dataclasses
    offer = templates.load("aggregate-only", id="urn:passerelle:offer:agg")
    fields = {f.name for f in dataclasses.fields(Dataset)}
    assert "offers" in fields
    ds = Dataset.__new__(Dataset)
    object.__setattr__(ds, "offers", (offer,))
    object.__setattr__(ds, "iri", "urn:dataset:x")
    object.__setattr__(ds, "identifier", "x")
    seen = visible_offers(ds, Requester(participant_id="did:web:example.org",
                                        claims={"membershipRole": ["regional_node"]}, at=NOW))
    assert [o["@id"] for o in seen] == ["urn:passerelle:offer:agg"]
