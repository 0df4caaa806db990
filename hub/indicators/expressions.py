"""The barometer's indicators as ibis expressions, written once for every backend (DuckDB, Spark).

Only portable operations are used: no ``iso_year()`` (not compiled on Spark: the ISO week is keyed by its Monday, and
its ISO year is the year of its Thursday), no exact medians (Spark only has approximate ones), no outer joins (unions
and sums instead). Every rate is computed from summed numerators and denominators, never as a mean of rates.

The work is done in two steps. First each input is reduced to one row per campsite × ISO week × unit group
(``campsite_level``), which is small (about 100 k rows for a national season) and carries every additive measure.
Then the cells are rolled up from it (``rollup``): sums, the number of contributing campsites and the largest single
campsite's contribution, which disclosure control needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from hub.indicators.columns import ALL, LEAD_BUCKETS, UNIT_GROUPS

# Geography levels published, and the stars bands published at each (tourism.md §4.2: stars only at région and
# national level, where cells are large enough; a département × stars cell would nearly always be suppressed).
GEO_LEVELS = ("FR", "REG", "DEP")
STARS_BY_LEVEL = {"FR": True, "REG": True, "DEP": False}

# Breakdowns of guests (country of residence, lead time) are published down to the région only: at département
# level their cells mostly fail the k = 11 rule on bookings, and each extra level multiplies the linked cells.
BREAKDOWN_LEVELS = ("FR", "REG")

CELL_KEYS = ("week_start", "geo_level", "geo_code", "unit_group", "stars_band")


def week_start(d: ir.DateValue) -> ir.DateValue:
    """The Monday of ``d``'s ISO week (the key of an ISO week on every backend)."""
    return d - d.day_of_week.index().as_interval("D")


def days(n: int) -> ir.IntervalScalar:
    return ibis.literal(n).as_interval("D")


def on_books(t: ir.Table, at: dt.date) -> ir.BooleanValue:
    """A booking-night was on the books at date ``at``: created by then, confirmed, and not cancelled by then.

    A night cancelled after ``at`` was still on the books at ``at``; options are not counted (not firm).
    """
    at_ = ibis.literal(at)
    firm = (t.status == "CONFIRMED") | ((t.status == "CANCELLED") & t.cancel_date.notnull() & (t.cancel_date > at_))
    return (t.booking_date <= at_) & firm


def unit_group(col: ir.StringValue) -> ir.StringValue:
    cases = [(col == k, v) for k, v in UNIT_GROUPS.items()]
    return ibis.cases(*cases, else_="RENTAL")


def _int(cond: ir.BooleanValue) -> ir.IntegerValue:
    return cond.ifelse(1, 0)


def prepare_bookings(b: ir.Table) -> ir.Table:
    """Typed, non-residential booking-nights with the derived keys every indicator uses."""
    b = b.select(
        campsite_pid=b.campsite_pid.cast("string"),
        dep_code=b.dep_code.cast("string"),
        booking_pid=b.booking_pid.cast("string"),
        snapshot_date=b.snapshot_date.cast("date"),
        booking_date=b.booking_date.cast("date"),
        status=b.status.cast("string").upper(),
        cancel_date=b.cancel_date.cast("date"),
        arrival_date=b.arrival_date.cast("date"),
        stay_date=b.stay_date.cast("date"),
        nights=b.nights.cast("int64"),
        unit_type=b.unit_type.cast("string"),
        persons=(b.adults.cast("int64").fill_null(0) + b.children.cast("int64").fill_null(0)),
        country_code=b.country_code.cast("string").upper(),
        residential=b.residential.cast("boolean").fill_null(False),
    )
    b = b.filter(~b.residential)
    return b.mutate(week_start=week_start(b.stay_date), unit_group=unit_group(b.unit_type))


def prepare_capacity(c: ir.Table) -> ir.Table:
    c = c.select(
        campsite_pid=c.campsite_pid.cast("string"),
        dep_code=c.dep_code.cast("string"),
        snapshot_date=c.snapshot_date.cast("date"),
        date=c.date.cast("date"),
        unit_type=c.unit_type.cast("string"),
        units_available=c.units_available.cast("int64").fill_null(0),
        is_open=c.is_open.cast("boolean").fill_null(False),
    )
    return c.mutate(week_start=week_start(c.date), unit_group=unit_group(c.unit_type))


