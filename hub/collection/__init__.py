"""Collection: one streaming pipeline (limits → validation → pseudonymisation → atomic Parquet) with quarantine."""

from hub.collection.atomic import cleanup_partials
from hub.collection.ingest import IngestResult, ingest
from hub.collection.limits import Limits, Refused, check_file_name
from hub.collection.pseudonymise import KeyError_, Pseudonymiser
from hub.collection.report import MAX_PROBLEMS, RULES, Problem, Report

__all__ = ["IngestResult", "ingest", "Limits", "Refused", "check_file_name", "KeyError_", "Pseudonymiser",
           "MAX_PROBLEMS", "RULES", "Problem", "Report", "cleanup_partials"]
