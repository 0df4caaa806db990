"""Sustainable-tourism indicators (tourism.md §3.2) as ibis expressions, written once for DuckDB and Spark.

Every rate is a ratio of sums over the cell (never a mean of rates); every table is rolled up to each published
level (France ``FR``, région ``REG-xx``, département ``DEP-xx`` where the source has it) for each period (month or
quarter, and the calendar year). Establishment-level sums keep the number of contributing establishments and the
largest single contribution, which disclosure control needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

__all__ = ["ratio", "energy_table", "arrivals_table", "employment_table", "transport_table", "seasonality_table",
           "intensity_table", "FOREIGN", "ALL"]

FOREIGN, ALL = "FOREIGN", "ALL"
KEYS = ("period_type", "period_start", "geo_level", "geo_code")


def ratio(num: ir.NumericValue, den: ir.NumericValue, scale: float = 1.0) -> ir.FloatingValue:
    """num / den × scale as a float, null when the denominator is zero (never a fake 0)."""
    return (den != 0).ifelse(num.cast("float64") * scale / den.cast("float64"), ibis.null("float64"))


def _periods(t: ir.Table, col: str, kind: str) -> list[tuple[str, ir.DateValue]]:
    """(period type, period start) pairs: the source's own period and the calendar year."""
    return [(kind, t[col].cast("date")), ("year", t[col].cast("date").truncate("Y"))]


def _geo(t: ir.Table, level: str) -> ir.StringValue:
    if level == "FR":
        return ibis.literal("FR")
    return ("REG-" + t.reg_code) if level == "REG" else ("DEP-" + t.dep_code)


def rollup(t: ir.Table, date_col: str, kind: str, levels: Sequence[str], aggs_of, extra: Sequence[str] = ()
           ) -> ir.Table:
    """One group-by per (period, level), unioned; ``aggs_of(t)`` gives the aggregations."""
    parts = []
    for ptype, start in _periods(t, date_col, kind):
        for level in levels:
            g = t.group_by(period_type=ibis.literal(ptype), period_start=start, geo_level=ibis.literal(level),
                           geo_code=_geo(t, level), **{k: t[k] for k in extra}).aggregate(**aggs_of(t))
            parts.append(g)
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


# -- environmental: energy, water, ecolabel (establishment-level source) ---------------------------------------------

def energy_table(e: ir.Table, dep_reg: ir.Table) -> ir.Table:
    """Energy and water per night, share of nights in ecolabelled establishments, by month and year.

    First one row per establishment × period (so a cell's row count is its number of establishments and the row
    maximum its largest contribution), then the cells.
    """
    e = e.select(month=e.month.cast("date"), pid=e.establishment_pid.cast("string"), dep_code=e.dep_code.cast("string"),
                 ecolabel=e.ecolabel.cast("boolean").fill_null(False), energy_kwh=e.energy_kwh.cast("float64"),
                 water_m3=e.water_m3.cast("float64"), nights=e.nights.cast("int64"))
    parts = []
    for ptype, start in _periods(e, "month", "month"):
        g = e.group_by(period_type=ibis.literal(ptype), period_start=start, pid=e.pid, dep_code=e.dep_code).aggregate(
            energy_kwh=e.energy_kwh.sum(), water_m3=e.water_m3.sum(), nights=e.nights.sum(),
            ecolabel_nights=e.ecolabel.ifelse(e.nights, 0).sum())
        parts.append(g)
    per = parts[0].union(parts[1])
    per = per.left_join(dep_reg, per.dep_code == dep_reg.dep_code_).drop("dep_code_")
    per = per.mutate(reg_code=per.reg_code.fill_null("??"))
    cells = []
    for level in ("FR", "REG", "DEP"):
        g = per.group_by("period_type", "period_start", geo_level=ibis.literal(level), geo_code=_geo(per, level)
                         ).aggregate(
            n_establishments=per.count(), energy_kwh=per.energy_kwh.sum(), water_m3=per.water_m3.sum(),
            nights=per.nights.sum(), ecolabel_nights=per.ecolabel_nights.sum(),
            max_energy_kwh=per.energy_kwh.max(), max_water_m3=per.water_m3.max(), max_nights=per.nights.max())
        cells.append(g)
    c = cells[0].union(cells[1]).union(cells[2])
    return c.mutate(energy_per_night_kwh=ratio(c.energy_kwh, c.nights),
                    water_per_night_l=ratio(c.water_m3, c.nights, 1000.0),
                    ecolabel_share_pct=ratio(c.ecolabel_nights, c.nights, 100.0))


# -- economic: international arrivals --------------------------------------------------------------------------------

def arrivals_table(a: ir.Table) -> ir.Table:
    """Non-resident arrivals and nights by country of residence (``FOREIGN``: all of them), month and year."""
    a = a.select(month=a.month.cast("date"), reg_code=a.reg_code.cast("string"),
                 country_code=a.country_code.cast("string").upper(), arrivals=a.arrivals.cast("int64"),
                 nights=a.nights.cast("int64"))
    a = a.filter(a.country_code != "FR")
    both = a.union(a.mutate(country_code=ibis.literal(FOREIGN)))

    def aggs(t: ir.Table) -> dict:
        return dict(arrivals=t.arrivals.sum(), nights=t.nights.sum())

    c = rollup(both, "month", "month", ("FR", "REG"), aggs, extra=("country_code",))
    tot = c.filter(c.country_code == FOREIGN).select(*KEYS, total_arrivals=c.arrivals)
    c = c.inner_join(tot, list(KEYS))
    return c.mutate(share_of_international_pct=ratio(c.arrivals, c.total_arrivals, 100.0),
                    nights_per_arrival=ratio(c.nights, c.arrivals)).drop("total_arrivals")


