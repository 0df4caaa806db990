"""Which datasets go through the collection pipeline, and where their files live on the node.

A ``[datasets.<id>]`` section declares a table schema with ``schema = "campsite-bookings"`` (a bundled name or IRI)
or by citing a bundled schema's IRI in ``conforms_to``. Such a dataset is published only through the pipeline
(validate → pseudonymise → Parquet → new version); any other dataset publishes its file as it is. The keys read here
(``schema``, ``key_version``, ``max_upload_bytes``) are the node's, not DCAT's, so they are taken out of the mapping
before the catalogue reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from catalog import Problem
from hub.collection import Limits
from hub.schemas import SchemaError, TableSchema, load_schema, schema_by_iri

__all__ = ["CollectionSettings", "COLLECTION_KEYS", "take_settings", "settings_for", "collected_datasets",
           "DatasetPaths", "dataset_paths", "check_dataset_id", "magic_suffix"]

COLLECTION_KEYS = ("schema", "key_version", "max_upload_bytes")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class CollectionSettings:
    schema: TableSchema
    key_version: str = "1"
    max_bytes: int = Limits.max_bytes  # a file (or upload) of this many bytes or more is refused

    def limits(self) -> Limits:
        return replace(Limits(), max_bytes=self.max_bytes)


def check_dataset_id(identifier: str) -> str:
    """Dataset ids name directories of the node: plain names only."""
    if not _ID.match(identifier) or ".." in identifier:
        raise ValueError(f"dataset identifier {identifier!r} is not a plain name (letters, digits, '.', '_', '-')")
    return identifier


def take_settings(mapping: dict[str, Any]) -> tuple[CollectionSettings | None, list[Problem]]:
    """Pop the collection keys out of a dataset mapping; make sure ``conforms_to`` cites the schema's IRI."""
    raw = {k: mapping.pop(k) for k in COLLECTION_KEYS if k in mapping}
    problems: list[Problem] = []
    schema: TableSchema | None = None
    if "schema" in raw:
        if not isinstance(raw["schema"], str):
            problems.append(Problem("schema", "bad-type", "expected a schema name or IRI (text)"))
        else:
            try:
                schema = load_schema(raw["schema"])
            except SchemaError as e:
                problems.append(Problem("schema", "unknown-schema", str(e)))
    else:
        cited = mapping.get("conforms_to")
        for iri in ([cited] if isinstance(cited, str) else cited or []):
            if isinstance(iri, str) and iri.startswith("http"):
                try:
                    schema = schema_by_iri(iri)
                    break
                except SchemaError:
                    continue
    if schema is None:
        if problems or (set(raw) - {"schema"}):
            problems += [Problem(k, "no-schema", f"{k} applies only to a dataset with a table schema")
                         for k in raw if k != "schema"]
        return None, problems
    version = raw.get("key_version", 1)
    if isinstance(version, bool) or not isinstance(version, (int, str)) or not str(version).isalnum():
        problems.append(Problem("key_version", "bad-type", "expected a short alphanumeric key version, e.g. 1"))
        version = 1
    max_bytes = raw.get("max_upload_bytes", Limits.max_bytes)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        problems.append(Problem("max_upload_bytes", "bad-type", "expected a positive number of bytes"))
        max_bytes = Limits.max_bytes
    cited = mapping.get("conforms_to")
    cited_list = [cited] if isinstance(cited, str) else list(cited or [])
    if schema.iri not in cited_list:
        mapping["conforms_to"] = cited_list + [schema.iri]
    return CollectionSettings(schema, str(version), min(int(max_bytes), Limits.max_bytes)), problems


def settings_for(node: Any, identifier: str, metadata: Mapping[str, Any] | None = None) -> CollectionSettings | None:
    """The settings of a dataset of ``node`` (its config section merged with ``metadata``), or None."""
    from connector.publishing import merged_metadata
    settings, _ = take_settings(merged_metadata(node, identifier, metadata))
    return settings


def collected_datasets(node: Any) -> dict[str, CollectionSettings]:
    """Every dataset of the node's config that declares a table schema."""
    out: dict[str, CollectionSettings] = {}
    for ident in node.config.model.datasets:
        s = settings_for(node, ident)
        if s is not None and _ID.match(ident):
            out[ident] = s
    return out


@dataclass(frozen=True)
class DatasetPaths:
    staging: Path     # where the pipeline writes (a hidden .partial, renamed when valid)
    quarantine: Path  # rejected files with their report.json
    uploads: Path     # uploads being received (uuid names, never the client's)
    log: Path         # one JSON line per submission
    drop: Path        # the drop folder a provider writes into


def dataset_paths(node: Any, identifier: str) -> DatasetPaths:
    check_dataset_id(identifier)
    base = node.data_dir / "collection" / identifier
    return DatasetPaths(staging=base / "staging", quarantine=node.data_dir / "quarantine" / identifier,
                        uploads=base / "uploads", log=base / "submissions.jsonl",
                        drop=node.config.base / "depot" / identifier)


def magic_suffix(path: Path) -> str:
    """``.xlsx``, ``.parquet`` or ``.csv`` from a file's first bytes: received files are stored under generated
    names, and the spreadsheet reader wants an extension it knows (the client's name is never trusted for it)."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        return ".xlsx"
    if head == b"PAR1":
        return ".parquet"
    return ".csv"
