"""Real nodes over loopback HTTP: the consumer requests a catalogue offer, the provider decides, both finalize."""

from __future__ import annotations

from typing import Any

from negotiation_kit import HUB_ONLY_OFFER, OPEN_OFFER, REGION_OFFER, Space, service, wait_state


def _start(space: Space, offer: dict[str, Any]) -> dict[str, Any]:
    r = space.consumer.api("POST", "/api/negotiations", {"provider": space.provider.did, "dataset": "frequentation",
                                                         "offer": offer["@id"]})
    assert r.status_code == 201, r.text
    return r.json()


def test_request_agreed_and_finalized_on_both_sides(space: Space) -> None:
    started = _start(space, OPEN_OFFER)
    pid = started["pid"]
    assert wait_state(space.consumer, pid, "FINALIZED", "TERMINATED") == "FINALIZED"
    consumer_view = service(space.consumer).get(pid)
    provider_pid = consumer_view["provider_pid"]
    assert wait_state(space.provider, provider_pid, "FINALIZED") == "FINALIZED"
    agreement = consumer_view["agreement"]
    assert agreement["target"] == space.datasets["open"]
    assert agreement["assigner"] == space.provider.did and agreement["assignee"] == space.consumer.did
    assert agreement["permission"] == OPEN_OFFER["permission"]
    (mine,) = service(space.consumer).agreements()
    (theirs,) = service(space.provider).agreements()
    assert mine["id"] == theirs["id"] == agreement["@id"]
    assert mine["role"] == "CONSUMER" and theirs["role"] == "PROVIDER" and not mine["revoked"]
    assert space.sent.problems() == []
    kinds = [m["@type"] + ":" + m.get("eventType", "") for m in space.sent.messages]
    assert kinds == ["ContractRequestMessage:", "ContractAgreementMessage:",
                     "ContractAgreementVerificationMessage:", "ContractNegotiationEventMessage:FINALIZED"]


def test_policy_refusal_terminates_with_the_evaluators_reasons(space: Space) -> None:
    pid = _start(space, HUB_ONLY_OFFER)["pid"]
    assert wait_state(space.consumer, pid, "FINALIZED", "TERMINATED") == "TERMINATED"
    view = service(space.consumer).get(pid)
    assert "membershipRole" in view["reason"] and "national_hub" in view["reason"]
    provider_view = service(space.provider).get(view["provider_pid"])
    assert provider_view["decision"]["effect"] == "deny" and provider_view["decision"]["code"] == "POLICY_DENIED"
    assert service(space.consumer).agreements() == [] and service(space.provider).agreements() == []
    assert space.sent.problems() == []


def test_territory_offer_granted_to_its_region_only(space: Space) -> None:
    pid = _start(space, REGION_OFFER)["pid"]
    assert wait_state(space.consumer, pid, "FINALIZED", "TERMINATED") == "FINALIZED"
    r = space.other.api("POST", "/api/negotiations", {"provider": space.provider.did, "dataset": "frequentation",
                                                      "offer": REGION_OFFER["@id"]})
    other_pid = r.json()["pid"]
    assert wait_state(space.other, other_pid, "FINALIZED", "TERMINATED") == "TERMINATED"
    assert "REG-53" in service(space.other).get(other_pid)["reason"]
