"""Indicators on the hand-made export (conftest.py) equal values worked out by hand, on both engines.

Per campsite, week of 2025-07-07 (this season, on the books at 2025-06-16):
  P  pitch, 3 nights (7–9 Jul), 3 persons, FR, booked 1 May (lead 67 d), confirmed
  R  mobile home, 5 nights (8–12 Jul), 4 persons, NL (odd campsites) / DE (even), booked 12 Jun (lead 26 d)
  X  (even campsites) serviced pitch, 2 nights, booked 1 Apr, cancelled 12 Jun: on the books on 9 Jun, not on 16 Jun
  plus an option at c03 and a resident at c04, both outside the barometer.
  Capacity: 10 pitches + 5 mobile homes every night: 70 + 35 = 105 unit-nights a week.
Week of 2024-07-08 (c01–c11 only): pitch 2 nights booked 1 May 2024; mobile home 4 nights booked 25 Jun 2024 (after
the comparison date 2024-06-17, so not on the books "at date").
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from hub.indicators import compute_barometer, compute_raw

D = dt.date
WEEK, WEEK_LY, SNAPSHOT = D(2025, 7, 7), D(2024, 7, 8), D(2025, 6, 16)


def row(t: pa.Table, **keys) -> dict:
    rows = [r for r in t.to_pylist() if all(r.get(k) == v for k, v in keys.items())]
    assert len(rows) == 1, (keys, len(rows))
    return rows[0]


def cell(t, week=WEEK, geo="FR", unit="ALL", stars="ALL", **extra):
    return row(t, week_start=week, geo_code=geo, unit_group=unit, stars_band=stars, **extra)


@pytest.fixture(scope="module")
def raw(hand_made):
    # the same expressions on Spark are checked against these DuckDB results in test_parity.py
    tables, snap = compute_raw(hand_made["bookings"], hand_made["capacity"], None, "duckdb", hand_made["campsites"])
    assert snap == SNAPSHOT  # the latest snapshot in the file
    return tables


def test_occupancy_pickup_nights_and_stays(raw):
    c = cell(raw["weekly"])
    assert c["n_campsites"] == 12
    assert c["capacity"] == 12 * 105
    assert c["unit_nights"] == 12 * (3 + 5)  # the cancelled, the option and the resident do not count
    assert c["occupancy_rate"] == pytest.approx(96 / 1260)
    assert c["basis"] == "on_the_books"
    assert c["unit_nights_prev_week"] == 12 * 3 + 6 * 2  # R not yet booked on 9 Jun; X still on the books
    assert c["pickup_unit_nights"] == 96 - 48
    assert c["person_nights"] == 12 * (3 * 3 + 5 * 4)
    assert c["persons_per_unit"] == pytest.approx(348 / 96)
    assert c["foreign_share"] == pytest.approx(240 / 348)
    assert c["arrivals"] == 24 and c["arrival_persons"] == 12 * 7
    assert c["avg_length_of_stay"] == pytest.approx((3 + 5) / 2)
    assert c["avg_lead_time_days"] == pytest.approx((67 + 26) / 2)


def test_breakdowns_by_territory_unit_and_stars(raw):
    w = raw["weekly"]
    assert cell(w, unit="PITCH")["occupancy_rate"] == pytest.approx(36 / 840)
    assert cell(w, unit="RENTAL")["occupancy_rate"] == pytest.approx(60 / 420)
    occ = cell(w, geo="REG-76")
    assert (occ["unit_nights"], occ["capacity"], occ["n_campsites"]) == (56, 735, 7)
    assert cell(w, geo="REG-53")["unit_nights"] == 40
    assert cell(w, geo="DEP-56")["n_campsites"] == 2
    assert cell(w, geo="REG-53", stars="1-2")["unit_nights"] == 16
    assert cell(w, stars="4-5")["capacity"] == 3 * 105
    # no stars at département level (tourism.md §4.2)
    assert not [r for r in w.to_pylist() if r["geo_level"] == "DEP" and r["stars_band"] != "ALL"]
    # rates are ratios of sums: France's rate is not the mean of the régions' rates
    assert cell(w)["occupancy_rate"] == pytest.approx((56 + 40) / (735 + 525))


def test_last_season_is_realised(raw):
    c = cell(raw["weekly"], week=WEEK_LY)
    assert c["basis"] == "realised"
    assert (c["unit_nights"], c["capacity"], c["n_campsites"]) == (11 * 6, 11 * 105, 11)


def test_pace_on_constant_panel(raw):
    c = cell(raw["pace"])
    assert c["panel_campsites"] == 11  # c12 has no previous season
    assert (c["unit_nights"], c["capacity"]) == (88, 1155)
    assert (c["unit_nights_ly"], c["capacity_ly"]) == (22, 1155)  # only the pitch bookings were on the books
    assert c["week_start_ly"] == WEEK_LY
    assert c["pace_points"] == pytest.approx((88 - 22) / 1155 * 100)
    assert c["pace_pct"] == pytest.approx((88 / 22 - 1) * 100)


def test_country_mix_lead_time_and_cancellations(raw):
    nl = cell(raw["country_mix"], country_code="NL")
    assert nl["person_nights"] == 6 * 20
    assert nl["share_of_foreign"] == pytest.approx(0.5)
    assert nl["share_of_person_nights"] == pytest.approx(120 / 348)
    assert not [r for r in raw["country_mix"].to_pylist() if r["country_code"] == "FR"]
    lt = raw["lead_time"]
    assert cell(lt, lead_bucket="31-90")["arrivals"] == 12
    assert cell(lt, lead_bucket="8-30")["share"] == pytest.approx(0.5)
    assert cell(lt, unit="PITCH", lead_bucket="31-90")["share"] == pytest.approx(1.0)
    cx = raw["cancellations"]
    created_x = cell(cx, week=D(2025, 3, 31))  # X bookings, created Tuesday 1 April
    assert (created_x["bookings_created"], created_x["bookings_cancelled"]) == (6, 6)
    assert created_x["cancellation_rate"] == 1.0
    june = cell(cx, week=D(2025, 6, 9))  # R bookings and c03's option, created 10–12 June
    assert (june["bookings_created"], june["bookings_cancelled"], june["cancellation_rate"]) == (13, 0, 0.0)


def test_published_tables_mark_suppressed_cells_and_fall_back(hand_made):
    tables = compute_barometer(hand_made["bookings"], hand_made["capacity"], campsites=hand_made["campsites"])
    w = tables["weekly"]
    assert w.schema.metadata[b"snapshot_date"] == b"2025-06-16"
    assert set(w.column("snapshot_date").to_pylist()) == {SNAPSHOT}
    fr = cell(w)
    assert fr["status"] == "published" and fr["unit_nights"] == 96 and (fr["iso_year"], fr["iso_week"]) == (2025, 28)
    morbihan = cell(w, geo="DEP-56")
    assert morbihan["status"] == "suppressed" and morbihan["suppression"] == "frequency"
    assert morbihan["unit_nights"] is None and morbihan["occupancy_rate"] is None and morbihan["n_campsites"] is None
    assert morbihan["fallback_geo"] == "REG-53"
    finistere = cell(w, geo="DEP-29")  # Bretagne = Finistère + Morbihan: Finistère would give Morbihan away
    assert finistere["status"] == "suppressed" and finistere["suppression"] == "secondary"
    assert finistere["fallback_geo"] == "REG-53"
    assert cell(w, geo="REG-53")["status"] == "published"
    assert cell(w, geo="DEP-34")["status"] == "published"
    # guest breakdowns need 11 bookings: six Dutch bookings are not published
    nl = cell(tables["country_mix"], country_code="NL")
    assert nl["status"] == "suppressed" and nl["person_nights"] is None
    pace = cell(tables["pace"])
    assert pace["status"] == "published" and pace["panel_campsites"] == 11
    assert pace["snapshot_date_ly"] == D(2024, 6, 17)


def test_week_filter_and_csv_input(hand_made):
    tables = compute_barometer(hand_made["bookings_csv"], hand_made["capacity"], week="2025-W28")
    w = tables["weekly"]
    assert set(w.column("iso_week").to_pylist()) == {28} and set(w.column("iso_year").to_pylist()) == {2025}
    assert cell(w)["unit_nights"] == 96
    assert set(w.column("stars_band").to_pylist()) == {"ALL"}  # no campsite dimension given
