"""Contract negotiation on the node: persisted negotiations (both roles), the provider's decision, the outbox.

The protocol's rules live in ``contracts`` (sans-IO); this package stores them, decides, and delivers.
"""

from .decide import NegotiationDecision, decide, negotiation_view
from .failpoints import Failpoint, failpoint
from .outbox import Sender
from .records import AgreementRow, NegotiationRow, OutboxRow
from .service import ENDPOINT_KINDS, NegotiationFailure, NegotiationService, agreement_json, settings_of

__all__ = ["NegotiationDecision", "decide", "negotiation_view", "Failpoint", "failpoint", "Sender", "AgreementRow",
           "NegotiationRow", "OutboxRow", "ENDPOINT_KINDS", "NegotiationFailure", "NegotiationService",
           "agreement_json", "settings_of", "service_of"]


def service_of(app: object) -> NegotiationService:
    """The app's negotiation service (created when the negotiations blueprint is registered)."""
    return app.config["NEGOTIATIONS"]  # type: ignore[attr-defined]
