"""Atomic file landing: write to a hidden temp file, fsync, rename, fsync the directory (DESIGN §5)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

__all__ = ["temp_path", "commit", "fsync_dir", "write_json_atomic", "sha256_file", "cleanup_partials", "HashingFile"]

PARTIAL_SUFFIX = ".partial"


def temp_path(directory: Path, stem: str = "ingest") -> Path:
    """A hidden temp name carrying our pid, so a later run can tell a dead writer's leftovers from a live one's."""
    return directory / f".{stem}-{os.getpid()}-{uuid.uuid4().hex}{PARTIAL_SUFFIX}"


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: Path, final: Path) -> None:
    """fsync ``tmp``, rename it over ``final`` and fsync the directory: readers see all of it or nothing."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = temp_path(path.parent, "json")
    with open(tmp, "x", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, default=str)
        f.write("\n")
    commit(tmp, path)


class HashingFile:
    """A new file written front to back (as the Parquet writer does) whose sha256 is computed as it is written, and
    which can be pushed to disk on the way (``sync``), so that the commit's fsync and the output's checksum do not
    each read or flush the whole file at the end."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "xb")
        self._sha = hashlib.sha256()

    @property
    def closed(self) -> bool:
        return self._f.closed

    def write(self, data) -> int:
        self._sha.update(data)
        return self._f.write(data)

    def tell(self) -> int:
        return self._f.tell()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self._f.flush()

    def sync(self) -> None:
        self._f.flush()
        os.fdatasync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def sha256_file(path: Path, chunk: int = 4 * 1024 * 1024) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_partials(directory: Path) -> list[Path]:
    """Remove temp files left by writers that no longer run (after a crash or SIGKILL); returns what was removed."""
    removed = []
    if not directory.is_dir():
        return removed
    for p in directory.glob(f".*{PARTIAL_SUFFIX}"):
        try:
            pid = int(p.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
