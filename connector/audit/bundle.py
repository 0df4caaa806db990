"""The export bundle an auditor takes away: a zip file (or a plain directory) of a few text files.

* ``entries.jsonl``: the entries' canonical (JCS) bytes, one per line, in ``seq`` order;
* ``checkpoints.jsonl``: ``{"size", "note"}`` per checkpoint, the note carrying the log signature and any witness
  cosignatures;
* ``proofs.jsonl``: ``{"kind": "consistency", "from", "to", "hashes"}`` between consecutive checkpoints and, when the
  bundle holds a selection of entries, ``{"kind": "inclusion", "seq", "size", "hashes"}`` for each of them (hashes
  in base64);
* ``keys.txt``: the verifier keys (vkeys) of the log and its witnesses, for information: an auditor pins keys;
* ``manifest.note``: a signed note listing the origin, the tree size, the selection and the SHA-256 of every other
  file, so that any change to the bundle is named by file before the entries are even read.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import IO, Iterator

__all__ = ["BUNDLE_FORMAT", "BundleWriter", "BundleReader", "BundleError", "FILES"]

BUNDLE_FORMAT = "passerelle-audit-bundle/1"
FILES = ("entries.jsonl", "checkpoints.jsonl", "proofs.jsonl", "keys.txt")
MANIFEST = "manifest.note"


class BundleError(ValueError):
    """The bundle cannot be opened or lacks a file."""


class _Member:
    """A bundle file being written, hashed on the way out."""

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self._buf: list[bytes] = []
        self._pending = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.sha256.update(data)
        self._buf.append(data)
        self._pending += len(data)
        if self._pending > 1 << 20:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            self._raw.write(b"".join(self._buf))
            self._buf.clear()
            self._pending = 0


class BundleWriter:
    """Writes the bundle files to ``path``: a zip file when the name ends in ``.zip``, else a new directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.digests: dict[str, str] = {}
        if self.path.suffix == ".zip":
            self._zip: zipfile.ZipFile | None = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        else:
            self._zip = None
            self.path.mkdir(parents=True, exist_ok=False)

    def _open(self, name: str) -> IO[bytes]:
        if self._zip is not None:
            return self._zip.open(name, "w", force_zip64=True)
        return open(self.path / name, "wb")

    def write_lines(self, name: str, lines: Iterator[bytes]) -> int:
        """Write each line followed by a newline; returns the count."""
        count = 0
        with self._open(name) as raw:
            member = _Member(raw)
            for line in lines:
                member.write(line + b"\n")
                count += 1
            member.flush()
        self.digests[name] = member.sha256.hexdigest()
        return count

    def write_bytes(self, name: str, data: bytes) -> None:
        with self._open(name) as raw:
            raw.write(data)
        if name != MANIFEST:
            self.digests[name] = hashlib.sha256(data).hexdigest()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> "BundleWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def manifest_text(*, origin: str, generated: str, tree_size: int, entries: int, selection: dict,
                  digests: dict[str, str]) -> str:
    lines = [BUNDLE_FORMAT, f"origin {origin}", f"generated {generated}", f"tree_size {tree_size}",
             f"entries {entries}", "selection " + json.dumps(selection, sort_keys=True, separators=(",", ":"))]
    lines += [f"file {name} {digests[name]}" for name in FILES if name in digests]
    return "\n".join(lines) + "\n"


def parse_manifest(text: str) -> dict:
    """The manifest's fields; raises :class:`BundleError` listing what is malformed."""
    lines = text.rstrip("\n").split("\n")
    if not lines or lines[0] != BUNDLE_FORMAT:
        raise BundleError(f"manifest does not start with {BUNDLE_FORMAT!r}")
    out: dict = {"files": {}}
    problems = []
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        if key == "file":
            name, _, digest = value.partition(" ")
            out["files"][name] = digest
        elif key in ("tree_size", "entries"):
            if not value.isdigit():
                problems.append(f"{key} is not a number")
            else:
                out[key] = int(value)
        elif key == "selection":
            try:
                out[key] = json.loads(value)
            except ValueError:
                problems.append("selection is not JSON")
        elif key in ("origin", "generated"):
            out[key] = value
        else:
            problems.append(f"unknown manifest line {key!r}")
    if problems:
        raise BundleError("; ".join(problems))
    return out


class BundleReader:
    """Reads a bundle written by :class:`BundleWriter`, from a zip file or a directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            self._zip: zipfile.ZipFile | None = None
        elif self.path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.path)
            except zipfile.BadZipFile:
                raise BundleError(f"{self.path} is not a zip file or a bundle directory") from None
        else:
            raise BundleError(f"{self.path} does not exist")

    def has(self, name: str) -> bool:
        if self._zip is not None:
            return name in self._zip.namelist()
        return (self.path / name).is_file()

    def open(self, name: str) -> IO[bytes]:
        if not self.has(name):
            raise BundleError(f"the bundle has no {name}")
        if self._zip is not None:
            return io.BufferedReader(self._zip.open(name), buffer_size=1 << 20)  # type: ignore[arg-type]
        return open(self.path / name, "rb", buffering=1 << 20)

    def read(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> "BundleReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
