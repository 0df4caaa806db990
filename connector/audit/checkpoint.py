"""Checkpoints (c2sp.org/tlog-checkpoint) and their witness, the hub.

A checkpoint is a signed note whose text is the log's origin, the tree size in decimal and the base64 root hash, one
per line (extension lines may follow). The node signs it with its audit key, named after the origin. The hub
countersigns it with a timestamped cosignature (c2sp.org/tlog-cosignature) only after checking a consistency proof
from the last checkpoint it countersigned for that origin, so a node that shows two different histories can get at
most one of them countersigned: that is what stops a fork.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from .merkle import ProofError, verify_consistency
from .note import COSIGNATURE_V1, ED25519, Note, NoteError, NoteSigner, NoteVerifier, format_note, parse_note

__all__ = ["Checkpoint", "format_checkpoint", "parse_checkpoint", "sign_checkpoint", "VerifiedCheckpoint",
           "verify_checkpoint", "add_cosignatures", "Witness", "ForkError"]


class ForkError(NoteError):
    """A checkpoint is not consistent with one already countersigned for the same log."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


def format_checkpoint(cp: Checkpoint) -> str:
    if not cp.origin or "\n" in cp.origin:
        raise NoteError("checkpoint origin must be one non-empty line")
    if len(cp.root) != 32:
        raise NoteError("checkpoint root must be 32 bytes")
    lines = [cp.origin, str(cp.size), base64.b64encode(cp.root).decode(), *cp.extensions]
    return "\n".join(lines) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("checkpoint text must be origin, size and root hash, one per line")
    origin, size_s, root_s, *ext = lines[:-1]
    if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise NoteError(f"checkpoint size {size_s!r} is not a decimal number")
    try:
        root = base64.b64decode(root_s, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("checkpoint root is not base64") from None
    if len(root) != 32:
        raise NoteError("checkpoint root is not 32 bytes")
    if any(not e for e in ext):
        raise NoteError("checkpoint extension lines must not be empty")
    return Checkpoint(origin, int(size_s), root, tuple(ext))


def sign_checkpoint(cp: Checkpoint, signer: NoteSigner) -> str:
    if signer.sig_type != ED25519:
        raise NoteError("checkpoints are signed with an Ed25519 (type 0x01) key")
    if signer.name != cp.origin:
        raise NoteError(f"the log key is named {signer.name!r} but the origin is {cp.origin!r}")
    text = format_checkpoint(cp)
    return format_note(text, [signer.signature_line(text)])


def add_cosignatures(note: str, lines: Iterable[str]) -> str:
    """The note with extra signature lines appended (each once)."""
    have = set(note.splitlines(keepends=True))
    return note + "".join(line for line in lines if line not in have)


@dataclass(frozen=True)
class VerifiedCheckpoint:
    checkpoint: Checkpoint
    note: Note
    cosignatures: tuple[tuple[str, int], ...] = field(default=())  # (witness name, POSIX time)


def verify_checkpoint(note: str | bytes, log_keys: Sequence[NoteVerifier],
                      witness_keys: Sequence[NoteVerifier] = ()) -> VerifiedCheckpoint:
    """Parse and verify a checkpoint note: it must carry a valid signature by a log key named after its origin.

    Known witness cosignatures are verified too (a bad one rejects the note); unknown signature lines are ignored.
    """
    parsed = parse_note(note)
    cp = parse_checkpoint(parsed.text)
    own = [k for k in log_keys if k.sig_type == ED25519 and k.name == cp.origin]
    if not own:
        raise NoteError(f"no trusted key for the log {cp.origin!r}")
    witnesses = [k for k in witness_keys if k.sig_type == COSIGNATURE_V1]
    verified = parsed.verify([*own, *witnesses])
    if not any(v.sig_type == ED25519 for v, _ in verified):
        raise NoteError(f"checkpoint of size {cp.size} is not signed by the log key of {cp.origin!r}")
    cosigs = tuple((v.name, t) for v, t in verified if v.sig_type == COSIGNATURE_V1 and t is not None)
    return VerifiedCheckpoint(cp, parsed, cosigs)


class Witness:
    """The hub's countersigning role: cosign a node's checkpoint only if it extends what was cosigned before.

    ``state`` maps origin -> (size, root) of the latest cosigned checkpoint; the hub persists it between calls.
    """

    def __init__(self, signer: NoteSigner, log_keys: Iterable[NoteVerifier],
                 state: Mapping[str, tuple[int, bytes]] | None = None):
        if signer.sig_type != COSIGNATURE_V1:
            raise NoteError("a witness signs with a cosignature (type 0x04) key")
        self.signer = signer
        self.log_keys = list(log_keys)
        self.state: dict[str, tuple[int, bytes]] = dict(state or {})

    def cosign(self, note: str, proof: Sequence[bytes], now: int) -> str:
        """Return the cosignature line for ``note`` or raise: :class:`ForkError` when it is not consistent with
        the last cosigned checkpoint of its log (``proof`` goes from that size to the new one)."""
        vc = verify_checkpoint(note, self.log_keys)
        cp = vc.checkpoint
        old = self.state.get(cp.origin)
        if old is not None:
            old_size, old_root = old
            if cp.size < old_size:
                raise ForkError(f"{cp.origin}: size {cp.size} is older than the cosigned size {old_size}")
            try:
                verify_consistency(old_size, cp.size, old_root, cp.root, proof)
            except ProofError as exc:
                raise ForkError(f"{cp.origin}: size {cp.size} is not consistent with the cosigned size "
                                f"{old_size}: {exc}") from None
        line = self.signer.signature_line(vc.note.text, timestamp=now)
        self.state[cp.origin] = (cp.size, cp.root)
        return line
