"""Fixtures: one Spark session for the whole test session, and a small hand-made export both engines read.

The hand-made export: twelve campsites in two régions (Occitanie: Hérault 4, Gard 3; Bretagne: Finistère 3,
Morbihan 2), snapshot Monday 2025-06-16, one July week in each season. Every value the tests expect is worked out
by hand in test_values.py from the bookings written here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

D = dt.date
SNAPSHOT = D(2025, 6, 16)
WEEK = D(2025, 7, 7)  # ISO 2025-W28, on the books at the snapshot
WEEK_LY = D(2024, 7, 8)  # 364 days earlier, ISO 2024-W28, realised
CAMPSITES = [  # pid, département, stars band
    ("c01", "34", "3"), ("c02", "34", "3"), ("c03", "34", "3"), ("c04", "34", "3"),
    ("c05", "30", "4-5"), ("c06", "30", "4-5"), ("c07", "30", "4-5"),
    ("c08", "29", "3"), ("c09", "29", "3"), ("c10", "29", "3"),
    ("c11", "56", "1-2"), ("c12", "56", "1-2"),
]


def _booking(rows, pid, dep, bid, booked, arrival, nights, unit, adults, children, country, status="CONFIRMED",
             cancel=None, residential=False):
    for k in range(nights):
        rows.append(dict(snapshot_date=SNAPSHOT, campsite_pid=pid, dep_code=dep, booking_pid=bid, booking_date=booked,
                         status=status, cancel_date=cancel, arrival_date=arrival,
                         departure_date=arrival + dt.timedelta(days=nights), stay_date=arrival + dt.timedelta(days=k),
                         nights=nights, unit_type=unit, adults=adults, children=children, country_code=country,
                         channel="DIRECT", amount_eur=None, residential=residential))


def hand_made_rows() -> tuple[list[dict], list[dict], list[dict]]:
    bookings: list[dict] = []
    capacity: list[dict] = []
    for i, (pid, dep, _stars) in enumerate(CAMPSITES, start=1):
        # this season, week of 2025-07-07
        _booking(bookings, pid, dep, f"{pid}-P", D(2025, 5, 1), D(2025, 7, 7), 3, "PITCH_BARE", 2, 1, "FR")
        _booking(bookings, pid, dep, f"{pid}-R", D(2025, 6, 12), D(2025, 7, 8), 5, "MOBILHOME", 2, 2,
                 "NL" if i % 2 else "DE")
        if i % 2 == 0:  # cancelled after the snapshot week before: on the books at t-7, not at t
            _booking(bookings, pid, dep, f"{pid}-X", D(2025, 4, 1), D(2025, 7, 9), 2, "PITCH_SERVICED", 2, 0, "FR",
                     status="CANCELLED", cancel=D(2025, 6, 12))
        if pid == "c03":  # an option is not on the books
            _booking(bookings, pid, dep, f"{pid}-O", D(2025, 6, 10), D(2025, 7, 10), 2, "CHALET", 2, 0, "BE",
                     status="OPTION")
        if pid == "c04":  # an annual resident is outside the barometer
            _booking(bookings, pid, dep, f"{pid}-A", D(2025, 1, 5), D(2025, 7, 7), 7, "PITCH_BARE", 2, 0, "FR",
                     residential=True)
        days = [WEEK + dt.timedelta(days=k) for k in range(7)]
        if pid != "c12":  # c12 is new this season: outside the constant panel
            _booking(bookings, pid, dep, f"{pid}-PL", D(2024, 5, 1), D(2024, 7, 8), 2, "PITCH_BARE", 1, 1, "FR")
            _booking(bookings, pid, dep, f"{pid}-RL", D(2024, 6, 25), D(2024, 7, 9), 4, "MOBILHOME", 2, 2, "GB")
            days += [WEEK_LY + dt.timedelta(days=k) for k in range(7)]
        for d in days:
            capacity.append(dict(snapshot_date=SNAPSHOT, campsite_pid=pid, dep_code=dep, date=d,
                                 unit_type="PITCH_BARE", units_available=10, is_open=True))
            capacity.append(dict(snapshot_date=SNAPSHOT, campsite_pid=pid, dep_code=dep, date=d,
                                 unit_type="MOBILHOME", units_available=5, is_open=True))
    campsites = [dict(campsite_pid=p, dep_code=d, stars_band=s) for p, d, s in CAMPSITES]
    return bookings, capacity, campsites


BOOKING_SCHEMA = pa.schema([
    ("snapshot_date", pa.date32()), ("campsite_pid", pa.string()), ("dep_code", pa.string()),
    ("booking_pid", pa.string()), ("booking_date", pa.date32()), ("status", pa.string()),
    ("cancel_date", pa.date32()), ("arrival_date", pa.date32()), ("departure_date", pa.date32()),
    ("stay_date", pa.date32()), ("nights", pa.int16()), ("unit_type", pa.string()), ("adults", pa.int8()),
    ("children", pa.int8()), ("country_code", pa.string()), ("channel", pa.string()),
    ("amount_eur", pa.float64()), ("residential", pa.bool_()),
])
CAPACITY_SCHEMA = pa.schema([
    ("snapshot_date", pa.date32()), ("campsite_pid", pa.string()), ("dep_code", pa.string()), ("date", pa.date32()),
    ("unit_type", pa.string()), ("units_available", pa.int32()), ("is_open", pa.bool_()),
])


@pytest.fixture(scope="session")
def hand_made(tmp_path_factory) -> dict[str, Path]:
    """The hand-made export as Parquet (bookings, capacity, campsites) and the bookings also as CSV."""
    out = tmp_path_factory.mktemp("hand")
    bookings, capacity, campsites = hand_made_rows()
    b = pa.Table.from_pylist(bookings, schema=BOOKING_SCHEMA)
    pq.write_table(b, out / "bookings.parquet")
    pq.write_table(pa.Table.from_pylist(capacity, schema=CAPACITY_SCHEMA), out / "capacity.parquet")
    pq.write_table(pa.Table.from_pylist(campsites), out / "campsites.parquet")
    import pyarrow.csv as pacsv

    pacsv.write_csv(b, out / "bookings.csv")
    return {"bookings": out / "bookings.parquet", "capacity": out / "capacity.parquet",
            "campsites": out / "campsites.parquet", "bookings_csv": out / "bookings.csv"}


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> dict[str, Path]:
    """A small export from the project's calibrated generator."""
    out = tmp_path_factory.mktemp("generated")
    from hub.generate.campsites import generate_campsites
    res = generate_campsites(out, campsites=6, season=2025, snapshot=SNAPSHOT, seed=3)
    return {k: Path(v) for k, v in res.files.items()}
