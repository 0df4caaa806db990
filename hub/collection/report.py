"""The validation report: first problems (row, column, value, reason) and a count per rule."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Problem", "Report", "MAX_PROBLEMS", "RULES"]

MAX_PROBLEMS = 100

# Every rule a report can name, with what a person should do about it.
RULES = {
    "file_name": "the uploaded file's name is unsafe",
    "size": "the file is over the size limit",
    "format": "the file is not CSV UTF-8, .xlsx or Parquet",
    "encoding": "the text is not UTF-8",
    "zip_bomb": "the workbook expands beyond the limits",
    "truncated": "the file ends early or is corrupt",
    "header": "the header line is missing or unreadable",
    "columns": "the columns do not match the schema",
    "rows": "the file has too many rows",
    "column_count": "a line has the wrong number of fields",
    "type": "a value is not of the column's type",
    "required": "a required value is empty",
    "enum": "a value is outside the column's list of codes",
    "pattern": "a value does not have the expected form",
    "length": "a value is too short or too long",
    "minimum": "a value is below the minimum",
    "maximum": "a value is above the maximum",
    "insee_code": "an INSEE code that does not exist",
    "formula_injection": "a cell starts like a spreadsheet formula",
    "duplicate": "the same key appears on several rows",
}


@dataclass(frozen=True)
class Problem:
    """One problem; ``row`` counts the header as row 1 (as a spreadsheet shows it), None for file-level problems."""

    row: int | None
    column: str | None
    value: str | None
    rule: str
    reason: str


@dataclass
class Report:
    schema: str
    rows_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    fatal: str | None = None

    @property
    def ok(self) -> bool:
        return self.fatal is None and not self.counts

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, problems: list[Problem], counts: dict[str, int]) -> None:
        """Merge a batch's problems (rows ascending) and counts; keeps the first MAX_PROBLEMS by row."""
        for rule, n in counts.items():
            self.counts[rule] = self.counts.get(rule, 0) + n
        if problems:
            merged = self.problems + problems
            merged.sort(key=lambda p: (p.row is not None, p.row or 0))
            self.problems = merged[:MAX_PROBLEMS]

    def refuse(self, rule: str, message: str, row: int | None = None) -> None:
        self.fatal = message
        self.add([Problem(row, None, None, rule, message)], {rule: 1})

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "ok": self.ok, "rows_checked": self.rows_checked, "fatal": self.fatal,
                "total_problems": self.total, "counts": dict(sorted(self.counts.items())),
                "problems": [asdict(p) for p in self.problems]}

    def summary(self) -> str:
        if self.ok:
            return f"{self.rows_checked} rows valid"
        if self.fatal:
            return self.fatal
        parts = ", ".join(f"{r}: {n}" for r, n in sorted(self.counts.items()))
        first = self.problems[0] if self.problems else None
        where = f"; first at row {first.row}, column {first.column}: {first.reason}" if first else ""
        return f"{self.total} problems ({parts}){where}"
