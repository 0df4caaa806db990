"""Ed25519 keys: generation, PKCS#8 PEM files readable by the owner only, JWK form and dated key ids.

Key files are created with ``os.open(..., 0o600)`` so there is no moment when another user could read them (a
``chmod`` after writing would leave a window). Loading refuses a file that group or others can read, as ssh does.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import DIDError, KeyFileError
from .jws import JWSError, b64url_decode, b64url_encode

__all__ = ["SigningKey", "generate_key", "write_private_key", "load_private_key", "public_jwk", "jwk_to_public_key",
           "raw_public_key", "public_key_sha256", "key_fragment", "KEY_PURPOSES"]

KEY_PURPOSES = ("key", "audit", "issuer")


@dataclass(frozen=True)
class SigningKey:
    """A private key with the DID URL it is published under (``did:web:…#key-2026-11``)."""

    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def did(self) -> str:
        return self.kid.split("#", 1)[0]


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def write_private_key(path: str | os.PathLike[str], key: Ed25519PrivateKey, *, passphrase: bytes | None = None,
                      overwrite: bool = False) -> Path:
    """Write ``key`` as PKCS#8 PEM, created with mode 0600 (encrypted when a passphrase is given).

    Refuses to replace an existing file unless ``overwrite``: losing a key is worse than a failed ``init``.
    """
    path = Path(path)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError("KEY_EXISTS", f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyFileError("KEY_UNWRITABLE", f"{path}: {exc.strerror}") from None
    try:
        if overwrite and stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            raise KeyFileError("KEY_PERMISSIONS", f"{path} exists and is readable by others; remove it first")
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(pem)
            out.flush()
            os.fsync(fd)
    finally:
        os.close(fd)
    return path


def load_private_key(path: str | os.PathLike[str], *, passphrase: bytes | None = None,
                     require_private_mode: bool = True) -> Ed25519PrivateKey:
    """Load an Ed25519 PKCS#8 PEM key; refuse files readable by group or others."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise KeyFileError("KEY_MISSING", f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyFileError("KEY_UNREADABLE", f"key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if require_private_mode and mode & 0o077:
            raise KeyFileError("KEY_PERMISSIONS", f"key file {path} has mode {mode:04o}; expected 0600")
        data = handle.read(64 * 1024)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise KeyFileError("KEY_INVALID", f"key file {path} is not a usable PKCS#8 PEM key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError("KEY_INVALID", f"key file {path} holds a {type(key).__name__}, expected Ed25519")
    return key


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_sha256(public_key: Ed25519PublicKey) -> str:
    """How a key is named in logs when its kid is not enough: hex SHA-256 of the raw 32 bytes."""
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """RFC 8037 public JWK: ``{kty: OKP, crv: Ed25519, x}``."""
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw_public_key(public_key))}


def jwk_to_public_key(jwk: Any) -> Ed25519PublicKey:
    """The Ed25519 public key of a JWK; refuses other key types, private members and non-canonical ``x``."""
    if not isinstance(jwk, dict):
        raise DIDError("BAD_KEY", "publicKeyJwk is not an object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise DIDError("BAD_KEY", f"key is kty={jwk.get('kty')!r} crv={jwk.get('crv')!r}, expected OKP/Ed25519")
    if "d" in jwk:
        raise DIDError("BAD_KEY", "a published JWK must not hold the private member 'd'")
    try:
        raw = b64url_decode(jwk.get("x"), what="JWK x")
    except JWSError as exc:
        raise DIDError("BAD_KEY", exc.reason) from None
    if len(raw) != 32:
        raise DIDError("BAD_KEY", f"JWK x is {len(raw)} bytes, expected 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_fragment(purpose: str, when: date | datetime) -> str:
    """The dated fragment of a key id: ``key-2026-11``, ``audit-2026-11``, ``issuer-2026-11``."""
    if purpose not in KEY_PURPOSES:
        raise ValueError(f"key purpose {purpose!r} is not one of {', '.join(KEY_PURPOSES)}")
    return f"{purpose}-{when.year:04d}-{when.month:02d}"
