"""The synthetic export meets its calibration targets and is valid against its own schemas."""

import datetime as dt
import json

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from connector.commands.generate import generate
from hub.collection import ingest
from hub.generate import calibration as cal
from hub.generate import generate_campsites
from policies.territory import departement

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    """A full season (snapshot after it closed), large enough for 3-point tolerances: ~1 M rows."""
    out = tmp_path_factory.mktemp("season")
    generate_campsites(out, campsites=110, season=2026, snapshot=dt.date(2026, 11, 2), seed=11, previous=False)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW b AS SELECT * FROM '{out}/bookings.parquet' WHERE status <> 'CANCELLED' "
                "AND NOT residential")
    con.execute(f"CREATE VIEW c AS SELECT * FROM '{out}/capacity.parquet'")
    return out, con


def test_national_occupancy_by_month_within_3_points(season):
    _, con = season
    rows = con.sql("SELECT month(c.date) m, (SELECT count(*) FROM b WHERE month(stay_date) = month(c.date)) n, "
                   "sum(units_available) cap FROM c WHERE year(date) = 2026 GROUP BY ALL ORDER BY m").fetchall()
    got = {m: n / cap for m, n, cap in rows}
    for m, target in cal.OCCUPANCY_BY_MONTH.items():
        assert abs(got[m] - target) <= 0.03, (m, got[m], target)


def test_july_august_share_of_nights(season):
    _, con = season
    share = con.sql("SELECT sum(CASE WHEN month(stay_date) IN (7, 8) THEN 1 ELSE 0 END) / count(*) FROM b"
                    ).fetchall()[0][0]
    assert 0.68 <= share <= 0.76, share


def test_foreign_share_of_nights_by_region_within_3_points(season):
    _, con = season
    rows = con.sql("SELECT dep_code, sum(adults + children), sum(CASE WHEN country_code <> 'FR' "
                   "THEN adults + children ELSE 0 END) FROM b GROUP BY 1").fetchall()
    by_reg: dict[str, list[int]] = {}
    for dep, total, foreign in rows:
        acc = by_reg.setdefault(departement(dep).region, [0, 0])
        acc[0] += total
        acc[1] += foreign
    checked = 0
    for reg, (total, foreign) in by_reg.items():
        if total < 20_000:  # too few person-nights for a 3-point tolerance
            continue
        checked += 1
        assert abs(foreign / total - cal.FOREIGN[reg][0]) <= 0.03, (reg, foreign / total)
    assert checked >= 6


def test_stays_cancellations_and_supply_look_like_the_sector(season):
    _, con = season
    (cancel,) = con.sql(f"SELECT avg((status = 'CANCELLED')::int) FROM (SELECT DISTINCT booking_pid, status FROM "
                        f"'{season[0]}/bookings.parquet' WHERE NOT residential)").fetchall()[0]
    assert 0.06 <= cancel <= 0.12
    stay = dict(con.sql("SELECT unit_type IN ('PITCH_BARE', 'PITCH_SERVICED'), avg(nights) FROM "
                        "(SELECT DISTINCT booking_pid, unit_type, nights FROM b) GROUP BY 1").fetchall())
    assert 5.0 <= stay[True] <= 6.0 and 6.0 <= stay[False] <= 8.0
    dim = pq.read_table(season[0] / "campsites.parquet").to_pylist()
    assert len(dim) == 110 and {d["stars_band"] for d in dim} <= {"1-2", "3", "4-5"}


def test_files_are_labelled_synthetic_and_valid(season, tmp_path):
    out, _ = season
    for name, schema in (("bookings", "campsite-bookings"), ("capacity", "campsite-capacity"),
                         ("campsites", "campsite-dimension")):
        meta = pq.read_schema(out / f"{name}.parquet").metadata
        assert meta[b"passerelle.synthetic"] == b"true" and b"SYNTHETIC" in meta[b"description"]
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["synthetic"] is True and manifest["files"]["bookings"]["rows"] > 500_000
    for name, schema in (("capacity", "campsite-capacity"), ("campsites", "campsite-dimension")):
        r = ingest(out / f"{name}.parquet", schema, tmp_path / "o", tmp_path / "q", KEY, 1)
        assert r.ok, r.message


def test_snapshot_with_previous_season_and_csv_round_trip(tmp_path):
    snap = dt.date(2026, 6, 15)
    res = generate_campsites(tmp_path / "g", campsites=6, season=2026, snapshot=snap, seed=3, fmt="csv")
    con = duckdb.connect()
    rel = f"read_csv('{res.files['bookings']}', types={{'dep_code': 'VARCHAR'}})"
    years = dict(con.sql(f"SELECT year(stay_date), count(*) FROM {rel} GROUP BY 1").fetchall())
    assert set(years) == {2025, 2026} and years[2025] > years[2026]  # N-1 complete, N only as booked so far
    late = con.sql(f"SELECT count(*) FROM {rel} WHERE booking_date > DATE '{snap}' OR cancel_date > DATE '{snap}'"
                   ).fetchall()[0][0]
    assert late == 0
    r = ingest(res.files["bookings"], "campsite-bookings", tmp_path / "o", tmp_path / "q", KEY, 1)
    assert r.ok, r.message


def test_same_seed_same_data():
    from hub.generate.campsites import booking_batches, make_supply, plan_season
    s1, s2 = make_supply(3, 9), make_supply(3, 9)
    p = plan_season(s1, 2026)
    b1 = next(booking_batches(s1, p, dt.date(2026, 11, 2), 9))
    b2 = next(booking_batches(s2, plan_season(s2, 2026), dt.date(2026, 11, 2), 9))
    assert b1.equals(b2)


def test_cli(tmp_path):
    r = CliRunner().invoke(generate, ["campsites", "--campsites", "3", "--season", "2026", "--snapshot",
                                      "2026-06-15", "--out", str(tmp_path), "--seed", "1", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"]["campsites"] == 3
    bad = CliRunner().invoke(generate, ["campsites", "--snapshot", "2019-01-07", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "too far from season" in bad.output
