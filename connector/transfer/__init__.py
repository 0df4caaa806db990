"""connector.transfer: the DSP transfer process — its state table, a sans-IO transfer object, its messages — and
the node around it: persisted transfers, the data plane, the consumer's pulls (docs/transfer.md)."""

from .messages import (
    HTTP_ENDPOINT_TYPE, HTTP_PULL, TP, TRANSFER_TYPES, DataAddress, InvalidTransferMessage, TransferProtocolError,
    is_pull, request_problems, transfer_completion, transfer_error, transfer_kind, transfer_problems, transfer_process,
    transfer_request, transfer_start, transfer_suspension, transfer_termination, validate_transfer_message,
)
from .state import (
    INITIAL, TERMINAL, TRANSITIONS, InvalidTransferTransition, Transfer, TransferState, TransferTransition,
    allowed_messages, initial_state, is_duplicate, next_state, target_state,
)

from .formats import AGGREGATION, FORMATS, AggregateSpec, AggregationError, aggregate_spec
from .ingest import ApiControl, Landed, LocalControl, PullError, pull
from .records import IngestRow, PullRunRow, ScheduleRow, TransferOutboxRow, TransferRow, UsageRow
from .service import Grant, PullRefused, TransferFailure, TransferService, agreement_purpose

__all__ = [
    "AGGREGATION", "FORMATS", "AggregateSpec", "AggregationError", "aggregate_spec", "ApiControl", "Landed",
    "LocalControl", "PullError", "pull", "IngestRow", "PullRunRow", "ScheduleRow", "TransferOutboxRow",
    "TransferRow", "UsageRow", "Grant", "PullRefused", "TransferFailure", "TransferService", "agreement_purpose",
    "HTTP_ENDPOINT_TYPE", "HTTP_PULL", "TP", "TRANSFER_TYPES", "DataAddress", "InvalidTransferMessage",
    "TransferProtocolError", "is_pull", "request_problems", "transfer_completion", "transfer_error", "transfer_kind",
    "transfer_problems", "transfer_process", "transfer_request", "transfer_start", "transfer_suspension",
    "transfer_termination", "validate_transfer_message", "INITIAL", "TERMINAL", "TRANSITIONS",
    "InvalidTransferTransition", "Transfer", "TransferState", "TransferTransition", "allowed_messages",
    "initial_state", "is_duplicate", "next_state", "target_state",
]