BASE_MEASURES = (
    "capacity", "unit_nights", "unit_nights_prev_week", "unit_nights_ly_at_date", "person_nights",
    "foreign_person_nights", "arrivals", "arrival_nights", "arrival_persons", "lead_days", "bookings_present",
) + tuple(f"arrivals_lead_{label}" for label, _lo, _hi in LEAD_BUCKETS)


def _lead_bucket_cond(lead: ir.IntegerValue, lo: int, hi: int | None) -> ir.BooleanValue:
    cond = lead >= lo
    return cond if hi is None else cond & (lead <= hi)


def booking_measures(b: ir.Table, snapshot: dt.date) -> ir.Table:
    """Campsite × week × unit group sums over booking-nights, at the snapshot, a week before and a year before."""
    ob = on_books(b, snapshot)
    ob_prev = on_books(b, snapshot - dt.timedelta(days=7))
    ob_ly = on_books(b, snapshot - dt.timedelta(days=364))
    first_night = b.stay_date == b.arrival_date
    arrival = ob & first_night
    lead = b.arrival_date.epoch_days() - b.booking_date.epoch_days()
    present = ob & (first_night | (b.stay_date == b.week_start))  # one row per booking present in the week
    aggs = dict(
        unit_nights=_int(ob).sum(),
        unit_nights_prev_week=_int(ob_prev).sum(),
        unit_nights_ly_at_date=_int(ob_ly).sum(),
        person_nights=ob.ifelse(b.persons, 0).sum(),
        foreign_person_nights=(ob & (b.country_code != "FR")).ifelse(b.persons, 0).sum(),
        arrivals=_int(arrival).sum(),
        arrival_nights=arrival.ifelse(b.nights, 0).sum(),
        arrival_persons=arrival.ifelse(b.persons, 0).sum(),
        lead_days=arrival.ifelse(lead, 0).sum(),
        bookings_present=_int(present).sum(),
    )
    for label, lo, hi in LEAD_BUCKETS:
        aggs[f"arrivals_lead_{label}"] = _int(arrival & _lead_bucket_cond(lead, lo, hi)).sum()
    g = b.group_by("campsite_pid", "dep_code", "week_start", "unit_group").aggregate(**aggs)
    return _measure_columns(g.mutate(capacity=ibis.literal(0, "int64")))


def _measure_columns(t: ir.Table) -> ir.Table:
    keys = ("campsite_pid", "dep_code", "week_start", "unit_group")
    return t.select(*keys, **{m: t[m].cast("int64") for m in BASE_MEASURES})


def capacity_measures(c: ir.Table) -> ir.Table:
    """Campsite × week × unit group capacity (open, sellable unit-nights), zeros for the booking measures."""
    g = c.group_by("campsite_pid", "dep_code", "week_start", "unit_group").aggregate(
        capacity=c.is_open.ifelse(c.units_available, 0).sum())
    return _measure_columns(g.mutate(**{m: ibis.literal(0, "int64") for m in BASE_MEASURES if m != "capacity"}))


def with_all_units(t: ir.Table, measures: Sequence[str], keys: Sequence[str]) -> ir.Table:
    """Add the ``ALL`` unit group (sum over pitch and rental) to a campsite-level table."""
    other = [k for k in keys if k != "unit_group"]
    total = t.group_by(*other).aggregate(**{m: t[m].sum() for m in measures})
    total = total.mutate(unit_group=ibis.literal(ALL))
    cols = list(keys) + list(measures)
    return t.select(*cols).union(total.select(*cols))


def attach_territory(t: ir.Table, dep_reg: ir.Table, stars: ir.Table | None) -> ir.Table:
    """Add the région code (INSEE) and the stars band of each campsite (``ALL`` when no campsite dimension)."""
    t = t.left_join(dep_reg, t.dep_code == dep_reg.dep_code_).drop("dep_code_")
    t = t.mutate(reg_code=t.reg_code.fill_null("??"))
    if stars is None:
        return t.mutate(stars_band=ibis.literal(ALL))
    t = t.left_join(stars, t.campsite_pid == stars.campsite_pid_).drop("campsite_pid_")
    return t.mutate(stars_band=t.stars_band.fill_null("NC"))


