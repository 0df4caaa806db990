"""Real nodes over loopback HTTP: the consumer requests a catalogue offer, the provider decides, both finalize."""

from __future__ import annotations

from typing import Any

from negotiation_kit import HUB_ONLY_OFFER, OPEN_OFFER, REGION_OFFER, Space, service, wait_state


def _start(space: Space, offer: dict[str, Any], *, out_of_band: bool = False, node: Any = None) -> dict[str, Any]:
    """Start from the provider's catalogue, or (``out_of_band``) from an offer known otherwise: the catalogue shows
    a participant only the offers it could be granted, and the provider judges again when asked."""
    body = {"provider": space.provider.did, "dataset": "frequentation", "offer": offer["@id"]}
    if out_of_band:
        body["offer_policy"] = offer
    r = (node or space.consumer).api("POST", "/api/negotiations", body)
    assert r.status_code == 201, r.text
    return r.json()


def test_request_agreed_and_finalized_on_both_sides(shared: Space) -> None:
    started = _start(shared, OPEN_OFFER)
    pid = started["pid"]
    assert wait_state(shared.consumer, pid, "FINALIZED", "TERMINATED") == "FINALIZED"
    consumer_view = service(shared.consumer).get(pid)
    provider_pid = consumer_view["provider_pid"]
    assert wait_state(shared.provider, provider_pid, "FINALIZED") == "FINALIZED"
    agreement = consumer_view["agreement"]
    assert agreement["target"] == shared.datasets["open"]
    assert agreement["assigner"] == shared.provider.did and agreement["assignee"] == shared.consumer.did
    assert agreement["permission"] == OPEN_OFFER["permission"]
    mine = service(shared.consumer).agreement(agreement["@id"])
    theirs = service(shared.provider).agreement(agreement["@id"])
    assert mine["id"] == theirs["id"] == agreement["@id"]
    assert mine["role"] == "CONSUMER" and theirs["role"] == "PROVIDER" and not mine["revoked"]
    assert shared.sent.problems() == []

    def kinds() -> list[str]:
        return [m["@type"] + ":" + m.get("eventType", "") for m in shared.sent.messages if m["consumerPid"] == pid]

    # the consumer may finalize before the provider's sender has recorded its delivery of FINALIZED
    service(shared.provider).wait_until(lambda: len(kinds()) == 4, 5)
    assert kinds() == ["ContractRequestMessage:", "ContractAgreementMessage:",
                     "ContractAgreementVerificationMessage:", "ContractNegotiationEventMessage:FINALIZED"]


def test_catalogue_hides_what_the_policy_refuses(shared: Space) -> None:
    r = shared.consumer.api("POST", "/api/negotiations", {"provider": shared.provider.did, "dataset": "frequentation",
                                                         "offer": HUB_ONLY_OFFER["@id"]})
    assert r.status_code == 404 and "urn:offer:open" in r.json()["message"]


def test_policy_refusal_terminates_with_the_evaluators_reasons(shared: Space) -> None:
    pid = _start(shared, HUB_ONLY_OFFER, out_of_band=True)["pid"]
    assert wait_state(shared.consumer, pid, "FINALIZED", "TERMINATED") == "TERMINATED"
    view = service(shared.consumer).get(pid)
    assert "membershipRole" in view["reason"] and "national_hub" in view["reason"]
    provider_view = service(shared.provider).get(view["provider_pid"])
    assert provider_view["decision"]["effect"] == "deny" and provider_view["decision"]["code"] == "POLICY_DENIED"
    assert view["agreement"] is None and provider_view["agreement"] is None
    assert shared.sent.problems() == []


def test_territory_offer_granted_to_its_region_only(shared: Space) -> None:
    pid = _start(shared, REGION_OFFER)["pid"]
    assert wait_state(shared.consumer, pid, "FINALIZED", "TERMINATED") == "FINALIZED"
    other_pid = _start(shared, REGION_OFFER, out_of_band=True, node=shared.other)["pid"]
    assert wait_state(shared.other, other_pid, "FINALIZED", "TERMINATED") == "TERMINATED"
    assert "REG-53" in service(shared.other).get(other_pid)["reason"]
