"""One collection pipeline for the node, whichever way the file came (``passerelle publish``, drop folder, upload
page or management API): ingest (validate → pseudonymise → Parquet, ``hub.collection.ingest``) into a staging
directory, move the Parquet file to its content-addressed place, record the new dataset version.

Nothing is half-published: a rejected file goes to quarantine with its report and the catalogue is not touched;
the only step that makes a version visible is the database row written last. A crash before it leaves the previous
version published (the staged ``.partial`` is removed by the next run; a landed but unrecorded Parquet file is
content-addressed and harmless, and is reused when the same file comes again).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from catalog import MetadataError, Problem
from connector.collection.settings import CollectionSettings, dataset_paths, take_settings
from hub.collection import IngestResult, KeyError_, ingest
from hub.collection.atomic import fsync_dir

__all__ = ["CollectionRefused", "Submission", "collect", "publish_collected", "submissions", "quarantine_reports",
           "quarantine_report"]

_LOG_LIMIT = 200  # submissions kept in view (the log file keeps them all)


class CollectionRefused(MetadataError):
    """The file was refused by the pipeline; ``result`` holds the report and where the file is kept."""

    def __init__(self, result: IngestResult, identifier: str, submission: "Submission | None" = None) -> None:
        report = result.report
        problems = [Problem(f"file:{p.column}" if p.column else "file", p.rule,
                            (f"row {p.row}: " if p.row is not None else "") + p.reason
                            + (f" ({p.value!r})" if p.value is not None else ""))
                    for p in report.problems[:20]]
        if report.total > len(problems):
            problems.append(Problem("file", "more", f"{report.total - len(problems)} more problem(s) in the report"))
        super().__init__(problems or [Problem("file", "rejected", result.message)], f"file of dataset {identifier!r}")
        self.result = result
        self.submission = submission


@dataclass
class Submission:
    """One file received for a dataset, and what became of it (what the page, the API and the log show)."""

    id: str
    dataset: str
    via: str  # "publish" | "depot" | "upload" | "api"
    original_name: str
    received: str
    status: str  # "published" | "unchanged" | "rejected"
    message: str
    version: int | None = None
    rows: int = 0
    input_sha256: str | None = None
    distribution_sha256: str | None = None
    quarantine: str | None = None  # the quarantine entry's name (see quarantine_report)
    counts: dict[str, int] = field(default_factory=dict)
    total_problems: int = 0
    report: dict[str, Any] | None = None  # the full report of a rejected file (not kept in the log line)

    @property
    def ok(self) -> bool:
        return self.status != "rejected"

    def to_dict(self, with_report: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not with_report:
            d.pop("report")
        return d


def _key(node: Any) -> bytes:
    from connector.commands.publish_file import load_pseudonymisation_key
    return load_pseudonymisation_key(node.config.key_path("pseudonymisation"))


def _move(source: Path, target: Path) -> None:
    """Rename the staged Parquet into place (same file system), then fsync the directory."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    fsync_dir(target.parent)


def publish_collected(node: Any, identifier: str, mapping: dict[str, Any], settings: CollectionSettings,
                      file: Path, filename: str | None, service: Any, via: str = "api") -> tuple[Any, Submission]:
    """The pipeline branch of ``publish_dataset``: ingest, land, record; raises ``CollectionRefused``.

    Returns the ``PublishResult`` and the logged submission."""
    from connector.publishing import PublishResult, distribution_path
    try:
        paths = dataset_paths(node, identifier)
    except ValueError as e:
        raise MetadataError([Problem("identifier", "bad-identifier", str(e))], f"dataset {identifier!r}") from None
    received = node.clock.utcnow()
    name = filename if filename is not None else Path(file).name
    _check_metadata(service, identifier, mapping, received)
    try:
        key = _key(node)
    except KeyError_ as e:
        raise MetadataError([Problem("key", "pseudonymisation-key", str(e))], f"dataset {identifier!r}") from None
    result = ingest(file, settings.schema, paths.staging, paths.quarantine, key, settings.key_version,
                    original_name=name, limits=settings.limits(), now=node.clock.utcnow)
    if not result.ok:
        sub = _submission(identifier, via, name, received, result)
        _log(paths.log, sub)
        raise CollectionRefused(result, identifier, sub)
    fields = result.distribution_fields()
    dist: dict[str, Any] = {"identifier": "parquet", "file_type": fields["file_type"],
                            "media_type": fields["media_type"], "byte_size": fields["byte_size"],
                            "sha256": fields["sha256"]}
    extra = mapping.pop("distribution", None)
    if isinstance(extra, Mapping):
        dist.update({k: v for k, v in extra.items() if k not in ("byte_size", "sha256", "file_type", "media_type")})
    mapping["distributions"] = [dist]
    assert result.output_path is not None
    target = distribution_path(node, identifier, fields["sha256"], "PARQUET")
    with _recording_lock(paths.staging.parent / "publish.lock"):
        landed = not target.exists()
        if landed:
            _move(result.output_path, target)
        else:
            result.output_path.unlink(missing_ok=True)
        try:
            dataset, changed = _record(service, identifier, mapping)
        except BaseException:
            if landed:  # nothing of a refused publication stays behind
                target.unlink(missing_ok=True)
            raise
    sub = _submission(identifier, via, name, received, result)
    sub.status = "published" if changed else "unchanged"
    sub.version = dataset.version
    sub.distribution_sha256 = fields["sha256"]
    sub.message = (f"published version {dataset.version}: {result.rows} rows" if changed
                   else f"same data as version {dataset.version}: nothing new published")
    _log(paths.log, sub)
    return PublishResult(dataset, changed, (target,) if landed else ()), sub


