"""Literal values of right operands: xsd:dateTime / xsd:date instants and ISO 8601 durations.

Times without a zone are read as UTC, so comparisons never mix naive and aware datetimes; durations keep years
and months apart from days so ``P1M`` after 31 January is the end of February, not 30 days later.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

__all__ = ["Duration", "parse_datetime", "parse_date", "parse_duration", "add_duration"]

_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration: calendar part (months) and exact part (a timedelta)."""

    months: int
    delta: timedelta

    def __str__(self) -> str:
        return f"P{self.months}M{self.delta.days}DT{self.delta.seconds + self.delta.microseconds / 1e6:g}S"


def parse_duration(text: str) -> Duration:
    """``P30D``, ``PT12H``, ``P1Y2M``… (no negative durations); raises ValueError otherwise."""
    m = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    y, mo, w, d, h, mi, s = m.groups()
    months = int(y or 0) * 12 + int(mo or 0)
    delta = timedelta(weeks=int(w or 0), days=int(d or 0), hours=int(h or 0), minutes=int(mi or 0),
                      seconds=float(s or 0))
    return Duration(months, delta)


def add_duration(start: datetime, d: Duration) -> datetime:
    """``start + d``, clamping the day when the month is shorter (31 Jan + P1M = 28/29 Feb)."""
    if d.months:
        total = start.month - 1 + d.months
        year, month = start.year + total // 12, total % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        start = start.replace(year=year, month=month, day=day)
    return start + d.delta


def parse_datetime(text: str) -> datetime:
    """An xsd:dateTime (``Z`` or offset; no zone = UTC); raises ValueError otherwise."""
    if isinstance(text, datetime):
        dt = text
    elif isinstance(text, str) and "T" in text:
        t = text.strip()
        if t.endswith("Z"):
            t = t[:-1] + "+00:00"
        # ``2023-12-31T06:00Z``: seconds are optional in practice (the DSP example omits them)
        if re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?:[+-]|$)", t):
            t = t[:16] + ":00" + t[16:]
        dt = datetime.fromisoformat(t)
    else:
        raise ValueError(f"not an xsd:dateTime: {text!r}")
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def parse_date(text: str) -> date:
    if isinstance(text, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", text.strip()):
        return date.fromisoformat(text.strip())
    raise ValueError(f"not an xsd:date: {text!r}")
