"""Shared fixtures: a valid booking export built by hand, and writers for CSV/xlsx/Parquet variants of it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hub.schemas import load_schema

KEY = bytes(range(32))

COLUMNS = load_schema("campsite-bookings").names


def good_rows() -> list[dict[str, str]]:
    """Three bookings, six rows: one 3-night stay, one 2-night cancelled stay, one 1-night bare pitch."""
    base = {"snapshot_date": "2026-06-15", "campsite_pid": "CS00001", "dep_code": "85", "booking_date": "2026-01-12",
            "status": "CONFIRMED", "cancel_date": "", "unit_type": "MOBILHOME", "adults": "2", "children": "2",
            "country_code": "FR", "channel": "DIRECT", "amount_eur": "", "residential": "false"}
    rows = []
    for i, d in enumerate(["2026-07-18", "2026-07-19", "2026-07-20"]):
        rows.append({**base, "booking_pid": "BK1", "arrival_date": "2026-07-18", "departure_date": "2026-07-21",
                     "stay_date": d, "nights": "3"})
    for d in ["2026-08-01", "2026-08-02"]:
        rows.append({**base, "campsite_pid": "CS00002", "dep_code": "2A", "booking_pid": "BK2", "status": "CANCELLED",
                     "cancel_date": "2026-03-01", "arrival_date": "2026-08-01", "departure_date": "2026-08-03",
                     "stay_date": d, "nights": "2", "country_code": "NL", "channel": "OTA"})
    rows.append({**base, "booking_pid": "BK3", "unit_type": "PITCH_BARE", "arrival_date": "2026-06-20",
                 "departure_date": "2026-06-21", "stay_date": "2026-06-20", "nights": "1", "children": "0",
                 "amount_eur": "31.5", "residential": "true"})
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None, delimiter: str = ",") -> Path:
    columns = columns or COLUMNS
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, delimiter=delimiter, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[dict[str, str]], raw: dict[tuple[int, str], object] | None = None) -> Path:
    """An .xlsx as a person would type it: dates as dates, numbers as numbers; ``raw`` overrides cells."""
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(COLUMNS)
    for i, r in enumerate(rows):
        cells = []
        for c in COLUMNS:
            v: object = r[c]
            if (i, c) in (raw or {}):
                v = raw[(i, c)]
            elif v == "":
                v = None
            elif c.endswith("_date"):
                v = dt.date.fromisoformat(v)
            elif c in ("nights", "adults", "children"):
                v = int(v)
            cells.append(v)
        ws.append(cells)
    wb.save(path)
    return path


class _Kit:
    KEY = KEY
    COLUMNS = COLUMNS
    good_rows = staticmethod(good_rows)
    write_csv = staticmethod(write_csv)
    write_xlsx = staticmethod(write_xlsx)
    visible = staticmethod(None)


@pytest.fixture
def kit() -> type[_Kit]:
    """The helpers above (test modules cannot import conftest under --import-mode=importlib)."""
    return _Kit


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "out", tmp_path / "quarantine"


def visible(directory: Path) -> list[str]:
    """Files a reader of the directory would see (hidden temp files excluded)."""
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith(".")) if directory.exists() else []


_Kit.visible = staticmethod(visible)
