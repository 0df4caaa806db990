"""Metadata problems: each names the key at fault, so a publisher can fix all of them in one go."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "MetadataError"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with dataset metadata: ``field`` is the key path (``themes[1]``), ``code`` a stable tag."""

    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class MetadataError(ValueError):
    """Publishing refused; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem], subject: str = "dataset metadata"):
        self.problems = problems
        super().__init__(f"invalid {subject} ({len(problems)} problem{'s' if len(problems) != 1 else ''}): "
                         + "; ".join(str(p) for p in problems))
