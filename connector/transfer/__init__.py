"""connector.transfer: the DSP transfer process — its state table, a sans-IO transfer object, its messages."""

from .messages import (
    HTTP_ENDPOINT_TYPE, HTTP_PULL, TP, TRANSFER_TYPES, DataAddress, InvalidTransferMessage, TransferProtocolError,
    is_pull, request_problems, transfer_completion, transfer_error, transfer_kind, transfer_problems, transfer_process,
    transfer_request, transfer_start, transfer_suspension, transfer_termination, validate_transfer_message,
)
from .state import (
    INITIAL, TERMINAL, TRANSITIONS, InvalidTransferTransition, Transfer, TransferState, TransferTransition,
    allowed_messages, initial_state, is_duplicate, next_state, target_state,
)

__all__ = [
    "HTTP_ENDPOINT_TYPE", "HTTP_PULL", "TP", "TRANSFER_TYPES", "DataAddress", "InvalidTransferMessage",
    "TransferProtocolError", "is_pull", "request_problems", "transfer_completion", "transfer_error", "transfer_kind",
    "transfer_problems", "transfer_process", "transfer_request", "transfer_start", "transfer_suspension",
    "transfer_termination", "validate_transfer_message", "INITIAL", "TERMINAL", "TRANSITIONS",
    "InvalidTransferTransition", "Transfer", "TransferState", "TransferTransition", "allowed_messages",
    "initial_state", "is_duplicate", "next_state", "target_state",
]