def campsite_level(b: ir.Table, c: ir.Table, snapshot: dt.date, dep_reg: ir.Table,
                   stars: ir.Table | None) -> ir.Table:
    """One row per campsite × week × unit group (PITCH, RENTAL, ALL) with every additive measure."""
    keys = ("campsite_pid", "dep_code", "week_start", "unit_group")
    parts = booking_measures(b, snapshot).union(capacity_measures(c))
    merged = parts.group_by(*keys).aggregate(**{m: parts[m].sum() for m in BASE_MEASURES})
    merged = with_all_units(merged, BASE_MEASURES, keys)
    return attach_territory(merged, dep_reg, stars)


def rollup(t: ir.Table, measures: Sequence[str], dominance: Sequence[str], presence: Sequence[str],
           extra_keys: Sequence[str] = (), stars: bool = True, week_col: str = "week_start",
           levels: Sequence[str] = GEO_LEVELS) -> ir.Table:
    """Cells of every published level from a campsite-level table.

    Each cell carries the sums of ``measures``, ``n_campsites`` (campsites with a non-zero ``presence`` measure) and,
    for each ``dominance`` measure, ``max_<m>``: the largest single campsite's contribution. ``t`` has one row per
    campsite and cell key below the geography, so a count of rows is a count of distinct campsites.
    """
    present = None
    for m in presence:
        cond = t[m] != 0
        present = cond if present is None else present | cond
    aggs = {m: t[m].sum() for m in measures}
    aggs["n_campsites"] = present.ifelse(1, 0).sum()
    for m in dominance:
        aggs[f"max_{m}"] = t[m].max()
    parts = []
    for level in levels:
        geo = {"FR": ibis.literal("FR"), "REG": "REG-" + t.reg_code, "DEP": "DEP-" + t.dep_code}[level]
        for by_stars in (False, True):
            if by_stars and not (stars and STARS_BY_LEVEL[level]):
                continue
            band = t.stars_band if by_stars else ibis.literal(ALL)
            g = t.group_by(week_start=t[week_col], geo_code=geo, unit_group=t.unit_group, stars_band=band,
                           **{k: t[k] for k in extra_keys}).aggregate(**aggs)
            if by_stars:
                g = g.filter(g.stars_band != ALL)
            parts.append(g.mutate(geo_level=ibis.literal(level)))
    cols = list(CELL_KEYS) + list(extra_keys) + list(aggs)
    out = parts[0].select(*cols)
    for p in parts[1:]:
        out = out.union(p.select(*cols))
    return out


