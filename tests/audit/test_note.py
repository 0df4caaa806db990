"""C2SP signed notes, checkpoints and witness cosignatures."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.audit import (COSIGNATURE_V1, Checkpoint, NoteError, NoteSigner, add_cosignatures, format_checkpoint,
                             parse_checkpoint, parse_note, parse_vkey, sign_checkpoint, verify_checkpoint)
from connector.audit.note import key_id

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ORIGIN = "example.org/audit/v1"
ROOT = hashlib.sha256(b"root").digest()


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_key_id_is_the_first_four_bytes_of_the_spec_hash() -> None:
    signer = NoteSigner(ORIGIN, KEY)
    assert signer.key_id == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + _raw(KEY)).digest()[:4]
    assert key_id(ORIGIN, COSIGNATURE_V1, _raw(KEY)) != signer.key_id  # type byte separates the two uses


def test_a_checkpoint_note_has_the_c2sp_layout() -> None:
    signer = NoteSigner(ORIGIN, KEY)
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), signer)
    text, _, sigline = note.partition("\n\n")
    assert text + "\n" == f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"
    assert sigline.startswith(f"\u2014 {ORIGIN} ") and sigline.endswith("\n")
    blob = base64.b64decode(sigline.split(" ")[2])
    assert blob[:4] == signer.key_id and len(blob) == 68
    KEY.public_key().verify(blob[4:], (text + "\n").encode())  # Ed25519 over the note text itself
    vc = verify_checkpoint(note, [signer.verifier()])
    assert vc.checkpoint == Checkpoint(ORIGIN, 42, ROOT)


def test_vkeys_round_trip_and_typos_are_caught() -> None:
    signer = NoteSigner(ORIGIN, KEY)
    assert parse_vkey(signer.vkey) == signer.verifier()
    name, kid, b64 = signer.vkey.split("+", 2)
    with pytest.raises(NoteError, match="key id"):
        parse_vkey(f"{name}+{'0' * 8}+{b64}")
    with pytest.raises(NoteError):
        parse_vkey("not a key")


def test_only_a_trusted_key_makes_a_checkpoint_valid() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), NoteSigner(ORIGIN, OTHER))
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        verify_checkpoint(note, [NoteSigner(ORIGIN, KEY).verifier()])
    with pytest.raises(NoteError, match="no trusted key for the log"):
        verify_checkpoint(note, [NoteSigner("elsewhere.example/log", KEY).verifier()])


def test_a_known_key_with_a_bad_signature_rejects_the_note() -> None:
    signer = NoteSigner(ORIGIN, KEY)
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), signer)
    tampered = note.replace("\n1\n", "\n2\n", 1)
    with pytest.raises(NoteError, match="does not verify"):
        verify_checkpoint(tampered, [signer.verifier()])


def test_unknown_signatures_are_ignored_and_witness_cosignatures_verified() -> None:
    signer = NoteSigner(ORIGIN, KEY)
    witness = NoteSigner("hub.example/witness", OTHER, COSIGNATURE_V1)
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), signer)
    text = parse_note(note).text
    stranger = NoteSigner("stranger.example", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    cosigned = add_cosignatures(note, [witness.signature_line(text, timestamp=1_700_000_000),
                                       stranger.signature_line(text)])
    vc = verify_checkpoint(cosigned, [signer.verifier()], [witness.verifier()])
    assert vc.cosignatures == (("hub.example/witness", 1_700_000_000),)
    # the cosignature covers "cosignature/v1", the time and the checkpoint text: changing the time breaks it
    line = witness.signature_line(text, timestamp=1_700_000_000)
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[11] ^= 1
    forged = f"\u2014 hub.example/witness {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(NoteError):
        verify_checkpoint(add_cosignatures(note, [forged]), [signer.verifier()], [witness.verifier()])


@pytest.mark.parametrize("bad, why", [
    ("no blank line\n\u2014 a AAAAAAA=\n", "blank line"),
    ("text\n\n", "no signature lines"),
    ("text\n\nnot a signature\n", "malformed"),
    ("text\n\n\u2014 a !!!\n", "base64"),
    ("te\x01xt\n\n\u2014 a AAAAAAA=\n", "control"),
    ("text\n\n" + "\u2014 a AAAAAAA=\n" * 40, "more than"),
])
def test_malformed_notes_are_refused_with_the_reason(bad: str, why: str) -> None:
    with pytest.raises(NoteError, match=why):
        parse_note(bad)


@pytest.mark.parametrize("text", ["o\n", "o\n01\nAAAA\n", "o\n1\nnot-base64\n", "o\n1\nAAAA\n",
                                  f"o\n1\n{base64.b64encode(ROOT).decode()}\n\n"])
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(text)


def test_checkpoint_extension_lines_survive() -> None:
    cp = Checkpoint(ORIGIN, 3, ROOT, ("time 2026-03-02T09:00:00Z",))
    assert parse_checkpoint(format_checkpoint(cp)) == cp


def test_the_log_key_must_be_named_after_the_origin() -> None:
    with pytest.raises(NoteError, match="origin"):
        sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), NoteSigner("other.example/audit/v1", KEY))
    with pytest.raises(NoteError):
        NoteSigner("has space", KEY)
