"""Primary disclosure rules (tourism.md §4.1, INSEE "Manuel de protection des tableaux").

A cell is *sensitive* when it is built from fewer than ``min_units`` campsites (frequency rule), when one campsite
accounts for more than ``dominance`` of the cell's value for any of its magnitude variables (dominance rule), or,
for counts of guests, when fewer than ``min_persons`` bookings make it up (the k = 11 rule for natural persons).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FREQUENCY, DOMINANCE, PERSONS, SECONDARY, LINKED = "frequency", "dominance", "persons", "secondary", "linked"


@dataclass(frozen=True)
class Rules:
    """Thresholds of the primary rules. ``min_units`` ≥ 3 and ``dominance`` ≤ 0.85 are INSEE's minimums."""

    min_units: int = 3
    dominance: float = 0.85
    min_persons: int = 11

    def __post_init__(self) -> None:
        problems = []
        if self.min_units < 1:
            problems.append(f"min_units must be ≥ 1, got {self.min_units}")
        if not 0 < self.dominance <= 1:
            problems.append(f"dominance must be in (0, 1], got {self.dominance}")
        if self.min_persons < 0:
            problems.append(f"min_persons must be ≥ 0, got {self.min_persons}")
        if problems:
            raise ValueError("invalid disclosure rules: " + "; ".join(problems))


def primary_reasons(n_units: np.ndarray, totals: dict[str, np.ndarray], maxima: dict[str, np.ndarray],
                    persons: np.ndarray | None, rules: Rules) -> np.ndarray:
    """The first failing rule per cell (``""`` when the cell may be published).

    ``totals[m]`` and ``maxima[m]`` are a magnitude variable's cell sum and largest single contribution.
    """
    n = len(n_units)
    reason = np.full(n, "", dtype=object)
    if persons is not None:
        reason[np.asarray(persons) < rules.min_persons] = PERSONS
    for m, tot in totals.items():
        tot = np.asarray(tot, dtype=float)
        mx = np.asarray(maxima[m], dtype=float)
        dominated = (tot > 0) & (mx > rules.dominance * tot)
        reason[dominated] = DOMINANCE
    reason[np.asarray(n_units) < rules.min_units] = FREQUENCY
    return reason
