"""The scripted reactions for the conformance kit drive our pure objects through the kit's CN/TP sequences."""

from datetime import datetime, timezone

import contracts as ct
from contracts import conformance as kit

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_script_lookup_tolerates_prefixes():
    assert kit.script_for(kit.PROVIDER_NEGOTIATION, "ACN0101") == {"on_request": ("offer",)}
    assert kit.script_for(kit.PROVIDER_NEGOTIATION, "CD123:ACN0205:456") == {"on_request": ("offer", "terminate")}
    assert kit.script_for(kit.PROVIDER_TRANSFER, "urn:uuid:ATP0104") is not None
    assert kit.script_for(kit.PROVIDER_NEGOTIATION, "nothing") is None
    assert kit.script_for(kit.PROVIDER_NEGOTIATION, None) is None


def test_every_provider_action_is_allowed_where_the_kit_expects_it():
    """Running each provider script right after the initial request never hits a refused transition."""
    for key, script in kit.PROVIDER_NEGOTIATION.items():
        offer = ct.message_offer(f"urn:uuid:o-{key}", f"urn:uuid:{key}", permission=[{"action": "use"}])
        request = ct.contract_request("urn:uuid:c", offer, callback_address="https://tck.example/cb")
        neg, _ = ct.Negotiation.from_initial(request, own_pid="urn:uuid:p", own_id="did:web:p", peer_id="tck")
        for action in script.get("on_request", ()):
            {"offer": lambda: neg.counter_offer(offer), "agree": lambda: neg.agree("urn:uuid:a", NOW),
             "terminate": neg.terminate}[action]()


def test_trigger_fields():
    assert kit.NEGOTIATION_TRIGGER_FIELDS == ("providerId", "offerId", "datasetId", "connectorAddress")
    assert kit.TRANSFER_TRIGGER_FIELDS == ("providerId", "agreementId", "format", "connectorAddress")
