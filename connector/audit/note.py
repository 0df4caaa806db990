"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and verifier keys ("vkeys") for trust files.

A note is text ending in a newline, a blank line, then one line per signature: em dash, space, key name, space,
base64(4-byte key id || signature). The key id is ``SHA-256(name || 0x0A || type || public key)[:4]``; type 0x01 is a
plain Ed25519 signature over the text, type 0x04 a timestamped witness cosignature (c2sp.org/tlog-cosignature),
whose signed message is ``cosignature/v1\\ntime <t>\\n`` followed by the text.

A vkey is ``<name>+<key id, 8 hex>+<base64(type || public key)>``: one line that names the key, its algorithm and
its bytes, so a trust file is simply a list of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["NoteError", "ED25519", "COSIGNATURE_V1", "key_id", "NoteSigner", "NoteVerifier", "Signature", "Note",
           "parse_note", "format_note", "parse_vkey", "MAX_SIGNATURES"]

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
MAX_SIGNATURES = 32  # the spec asks verifiers to cap signatures and to accept at least 16
_DASH = "\u2014 "


class NoteError(ValueError):
    """A note, signature or key is malformed, or no trusted signature verifies."""


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


@dataclass(frozen=True)
class NoteSigner:
    """An Ed25519 key under a name: signs notes (type 0x01) or, as a witness, cosigns them (type 0x04)."""

    name: str
    private_key: Ed25519PrivateKey
    sig_type: int = ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.sig_type not in (ED25519, COSIGNATURE_V1):
            raise NoteError(f"unsupported signature type {self.sig_type:#04x}")

    @property
    def public_key(self) -> bytes:
        return _raw(self.private_key.public_key())

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.sig_type, self.public_key)

    def verifier(self) -> "NoteVerifier":
        return NoteVerifier(self.name, self.sig_type, self.public_key)

    def signature_line(self, text: str, *, timestamp: int | None = None) -> str:
        """The signature line for ``text``; a cosignature needs the POSIX ``timestamp`` it is made at."""
        _check_text(text)
        if self.sig_type == COSIGNATURE_V1:
            if timestamp is None or not 0 <= timestamp < 2 ** 63:
                raise NoteError("a cosignature needs a POSIX timestamp")
            blob = struct.pack(">Q", timestamp) + self.private_key.sign(_cosigned_message(text, timestamp))
        else:
            blob = self.private_key.sign(text.encode())
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + blob).decode()}\n"


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted public key: checks the signature lines that carry its name and key id."""

    name: str
    sig_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.sig_type, self.public_key)

    def matches(self, sig: "Signature") -> bool:
        return sig.name == self.name and sig.key_id == self.key_id

    def verify(self, text: str, sig: "Signature") -> int | None:
        """Raise :class:`NoteError` if ``sig`` does not verify; return the cosignature timestamp, if any."""
        key = Ed25519PublicKey.from_public_bytes(self.public_key)
        try:
            if self.sig_type == COSIGNATURE_V1:
                if len(sig.signature) != 72:
                    raise NoteError(f"cosignature by {self.name} has {len(sig.signature)} bytes, not 72")
                (timestamp,) = struct.unpack(">Q", sig.signature[:8])
                key.verify(sig.signature[8:], _cosigned_message(text, timestamp))
                return timestamp
            key.verify(sig.signature, text.encode())
            return None
        except InvalidSignature:
            raise NoteError(f"signature by {self.name} does not verify") from None


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]

    def __str__(self) -> str:
        return format_note(self.text, [s.line() for s in self.signatures])

    def verify(self, verifiers: Iterable[NoteVerifier]) -> list[tuple[NoteVerifier, int | None]]:
        """Signatures by known keys, verified as the spec says: unknown keys are ignored, a known key whose
        signature fails rejects the note, and a note with no verified signature is rejected."""
        known = list(verifiers)
        verified: list[tuple[NoteVerifier, int | None]] = []
        for sig in self.signatures:
            for v in known:
                if v.matches(sig):
                    verified.append((v, v.verify(self.text, sig)))
        if not verified:
            names = ", ".join(sorted({s.name for s in self.signatures})) or "none"
            raise NoteError(f"no signature by a trusted key (signed by: {names})")
        return verified


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text holds control characters")


def format_note(text: str, signature_lines: Sequence[str]) -> str:
    _check_text(text)
    return text + "\n" + "".join(signature_lines)


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into its text and signature lines; raise :class:`NoteError` on any format error."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("note holds control characters")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("note has no blank line before its signatures")
    text, sig_block = note[:split + 1], note[split + 2:]
    lines = sig_block[:-1].split("\n") if sig_block else []
    if not lines:
        raise NoteError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    sigs = []
    for line in lines:
        if not line.startswith(_DASH):
            raise NoteError(f"malformed signature line {line[:60]!r}")
        name, _, b64 = line[len(_DASH):].partition(" ")
        _check_name(name)
        try:
            blob = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError(f"signature by {name} is not base64") from None
        if len(blob) < 5:
            raise NoteError(f"signature by {name} is too short")
        sigs.append(Signature(name, blob[:4], blob[4:]))
    return Note(text, tuple(sigs))


def format_vkey(name: str, sig_type: int, public_key: bytes) -> str:
    _check_name(name)
    return f"{name}+{key_id(name, sig_type, public_key).hex()}+{base64.b64encode(bytes([sig_type]) + public_key).decode()}"


def parse_vkey(vkey: str) -> NoteVerifier:
    """Read ``name+keyid+base64(type || key)``; the key id must match the key (a typo is not a different key)."""
    parts = vkey.strip().split("+", 2)  # the base64 key may itself hold "+"
    if len(parts) != 3:
        raise NoteError(f"verifier key {vkey[:60]!r} is not name+keyid+key")
    name, kid_hex, b64 = parts
    _check_name(name)
    try:
        blob = base64.b64decode(b64, validate=True)
        kid = bytes.fromhex(kid_hex)
    except (binascii.Error, ValueError):
        raise NoteError(f"verifier key for {name} is not hex+base64") from None
    if len(blob) != 33 or blob[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError(f"verifier key for {name} is not an Ed25519 key of type 0x01 or 0x04")
    verifier = NoteVerifier(name, blob[0], blob[1:])
    if verifier.key_id != kid:
        raise NoteError(f"verifier key for {name}: key id {kid_hex} does not match the key")
    return verifier
