"""Publishing a file as a dataset version: the node's side of ``catalog.publish``.

A file becomes a distribution (EU file type, media type, byte size, sha256, the node's DSP service as access service)
and lands atomically in ``<data_dir>/published/<dataset>/<sha256>.<ext>`` (content-addressed, so a republished file
never overwrites a version someone may still pull). The metadata is the node's ``[datasets.<id>]`` section merged
with what the call gives; everything is validated before anything is recorded, and a refusal lists every problem and
leaves the previous version published.
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from catalog import Dataset, MetadataError, Problem
from connector.node import Node

__all__ = ["FILE_TYPES", "PublishResult", "describe_file", "merged_metadata", "publish_dataset",
           "distribution_path", "expand_offer_templates"]

# extension → (EU file-type code, IANA media type)
FILE_TYPES: dict[str, tuple[str, str]] = {
    ".csv": ("CSV", "text/csv"),
    ".xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".parquet": ("PARQUET", "application/vnd.apache.parquet"),
    ".json": ("JSON", "application/json"),
    ".zip": ("ZIP", "application/zip"),
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PublishResult:
    dataset: Dataset
    changed: bool
    files: tuple[Path, ...]

    def summary(self) -> dict[str, Any]:
        d = self.dataset
        return {"identifier": d.identifier, "iri": d.iri, "version": d.version, "changed": self.changed,
                "modified": d.modified.isoformat() if d.modified else None,
                "distributions": [{"identifier": x.identifier, "file_type": x.file_type, "media_type": x.media_type,
                                   "byte_size": x.byte_size, "sha256": x.sha256} for x in d.distributions]}


def _extension(name: str) -> str:
    return Path(name).suffix.lower()


def describe_file(path: Path, name: str | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """The distribution fields of a file (without copying it): file type, media type, byte size, sha256."""
    ext = _extension(name or path.name)
    problems: list[Problem] = []
    if ext not in FILE_TYPES:
        problems.append(Problem("file", "unknown-file-type",
                                f"cannot publish a {ext or 'extension-less'} file: use one of "
                                f"{', '.join(sorted(FILE_TYPES))}"))
    if not path.is_file():
        problems.append(Problem("file", "missing", f"no such file on the node: {path}"))
        return {}, problems
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
            size += len(block)
    file_type, media = FILE_TYPES.get(ext, ("", ""))
    return {"identifier": file_type.lower() or "file", "file_type": file_type, "media_type": media,
            "byte_size": size, "sha256": h.hexdigest()}, problems


def distribution_path(node: Node, dataset: str, sha256: str, file_type: str) -> Path:
    """Where a published distribution's bytes live on the node (what the data plane serves)."""
    ext = next((e for e, (t, _) in FILE_TYPES.items() if t == file_type), ".bin")
    return node.data_dir / "published" / dataset / f"{sha256}{ext}"


def expand_offer_templates(mapping: dict[str, Any]) -> list[Problem]:
    """``offer_templates = [{template = "tourism-standard", id = "…", territory = "DEP-34", …}]`` → ``offers``.

    Lets a node's config name the policy templates of ``config/policies/`` instead of spelling ODRL out.
    """
    specs = mapping.pop("offer_templates", None)
    if specs is None:
        return []
    from policies import templates
    problems: list[Problem] = []
    offers = list(mapping.get("offers") or [])
    for i, spec in enumerate(specs if isinstance(specs, list) else [specs]):
        if not isinstance(spec, Mapping) or not isinstance(spec.get("template"), str):
            problems.append(Problem(f"offer_templates[{i}]", "bad-type", "expected a table with a 'template' name"))
            continue
        params = {k: v for k, v in spec.items() if k != "template"}
        try:
            offers.append(templates.load(spec["template"], **params))
        except Exception as e:  # unknown template or parameters: reported with the others
            problems.append(Problem(f"offer_templates[{i}]", "bad-offer", f"{spec['template']}: {e}"))
    mapping["offers"] = offers
    return problems


def merged_metadata(node: Node, identifier: str, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """``[datasets.<id>]`` from the node's config, overridden key by key by the call's metadata."""
    base = copy.deepcopy(dict(node.config.model.datasets.get(identifier) or {}))
    for key, value in (metadata or {}).items():
        base[key] = copy.deepcopy(value)
    return base


def publish_dataset(node: Node, identifier: str, *, file: Path | None = None, filename: str | None = None,
                    metadata: Mapping[str, Any] | None = None, service: Any = None,
                    via: str = "api") -> PublishResult:
    """Validate, land the file, record the version; :class:`MetadataError` lists every problem otherwise.

    ``filename`` is the name the file had for its sender (an upload lands under a temporary name), used for its
    type. Nothing is written when anything is wrong, and the previous version stays published.

    A dataset that declares a table schema (``schema = "…"`` or a bundled schema's IRI in ``conforms_to``) takes
    its file through the collection pipeline instead (``connector.collection``): validated, pseudonymised and
    published as Parquet; a refused file raises ``CollectionRefused`` (a ``MetadataError``) with its report.
    ``via`` names the way the file came, for the collection log.
    """
    from connector.catalog_service import CatalogService
    from connector.collection import publish_collected, take_settings
    service = service or CatalogService(node)
    mapping = merged_metadata(node, identifier, metadata)
    settings, problems = take_settings(mapping)
    problems += expand_offer_templates(mapping)
    if settings is not None and file is not None and not problems:
        return publish_collected(node, identifier, mapping, settings, Path(file), filename, service, via)[0]
    dist: dict[str, Any] | None = None
    if file is not None:
        dist, file_problems = describe_file(Path(file), filename)
        problems += file_problems
        if dist:
            extra = mapping.pop("distribution", None)  # the call may name the distribution or give it a title
            if isinstance(extra, Mapping):
                dist.update({k: v for k, v in extra.items() if k not in ("byte_size", "sha256")})
            mapping["distributions"] = [dist]
    if problems:
        # the catalogue adds its own problems to ours, so the publisher sees everything at once
        from catalog import read_dataset, validate_dataset
        current = service.catalogue()
        candidate, more = read_dataset(identifier, {k: v for k, v in mapping.items()}, current)
        more += [p for p in validate_dataset(candidate, current) if not any(p.field == q.field for q in more)]
        raise MetadataError(problems + [p for p in more if p.field != "distributions" or dist is None],
                            f"metadata of dataset {identifier!r}")
    landed: list[Path] = []
    if file is not None and dist:
        target = distribution_path(node, identifier, dist["sha256"], dist["file_type"])
        if not target.exists():
            digest = _land(Path(file), target)
            landed.append(target)
            if digest != dist["sha256"]:  # the file changed between description and copy
                target.unlink(missing_ok=True)
                raise MetadataError([Problem("file", "changed", "the file changed while it was being published; "
                                                                "publish it again")], f"file of dataset {identifier!r}")
    try:
        dataset, changed = service.publish(identifier, mapping)
    except BaseException:
        for p in landed:  # nothing of a refused publication stays behind
            p.unlink(missing_ok=True)
        raise
    return PublishResult(dataset, changed, tuple(landed))


def _land(source: Path, target: Path) -> str:
    """Copy through a temp file in the target directory: fsync, rename, fsync the directory (DESIGN §5).

    Returns the sha256 of the bytes copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}.partial"
    h = hashlib.sha256()
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        while block := src.read(_CHUNK):
            h.update(block)
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
    fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return h.hexdigest()