# -- social: contribution to employment ------------------------------------------------------------------------------

def employment_table(j: ir.Table, dep_reg: ir.Table) -> ir.Table:
    """Salaried jobs in accommodation and food services as a share of total employment, by quarter and year.

    Year rows sum the four quarters (job-quarters), so their share is a ratio of sums too; the seasonal share of a
    year is (peak quarter − trough quarter) ÷ peak quarter of the cell's tourism jobs.
    """
    j = j.select(quarter=j.quarter_start.cast("date"), dep_code=j.dep_code.cast("string"),
                 jobs=j.jobs_accommodation_food.cast("int64"), total=j.jobs_total.cast("int64"))
    j = j.left_join(dep_reg, j.dep_code == dep_reg.dep_code_).drop("dep_code_")
    j = j.mutate(reg_code=j.reg_code.fill_null("??"))

    def aggs(t: ir.Table) -> dict:
        return dict(jobs_tourism=t.jobs.sum(), jobs_total=t.total.sum())

    c = rollup(j, "quarter", "quarter", ("FR", "REG", "DEP"), aggs)
    q = c.filter(c.period_type == "quarter")
    season = q.group_by(period_start=q.period_start.truncate("Y"), geo_code=q.geo_code).aggregate(
        peak=q.jobs_tourism.max(), trough=q.jobs_tourism.min(), quarters=q.count())
    season = season.mutate(period_type=ibis.literal("year"),
                           seasonal_share_pct=(season.quarters == 4).ifelse(
                               ratio(season.peak - season.trough, season.peak, 100.0), ibis.null("float64")))
    season = season.select(period_type_=season.period_type, period_start_=season.period_start,
                           geo_code_=season.geo_code, seasonal_share_pct=season.seasonal_share_pct)
    c = c.left_join(season, (c.period_type == season.period_type_) & (c.period_start == season.period_start_)
                    & (c.geo_code == season.geo_code_)).drop("period_type_", "period_start_", "geo_code_")
    return c.mutate(employment_share_pct=ratio(c.jobs_tourism, c.jobs_total, 100.0))


# -- environmental: transport carbon footprint -----------------------------------------------------------------------

def transport_table(tr: ir.Table, factors: ir.Table) -> ir.Table:
    """Transport emissions (Σ km × factor of the mode) per trip and per night, modal split, mean distance."""
    tr = tr.select(month=tr.month.cast("date"), reg_code=tr.reg_code.cast("string"),
                   mode=tr.transport_mode.cast("string"), trips=tr.trips.cast("int64"),
                   distance_km=tr.distance_km.cast("float64"), nights=tr.nights.cast("int64"))
    tr = tr.left_join(factors, tr.mode == factors.mode_).drop("mode_")
    tr = tr.mutate(co2_kg=tr.distance_km * tr.kgco2e_per_passenger_km.fill_null(0.0),
                   unknown_factor=tr.kgco2e_per_passenger_km.isnull().ifelse(1, 0))
    both = tr.union(tr.mutate(mode=ibis.literal(ALL)))

    def aggs(t: ir.Table) -> dict:
        return dict(trips=t.trips.sum(), distance_km=t.distance_km.sum(), co2_kg=t.co2_kg.sum(),
                    nights=t.nights.sum(), rows_without_factor=t.unknown_factor.sum())

    c = rollup(both, "month", "month", ("FR", "REG"), aggs, extra=("mode",))
    tot = c.filter(c.mode == ALL).select(*KEYS, all_trips=c.trips)
    c = c.inner_join(tot, list(KEYS))
    c = c.rename(transport_mode="mode")
    return c.mutate(co2_per_trip_kg=ratio(c.co2_kg, c.trips), co2_per_night_kg=ratio(c.co2_kg, c.nights),
                    mean_distance_km=ratio(c.distance_km, c.trips),
                    modal_share_pct=ratio(c.trips, c.all_trips, 100.0)).drop("all_trips")


# -- economic: seasonality; social: tourism intensity ----------------------------------------------------------------

def _monthly_nights(a: ir.Table) -> ir.Table:
    a = a.select(month=a.month.cast("date"), reg_code=a.reg_code.cast("string"), nights=a.nights.cast("int64"))
    return rollup(a, "month", "month", ("FR", "REG"), lambda t: dict(nights=t.nights.sum()))


def seasonality_table(a: ir.Table) -> ir.Table:
    """Per year: peak-month nights ÷ mean monthly nights, and July–August's share of the year's nights."""
    m = _monthly_nights(a)
    m = m.filter(m.period_type == "month")
    summer = m.period_start.month().isin([7, 8])
    y = m.group_by(period_start=m.period_start.truncate("Y"), geo_level=m.geo_level, geo_code=m.geo_code).aggregate(
        nights=m.nights.sum(), peak_month_nights=m.nights.max(), summer_nights=summer.ifelse(m.nights, 0).sum(),
        months=m.count())
    y = y.mutate(period_type=ibis.literal("year"))
    return y.mutate(
        seasonality_index=(y.months == 12).ifelse(ratio(y.peak_month_nights * 12, y.nights), ibis.null("float64")),
        july_august_share_pct=(y.months == 12).ifelse(ratio(y.summer_nights, y.nights, 100.0),
                                                      ibis.null("float64")))


def intensity_table(a: ir.Table, population: ir.Table) -> ir.Table:
    """Nights (residents and non-residents) per resident, INSEE legal population, by month and year."""
    m = _monthly_nights(a)
    m = m.inner_join(population, m.geo_code == population.geo_code_).drop("geo_code_")
    return m.mutate(nights_per_resident=ratio(m.nights, m.population))