def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den as a float, null when the denominator is zero (never a fake 0)."""
    return (den != 0).ifelse(num.cast("float64") / den.cast("float64"), ibis.null("float64"))


def weekly_table(cl: ir.Table, snapshot: dt.date) -> ir.Table:
    """Occupancy (realised / on the books), pick-up, nights, person-nights, arrivals, length of stay, foreign share."""
    measures = ["capacity", "unit_nights", "unit_nights_prev_week", "person_nights", "foreign_person_nights",
                "arrivals", "arrival_nights", "arrival_persons", "lead_days", "bookings_present"]
    cells = rollup(cl, measures, dominance=["capacity", "unit_nights", "person_nights"],
                   presence=["capacity", "unit_nights"])
    this_week = ibis.literal(_monday(snapshot))
    return cells.mutate(
        basis=(cells.week_start < this_week).ifelse("realised", "on_the_books"),
        occupancy_rate=ratio(cells.unit_nights, cells.capacity),
        pickup_unit_nights=cells.unit_nights - cells.unit_nights_prev_week,
        persons_per_unit=ratio(cells.person_nights, cells.unit_nights),
        foreign_share=ratio(cells.foreign_person_nights, cells.person_nights),
        avg_length_of_stay=ratio(cells.arrival_nights, cells.arrivals),
        avg_lead_time_days=ratio(cells.lead_days, cells.arrivals),
    )


def lead_time_table(cl: ir.Table) -> ir.Table:
    """Arrivals by lead-time bucket (days from booking to arrival), per arrival week; bucket ``ALL`` is the total."""
    keys = ["campsite_pid", "dep_code", "reg_code", "stars_band", "week_start", "unit_group"]
    long = cl.select(*keys, lead_bucket=ibis.literal(ALL), arrivals=cl.arrivals)
    for label, _lo, _hi in LEAD_BUCKETS:
        long = long.union(cl.select(*keys, lead_bucket=ibis.literal(label), arrivals=cl[f"arrivals_lead_{label}"]))
    long = long.filter(long.arrivals > 0)
    cells = rollup(long, ["arrivals"], dominance=["arrivals"], presence=["arrivals"], extra_keys=["lead_bucket"],
                   stars=False, levels=BREAKDOWN_LEVELS)
    totals = cells.filter(cells.lead_bucket == ALL).select(*CELL_KEYS, cell_arrivals=cells.arrivals)
    cells = cells.inner_join(totals, list(CELL_KEYS))
    return cells.mutate(share=ratio(cells.arrivals, cells.cell_arrivals)).drop("cell_arrivals")


def country_table(b: ir.Table, snapshot: dt.date, dep_reg: ir.Table, stars: ir.Table | None) -> ir.Table:
    """Person-nights by foreign country of residence, per stay week (all unit types together).

    The row ``FOREIGN`` is the total of the foreign countries; residents' share is the weekly table's complement of
    ``foreign_share``, so ``FR`` itself is not repeated here.
    """
    b = b.mutate(country_code=b.country_code.fill_null("??"))
    ob = on_books(b, snapshot)
    present = ob & ((b.stay_date == b.arrival_date) | (b.stay_date == b.week_start))
    per = b.filter(ob).group_by("campsite_pid", "dep_code", "week_start", "country_code").aggregate(
        person_nights=b.persons.sum(), bookings_present=_int(present).sum())
    pn_all = per.group_by("campsite_pid", "dep_code", "week_start").aggregate(cell_pn=per.person_nights.sum())
    foreign = per.filter(per.country_code != "FR")
    total = foreign.group_by("campsite_pid", "dep_code", "week_start").aggregate(
        person_nights=foreign.person_nights.sum(), bookings_present=foreign.bookings_present.sum())
    cols = ["campsite_pid", "dep_code", "week_start", "country_code", "person_nights", "bookings_present"]
    per = foreign.select(*cols).union(total.mutate(country_code=ibis.literal("FOREIGN")).select(*cols))
    per = per.mutate(unit_group=ibis.literal(ALL))
    per = attach_territory(per, dep_reg, stars)
    pn_all = attach_territory(pn_all.mutate(unit_group=ibis.literal(ALL)), dep_reg, stars)
    cells = rollup(per, ["person_nights", "bookings_present"], dominance=["person_nights"],
                   presence=["person_nights"], extra_keys=["country_code"], stars=False, levels=BREAKDOWN_LEVELS)
    tot_all = rollup(pn_all, ["cell_pn"], dominance=[], presence=["cell_pn"], stars=False, levels=BREAKDOWN_LEVELS)
    tot_all = tot_all.select(*CELL_KEYS, "cell_pn")
    tot_f = cells.filter(cells.country_code == "FOREIGN").select(*CELL_KEYS, cell_foreign_pn=cells.person_nights)
    cells = cells.inner_join(tot_all, list(CELL_KEYS)).inner_join(tot_f, list(CELL_KEYS))
    return cells.mutate(
        share_of_person_nights=ratio(cells.person_nights, cells.cell_pn),
        share_of_foreign=ratio(cells.person_nights, cells.cell_foreign_pn),
    ).drop("cell_pn", "cell_foreign_pn")


def cancellation_table(b: ir.Table, snapshot: dt.date, dep_reg: ir.Table, stars: ir.Table | None) -> ir.Table:
    """Bookings created per ISO week of creation, and how many of them were cancelled by the snapshot."""
    at = ibis.literal(snapshot)
    first = b.filter((b.stay_date == b.arrival_date) & (b.booking_date <= at))
    first = first.mutate(created_week=week_start(first.booking_date))
    cancelled = (first.status == "CANCELLED") & first.cancel_date.notnull() & (first.cancel_date <= at)
    keys = ("campsite_pid", "dep_code", "created_week", "unit_group")
    per = first.group_by(*keys).aggregate(bookings_created=first.count(), bookings_cancelled=_int(cancelled).sum())
    per = with_all_units(per, ["bookings_created", "bookings_cancelled"], keys)
    per = attach_territory(per, dep_reg, stars)
    cells = rollup(per, ["bookings_created", "bookings_cancelled"], dominance=["bookings_created"],
                   presence=["bookings_created"], stars=False, week_col="created_week")
    return cells.mutate(cancellation_rate=ratio(cells.bookings_cancelled, cells.bookings_created))


def pace_table(cl: ir.Table, snapshot: dt.date) -> ir.Table:
    """On-the-books occupancy of this ISO year's weeks against the same week a year before at the same date.

    Compared on a constant panel: campsites with capacity and bookings in both seasons (ISO years of the snapshot
    and the year before). Week w is matched with the week starting 364 days earlier (same weekdays).
    """
    year = _iso_year(snapshot)
    this_monday, ly_monday = _iso_week1_monday(year), _iso_week1_monday(year - 1)
    next_monday = _iso_week1_monday(year + 1)
    allu = cl.filter(cl.unit_group == ALL)
    season = (allu.week_start >= ibis.literal(this_monday)).ifelse(
        "Y", (allu.week_start >= ibis.literal(ly_monday)).ifelse("LY", "OTHER"))
    allu = allu.mutate(season=season).filter(lambda s: s.season != "OTHER")
    seen = allu.group_by("campsite_pid", "season").aggregate(cap=allu.capacity.sum(), un=allu.unit_nights.sum())
    seen = seen.filter((seen.cap > 0) & (seen.un > 0))
    panel = seen.group_by("campsite_pid").aggregate(n=seen.count()).filter(lambda s: s.n == 2)
    panel = panel.select(panel_pid=panel.campsite_pid)

    cur = cl.filter((cl.week_start >= ibis.literal(this_monday)) & (cl.week_start < ibis.literal(next_monday)))
    cur = cur.select("campsite_pid", "dep_code", "reg_code", "stars_band", "week_start", "unit_group",
                     "capacity", "unit_nights", "bookings_present")
    prev = cl.filter((cl.week_start >= ibis.literal(ly_monday)) & (cl.week_start < ibis.literal(this_monday)))
    # A year-before row joins the current week that starts 364 days later; a union then sum keeps it outer-join free.
    prev = prev.select("campsite_pid", "dep_code", "reg_code", "stars_band",
                       week_start=prev.week_start + days(364), unit_group=prev.unit_group,
                       capacity_ly=prev.capacity, unit_nights_ly=prev.unit_nights_ly_at_date)
    prev = prev.filter(prev.week_start < ibis.literal(next_monday))
    cols = ["campsite_pid", "dep_code", "reg_code", "stars_band", "week_start", "unit_group"]
    z = ibis.literal(0).cast("int64")
    both = cur.select(*cols, capacity=cur.capacity, unit_nights=cur.unit_nights, capacity_ly=z,
                      unit_nights_ly=z).union(
        prev.select(*cols, capacity=z, unit_nights=z, capacity_ly=prev.capacity_ly,
                    unit_nights_ly=prev.unit_nights_ly))
    both = both.inner_join(panel, both.campsite_pid == panel.panel_pid).drop("panel_pid")
    m = ["capacity", "unit_nights", "capacity_ly", "unit_nights_ly"]
    both = both.group_by(*cols).aggregate(**{k: both[k].sum() for k in m})
    cells = rollup(both, m, dominance=["capacity", "unit_nights", "unit_nights_ly"],
                   presence=["capacity", "capacity_ly"])
    cells = cells.rename(panel_campsites="n_campsites")
    occ, occ_ly = ratio(cells.unit_nights, cells.capacity), ratio(cells.unit_nights_ly, cells.capacity_ly)
    return cells.mutate(
        week_start_ly=cells.week_start - days(364),
        occupancy_otb=occ, occupancy_otb_ly=occ_ly,
        pace_points=(occ - occ_ly) * 100.0,
        pace_pct=(ratio(cells.unit_nights, cells.unit_nights_ly) - 1.0) * 100.0,
    )


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def _iso_year(d: dt.date) -> int:
    return d.isocalendar()[0]


def _iso_week1_monday(year: int) -> dt.date:
    return dt.date.fromisocalendar(year, 1, 1)
