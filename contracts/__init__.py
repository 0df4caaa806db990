"""contracts: DSP 2025-1 contract negotiation as sans-IO code — the state table, messages, agreements.

No Flask, HTTP, SQL or clock reads here: time and ids are passed in, and the HTTP layer (``connector``) turns a
:class:`ProtocolError` into the DSP error body with its status.
"""

from .agreement import (
    Agreement, agreement_problems, canonical_policy, format_timestamp, offer_matches, parse_timestamp, policy_of,
)
from .negotiation import Negotiation, Transition
from .negotiation_messages import (
    InvalidMessage, agreement_verification, contract_agreement, contract_negotiation, contract_offer,
    contract_request, is_callback_url, is_initial, message_kind, message_offer, negotiation_error,
    negotiation_event, negotiation_problems, negotiation_termination, offer_for_request, offer_target_problems,
    validate_negotiation_message,
)
from .negotiation_state import (
    CN, INITIAL, TERMINAL, TRANSITIONS, InvalidTransition, NegotiationError, NegotiationState, allowed_messages,
    initial_state, is_duplicate, next_state, target_state,
)
from .protocol import ProtocolError, Role, fingerprint, same_id

__all__ = [
    "Agreement", "agreement_problems", "canonical_policy", "format_timestamp", "offer_matches", "parse_timestamp",
    "policy_of", "Negotiation", "Transition", "InvalidMessage", "agreement_verification", "contract_agreement",
    "contract_negotiation", "contract_offer", "contract_request", "is_callback_url", "is_initial", "message_kind",
    "message_offer", "negotiation_error", "negotiation_event", "negotiation_problems", "negotiation_termination",
    "offer_for_request", "offer_target_problems", "validate_negotiation_message", "CN", "INITIAL", "TERMINAL",
    "TRANSITIONS", "InvalidTransition", "NegotiationError", "NegotiationState", "allowed_messages",
    "initial_state", "is_duplicate", "next_state", "target_state", "ProtocolError", "Role", "fingerprint",
    "same_id",
]