@contextlib.contextmanager
def _recording_lock(path: Path) -> Iterator[None]:
    """Workers and drop-folder scanners of one node record a dataset's versions one at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _record(service: Any, identifier: str, mapping: dict[str, Any], tries: int = 3) -> tuple[Any, bool]:
    """Record the version; another node process (on another host, sharing PostgreSQL) may take the same version
    number first: the catalogue is then re-read and the next number taken."""
    from sqlalchemy.exc import IntegrityError
    for attempt in range(tries):
        try:
            return service.publish(identifier, mapping)
        except IntegrityError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def _check_metadata(service: Any, identifier: str, mapping: dict[str, Any], now: Any) -> None:
    """Refuse incomplete metadata before reading a large file (with a stand-in distribution)."""
    from catalog.publishing import publish as plan
    trial = dict(mapping)
    trial["distributions"] = [{"identifier": "parquet", "file_type": "PARQUET", "byte_size": 1, "sha256": "0" * 64,
                               "media_type": "application/vnd.apache.parquet"}]
    trial.pop("distribution", None)
    plan(service.catalogue(), trial, now=now, identifier=identifier)


def _submission(identifier: str, via: str, name: str, received: Any, result: IngestResult) -> Submission:
    report = result.report.to_dict()
    return Submission(
        id=received.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8], dataset=identifier, via=via,
        original_name=name, received=received.isoformat(), status="published" if result.ok else "rejected",
        message=result.message, rows=result.rows, input_sha256=result.input_sha256 or None,
        quarantine=result.quarantine_path.name if result.quarantine_path else None,
        counts=dict(report["counts"]), total_problems=report["total_problems"],
        report=None if result.ok else report)


def _log(path: Path, sub: Submission) -> None:
    """Append one line (O_APPEND: workers and the drop folder may write at the same time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(sub.to_dict(with_report=False), ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def collect(node: Any, identifier: str, file: Path, *, original_name: str | None = None, via: str = "api",
            metadata: Mapping[str, Any] | None = None, service: Any = None) -> Submission:
    """Run a file through the pipeline and publish it; the outcome, never an exception, for pages and folders.

    Metadata problems (the dataset's section is incomplete or declares no schema) come back as a rejected
    submission too, logged like the others."""
    from connector.catalog_service import CatalogService
    from connector.publishing import expand_offer_templates, merged_metadata
    name = original_name if original_name is not None else Path(file).name
    mapping = merged_metadata(node, identifier, metadata)
    settings, problems = take_settings(mapping)
    problems += expand_offer_templates(mapping)
    if settings is None and not problems:
        problems.append(Problem("schema", "no-schema", f"dataset {identifier!r} declares no table schema: it "
                                                       "cannot receive files for the collection pipeline"))
    if not problems:
        assert settings is not None
        try:
            return publish_collected(node, identifier, mapping, settings, Path(file), name,
                                     service or CatalogService(node), via)[1]
        except CollectionRefused as e:
            assert e.submission is not None
            return e.submission
        except MetadataError as e:
            problems = list(e.problems)
    now = node.clock.utcnow()
    sub = Submission(id=now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8], dataset=identifier, via=via,
                     original_name=name, received=now.isoformat(), status="rejected",
                     message="the dataset's description is refused: "
                             + "; ".join(f"{p.field}: {p.message}" for p in problems),
                     counts={"metadata": len(problems)}, total_problems=len(problems))
    _log(dataset_paths(node, identifier).log, sub)
    return sub


def submissions(node: Any, identifier: str, limit: int = _LOG_LIMIT) -> list[Submission]:
    """The dataset's submissions, newest first."""
    path = dataset_paths(node, identifier).log
    if not path.exists():
        return []
    out: list[Submission] = []
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for line in reversed(lines):
        try:
            d = json.loads(line)
            out.append(Submission(**{k: v for k, v in d.items() if k in Submission.__dataclass_fields__}))
        except (ValueError, TypeError):
            continue  # a torn last line after a crash
        if len(out) >= limit:
            break
    return out


def quarantine_reports(node: Any, identifier: str) -> list[dict[str, Any]]:
    """Every rejected file kept for the dataset, newest first: entry name, when, file name and the counts."""
    root = dataset_paths(node, identifier).quarantine
    out = []
    for d in sorted(root.glob("*/report.json"), reverse=True):
        try:
            doc = json.loads(d.read_text(encoding="utf-8"))
        except ValueError:
            continue
        rep = doc.get("report", {})
        out.append({"id": d.parent.name, "received": doc.get("received"), "original_name": doc.get("original_name"),
                    "input_sha256": doc.get("input_sha256"), "kept_file": doc.get("kept_file"),
                    "fatal": rep.get("fatal"), "total_problems": rep.get("total_problems"),
                    "counts": rep.get("counts", {})})
    return out


def quarantine_report(node: Any, identifier: str, entry: str) -> dict[str, Any] | None:
    """The full report of one quarantine entry, or None (entry names are checked, never joined blindly)."""
    import re
    if not re.fullmatch(r"[0-9]{8}T[0-9]{6,12}Z-[0-9a-z]{1,16}", entry):
        return None
    root = dataset_paths(node, identifier).quarantine
    path = (root / entry / "report.json").resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["id"] = entry
    doc.pop("quarantine_path", None)
    doc.pop("output_path", None)
    return doc

