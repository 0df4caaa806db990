"""The hub checks each sustainable-tourism input against its declared schema before computing from it.

A file pulled from a provider (or given to the CLI or the API) has been validated by the provider's collection
pipeline, but the hub does not take that on trust: the same validator (``hub.collection.ingest``) runs again, with a
throw-away pseudonymisation key since only the verdict is kept. A file that does not conform is refused with the
validator's first problems (row, column, value, reason); the file and its full report are kept in quarantine.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub.collection import Report, ingest
from hub.indicators.engine import InputError
from hub.schemas import TableSchema, load_schema

__all__ = ["INPUT_SCHEMAS", "InputRefused", "InputCheck", "check_input", "check_inputs", "input_schema"]

#: input kind of ``compute_sustainable`` → declared schema (hub/schemas)
INPUT_SCHEMAS = {"energy": "accommodation-energy", "employment": "tourism-employment",
                 "arrivals": "visitor-arrivals", "trips": "visitor-trips"}
_CITED = 5  # problems quoted in the message (the report keeps the first 100)


class InputRefused(InputError):
    """An input does not conform to its schema; ``checks`` holds every input's verdict."""

    def __init__(self, message: str, checks: dict[str, "InputCheck"]) -> None:
        super().__init__(message)
        self.checks = checks


@dataclass(frozen=True)
class InputCheck:
    kind: str
    path: Path
    schema: TableSchema
    report: Report
    rows: int
    quarantine: Path | None = None

    @property
    def ok(self) -> bool:
        return self.report.ok

    def message(self) -> str:
        """One paragraph a provider can act on: the file, the schema, the counts and the first problems."""
        head = f"{self.kind} file {self.path} does not conform to {self.schema.name} {self.schema.version}"
        kept = f" (report: {self.quarantine / 'report.json'})" if self.quarantine else ""
        if self.report.fatal:
            return f"{head}: {self.report.fatal}{kept}"
        counts = ", ".join(f"{rule}: {n}" for rule, n in sorted(self.report.counts.items()))
        cited = "; ".join(
            (f"row {p.row}" if p.row is not None else "file") + (f", column {p.column}" if p.column else "")
            + (f" ({p.value!r})" if p.value is not None else "") + f": {p.reason}"
            for p in self.report.problems[:_CITED])
        more = self.report.total - min(len(self.report.problems), _CITED)
        return (f"{head}: {self.report.total} problem(s) ({counts}); {cited}"
                + (f"; {more} more in the report" if more > 0 else "") + kept)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "path": str(self.path), "schema": self.schema.iri, "ok": self.ok,
                "rows": self.rows, "quarantine": str(self.quarantine) if self.quarantine else None,
                "report": self.report.to_dict()}


def input_schema(kind: str) -> TableSchema:
    if kind not in INPUT_SCHEMAS:
        raise InputError(f"unknown input {kind!r}; expected one of {', '.join(INPUT_SCHEMAS)}")
    return load_schema(INPUT_SCHEMAS[kind])


def check_input(kind: str, path: str | Path, quarantine_dir: str | Path | None = None, *,
                now: Callable[[], dt.datetime] | None = None) -> InputCheck:
    """Validate one input file (CSV or Parquet) against its declared schema; nothing is written unless it fails
    and ``quarantine_dir`` is given (the file and its report.json are then kept there, stamped with ``now``)."""
    schema = input_schema(kind)
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{kind} file not found: {path}")
    scratch = Path(tempfile.mkdtemp(prefix=f"passerelle-check-{kind}-"))
    try:
        result = ingest(path, schema, scratch / "out", Path(quarantine_dir) if quarantine_dir else scratch / "q",
                        secrets.token_bytes(32), "0", **({"now": now} if now else {}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    kept = result.quarantine_path if quarantine_dir and result.quarantine_path else None
    return InputCheck(kind, path, schema, result.report, result.rows, kept)


def check_inputs(inputs: dict[str, str | Path], quarantine_dir: str | Path | None = None, *,
                 now: Callable[[], dt.datetime] | None = None) -> dict[str, InputCheck]:
    """Check every input; raises :class:`InputRefused` naming each file that does not conform."""
    checks = {kind: check_input(kind, path, Path(quarantine_dir) / kind if quarantine_dir else None, now=now)
              for kind, path in sorted(inputs.items())}
    bad = [c for c in checks.values() if not c.ok]
    if bad:
        raise InputRefused(" | ".join(c.message() for c in bad), checks)
    return checks
