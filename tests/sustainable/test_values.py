"""Every sustainable indicator on the hand-made set (conftest.py) equals the value worked out by hand."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

JUL = dt.date(2025, 7, 1)
Y25 = dt.date(2025, 1, 1)


def row(t, **keys):
    found = [r for r in t.to_pylist() if all(r[k] == v for k, v in keys.items())]
    assert len(found) == 1, (keys, len(found))
    return found[0]


def test_energy_water_ecolabel_of_a_departement(tables) -> None:
    r = row(tables["energy"], period_type="month", period_start=JUL, geo_code="DEP-29")
    assert r["status"] == "published" and r["n_establishments"] == 3
    assert r["energy_per_night_kwh"] == pytest.approx(2700 / 300)  # 9.0
    assert r["water_per_night_l"] == pytest.approx(75 * 1000 / 300)  # 250 L
    assert r["ecolabel_share_pct"] == pytest.approx(100 * 100 / 300)
    assert r["energy_per_night_base_kwh"] == pytest.approx(2700 * 1.25 / 300)
    assert r["energy_change_pct"] == pytest.approx(-20.0)  # (1 / 1.25 − 1) × 100


def test_energy_of_france_is_a_ratio_of_sums(tables) -> None:
    r = row(tables["energy"], period_type="year", period_start=Y25, geo_code="FR")
    assert r["status"] == "published" and r["n_establishments"] == 7
    assert r["energy_per_night_kwh"] == pytest.approx(9200 / 950)
    assert r["water_per_night_l"] == pytest.approx(205 * 1000 / 950)
    assert r["ecolabel_share_pct"] == pytest.approx(100 * 200 / 950)
    assert r["energy_change_pct"] == pytest.approx(-20.0)


def test_a_departement_with_one_establishment_is_suppressed_and_not_recomputable(tables) -> None:
    t = tables["energy"]
    gard = row(t, period_type="month", period_start=JUL, geo_code="DEP-30")
    assert gard["status"] == "suppressed" and gard["suppression"] == "frequency"
    assert gard["energy_kwh"] is None and gard["energy_per_night_kwh"] is None and gard["water_per_night_l"] is None
    assert gard["energy_change_pct"] is None
    herault = row(t, period_type="month", period_start=JUL, geo_code="DEP-34")
    occitanie = row(t, period_type="month", period_start=JUL, geo_code="REG-76")
    # Gard = Occitanie − Hérault: one of the two must be hidden too (secondary suppression)
    assert "suppressed" in (herault["status"], occitanie["status"])
    for r, kwh, n in ((herault, 6000, 600), (occitanie, 6500, 650)):
        if r["status"] == "published":
            assert r["energy_per_night_kwh"] == pytest.approx(kwh / n)


def test_international_arrivals_by_country(tables) -> None:
    t = tables["arrivals"]
    assert row(t, period_type="month", period_start=JUL, geo_code="FR", country_code="FOREIGN")["arrivals"] == 75
    de = row(t, period_type="month", period_start=JUL, geo_code="FR", country_code="DE")
    assert de["arrivals"] == 45 and de["share_of_international_pct"] == pytest.approx(60.0)
    year = row(t, period_type="year", period_start=Y25, geo_code="REG-76", country_code="FOREIGN")
    assert year["arrivals"] == 220 and year["nights_per_arrival"] == pytest.approx(2.0)
    assert not [r for r in t.to_pylist() if r["country_code"] == "FR"]  # residents are not international


def test_contribution_to_employment(tables) -> None:
    t = tables["employment"]
    q3 = row(t, period_type="quarter", period_start=dt.date(2025, 7, 1), geo_code="DEP-34")
    assert q3["employment_share_pct"] == pytest.approx(20.0) and q3["seasonal_share_pct"] is None
    y = row(t, period_type="year", period_start=Y25, geo_code="DEP-34")
    assert y["employment_share_pct"] == pytest.approx(100 * 500 / 4000)
    assert y["seasonal_share_pct"] == pytest.approx(100 * (200 - 80) / 200)
    reg = row(t, period_type="year", period_start=Y25, geo_code="REG-76")
    assert reg["employment_share_pct"] == pytest.approx(100 * 700 / 6000)
    assert reg["seasonal_share_pct"] == pytest.approx(100 * (250 - 130) / 250)


def test_transport_footprint_uses_the_declared_factors(tables) -> None:
    t = tables["transport"]
    co2 = 2000 * 0.109 + 3000 * 0.2
    r = row(t, period_type="month", period_start=JUL, geo_code="REG-76", transport_mode="ALL")
    assert r["co2_kg"] == pytest.approx(co2)
    assert r["co2_per_trip_kg"] == pytest.approx(co2 / 12) and r["co2_per_night_kg"] == pytest.approx(co2 / 40)
    assert r["mean_distance_km"] == pytest.approx(5000 / 12)
    car = row(t, period_type="month", period_start=JUL, geo_code="REG-76", transport_mode="car")
    assert car["modal_share_pct"] == pytest.approx(100 * 10 / 12)


def test_seasonality_index(tables) -> None:
    r = row(tables["seasonality"], period_start=Y25, geo_code="REG-76")
    # months: 200 residents + 20 DE = 220, July 200 + 80 + 60 = 340, August 200 + 100 = 300
    total = 220 * 10 + 340 + 300
    assert r["nights"] == total
    assert r["seasonality_index"] == pytest.approx(340 * 12 / total)
    assert r["july_august_share_pct"] == pytest.approx(100 * 640 / total)


def test_tourism_intensity_uses_insee_legal_population(tables) -> None:
    ref = Path(__file__).resolve().parents[2] / "hub" / "reference" / "population_departements.csv"
    with open(ref, encoding="utf-8") as f:
        occitanie = sum(int(r["population"]) for r in csv.DictReader(f) if r["reg"] == "76")
    r = row(tables["intensity"], period_type="year", period_start=Y25, geo_code="REG-76")
    assert r["population"] == occitanie
    assert r["nights_per_resident"] == pytest.approx(2840 / occitanie)


def test_every_indicator_names_its_definition_unit_formula_and_sources() -> None:
    from hub.sustainable import INDICATORS, TABLES
    for ind in INDICATORS:
        assert ind.table in TABLES and ind.definition and ind.unit and ind.formula and ind.sources, ind.id


def test_tables_name_the_snapshot_they_rest_on(tables, small) -> None:
    from hub.sustainable import snapshot_of
    snap = snapshot_of(small)["id"]
    for t in tables.values():
        assert t.schema.metadata[b"snapshot"].decode() == snap


def test_missing_input_is_a_clear_error(small) -> None:
    from hub.indicators import InputError
    from hub.sustainable import compute_sustainable
    with pytest.raises(InputError, match="missing: trips"):
        compute_sustainable({k: v for k, v in small.items() if k != "trips"})
