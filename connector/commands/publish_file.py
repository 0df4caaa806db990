"""What ``passerelle publish`` does with a file before it becomes a dataset version: key loading, ingestion and
a one-line outcome. The command itself (and the dataset version record) lives with the node's publish command.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hub.collection import IngestResult, KeyError_, ingest
from hub.schemas import TableSchema, load_schema

__all__ = ["load_pseudonymisation_key", "publish_file", "describe"]


def load_pseudonymisation_key(path: str | os.PathLike) -> bytes:
    """The node's pseudonymisation key: at least 32 bytes, readable by its owner only (fail closed)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise KeyError_(f"pseudonymisation key {p} is missing; refusing to publish without it") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyError_(f"pseudonymisation key {p} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                        "chmod 600 it")
    key = p.read_bytes()
    if len(key) < 32:
        raise KeyError_(f"pseudonymisation key {p} holds {len(key)} bytes; at least 32 are needed")
    return key


def publish_file(path: str | os.PathLike, schema: str | TableSchema, data_dir: str | os.PathLike, key: bytes,
                 key_version: str | int = 1, original_name: str | None = None) -> IngestResult:
    """Ingest ``path`` into ``<data_dir>/datasets/<schema>/`` or quarantine it in ``<data_dir>/quarantine/``."""
    schema = load_schema(schema) if isinstance(schema, str) else schema
    data_dir = Path(data_dir)
    return ingest(path, schema, data_dir / "datasets" / schema.name, data_dir / "quarantine", key, key_version,
                  original_name=original_name)


def describe(result: IngestResult, limit: int = 5) -> list[str]:
    """Lines for a terminal: the outcome, then the first problems as ``row N, column: reason (value)``."""
    lines = [result.message]
    if not result.ok:
        for p in result.report.problems[:limit]:
            where = f"row {p.row}" if p.row is not None else "file"
            col = f", {p.column}" if p.column else ""
            val = f" ({p.value!r})" if p.value is not None else ""
            lines.append(f"  {where}{col}: {p.reason}{val} [{p.rule}]")
        if result.quarantine_path:
            lines.append(f"  report: {result.quarantine_path / 'report.json'}")
    return lines
