"""The tamper-evident exchange log: RFC 6962 Merkle log, signed checkpoints, export bundle, offline verifier."""

from .bundle import BundleReader, BundleWriter
from .checkpoint import (Checkpoint, ForkError, VerifiedCheckpoint, Witness, add_cosignatures, format_checkpoint,
                         parse_checkpoint, sign_checkpoint, verify_checkpoint)
from .entry import EVENTS, SCHEMA_VERSION, EntryError, build_entry, canonical, entry_problems, format_ts
from .log import (AuditError, ExportSummary, LogHead, add_cosignature, append, append_batch, append_many,
                  checkpoint, consistency_proof, export_bundle, head, init_log, maybe_checkpoint, query)
from .merkle import (EMPTY_ROOT, CompactRange, MerkleTree, ProofError, leaf_hash, node_hash, root_of,
                     verify_consistency, verify_inclusion)
from .note import COSIGNATURE_V1, ED25519, Note, NoteError, NoteSigner, NoteVerifier, parse_note, parse_vkey
from .records import AUDIT_TABLES, AuditCheckpoint, AuditCosignature, AuditEntry, AuditHead
from .timeline import ProcessHistory, by_agreement, processes
from .verify import Finding, Report, load_trusted_keys, verify_bundle

__all__ = [
    "BundleReader", "BundleWriter",
    "Checkpoint", "ForkError", "VerifiedCheckpoint", "Witness", "add_cosignatures", "format_checkpoint",
    "parse_checkpoint", "sign_checkpoint", "verify_checkpoint",
    "EVENTS", "SCHEMA_VERSION", "EntryError", "build_entry", "canonical", "entry_problems", "format_ts",
    "AuditError", "ExportSummary", "LogHead", "add_cosignature", "append", "append_batch", "append_many",
    "checkpoint", "consistency_proof", "export_bundle", "head", "init_log", "maybe_checkpoint", "query",
    "EMPTY_ROOT", "CompactRange", "MerkleTree", "ProofError", "leaf_hash", "node_hash", "root_of",
    "verify_consistency", "verify_inclusion",
    "COSIGNATURE_V1", "ED25519", "Note", "NoteError", "NoteSigner", "NoteVerifier", "parse_note", "parse_vkey",
    "AUDIT_TABLES", "AuditCheckpoint", "AuditCosignature", "AuditEntry", "AuditHead",
    "ProcessHistory", "by_agreement", "processes",
    "Finding", "Report", "load_trusted_keys", "verify_bundle",
]
