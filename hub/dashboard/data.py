"""What each chart of the dashboard shows, from a stored barometer run, for one choice of filters.

Every value travels as a cell ``{"v": value, "s": status}``: ``published``, ``suppressed`` (secret statistique,
with the rule in ``"r"``; never a number) or ``absent`` (no campsite open: nothing to publish). The page never
turns a missing value into zero.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hub.indicators import parse_week
from hub.indicators.engine import InputError
from policies import territory

__all__ = ["dashboard_json", "options_json", "DashboardError", "UNIT_LABELS", "COUNTRY_NAMES", "LEAD_BUCKETS"]

UNIT_LABELS = {"ALL": "Tous hébergements", "PITCH": "Emplacements nus", "RENTAL": "Locatifs"}
LEAD_BUCKETS = ["0-7", "8-30", "31-90", "91-180", ">180"]
LEAD_LABELS = {"0-7": "0–7 j", "8-30": "8–30 j", "31-90": "31–90 j", "91-180": "91–180 j", ">180": "> 180 j"}
COUNTRY_NAMES = {
    "FR": "France", "DE": "Allemagne", "NL": "Pays-Bas", "BE": "Belgique", "GB": "Royaume-Uni", "CH": "Suisse",
    "IT": "Italie", "ES": "Espagne", "DK": "Danemark", "SE": "Suède", "PL": "Pologne", "AT": "Autriche",
    "CZ": "Tchéquie", "IE": "Irlande", "LU": "Luxembourg", "NO": "Norvège", "US": "États-Unis", "PT": "Portugal",
    "FOREIGN": "Clientèle étrangère",
}
HORIZON_WEEKS = 12

DEFINITIONS = {
    "occupancy": ("Taux d'occupation = unités occupées (nuitées-unités) / capacité offerte (unités ouvertes × nuits), "
                  "rapport des sommes, jamais moyenne de taux. Année N : réalisé pour les semaines écoulées, à date "
                  "(réservations fermes connues à l'instantané) pour les suivantes. N-1 : réalisé, même semaine ISO."),
    "regions": ("Taux d'occupation de la semaine choisie par région : N connu à l'instantané (réalisé pour une "
                "semaine écoulée) et N-1 à la même date (t − 364 jours), sur panel constant ; n = campings du panel."),
    "on_the_books": ("Taux d'occupation à date des 12 semaines à venir, comparé à N-1 à la même date (t − 364 jours, "
                     "mêmes jours de semaine), sur panel constant : campings présents les deux saisons."),
    "pace": ("Écart à date = TO à date N − TO à date N-1 (points) ; évolution des nuitées-unités réservées "
             "(N / N-1 − 1, %). Panel constant ; « panel » = nombre de campings comparés."),
    "country_mix": ("Part de chaque pays de résidence dans les nuitées (personnes × nuits) de la clientèle "
                    "étrangère, semaine choisie ; en tête, la part de l'étranger dans toutes les nuitées."),
    "stay_lead": ("Durée moyenne de séjour = nuits des séjours arrivés dans la semaine / arrivées (réservations). "
                  "Délai de réservation = arrivée − date de réservation : répartition des arrivées de la semaine."),
}


class DashboardError(ValueError):
    """A filter that does not name anything in the run (unknown région, unit type or week)."""


def _eq(t: pa.Table, **conds: Any) -> pa.Table:
    mask = None
    for col, val in conds.items():
        m = pc.equal(t.column(col), val)
        mask = m if mask is None else pc.and_(mask, m)
    return t.filter(mask) if mask is not None else t


def _cell(row: dict[str, Any] | None, col: str) -> dict[str, Any]:
    if row is None:
        return {"v": None, "s": "absent"}
    if row.get("status") == "suppressed":
        out = {"v": None, "s": "suppressed", "r": row.get("suppression")}
        if row.get("fallback_geo"):
            out["f"] = row["fallback_geo"]
        return out
    v = row.get(col)
    if isinstance(v, float) and v != v:  # NaN never leaves the hub as a number
        v = None
    return {"v": v, "s": "published" if v is not None else "absent"}


def _geo_name(code: str) -> str:
    if code == "FR":
        return "France"
    t = territory.parse_code(code)
    return t.name if t else code


def _snapshot(tables: dict[str, pa.Table]) -> dt.date:
    meta = tables["weekly"].schema.metadata or {}
    if b"snapshot_date" in meta:
        return dt.date.fromisoformat(meta[b"snapshot_date"].decode())
    return tables["weekly"].column("snapshot_date")[0].as_py()


def _week_label(year: int, week: int) -> str:
    monday = dt.date.fromisocalendar(year, week, 1)
    sunday = monday + dt.timedelta(days=6)
    return f"S{week:02d} · {monday:%d/%m} – {sunday:%d/%m/%Y}"


def options_json(tables: dict[str, pa.Table]) -> dict[str, Any]:
    """The filter choices a run offers: its régions, unit types and the ISO weeks of the current season."""
    snap = _snapshot(tables)
    year, snap_week, _ = snap.isocalendar()
    w = tables["weekly"]
    regions = sorted(c for c in pc.unique(w.column("geo_code")).to_pylist() if c and c.startswith("REG-"))
    cur = _eq(w, iso_year=year)
    weeks = sorted(set(cur.column("iso_week").to_pylist()))
    if snap_week not in weeks and weeks:
        snap_week = min(weeks, key=lambda x: abs(x - snap_week))
    return {"snapshot_date": snap.isoformat(), "season": year,
            "regions": [{"code": r, "name": _geo_name(r)} for r in regions],
            "units": [{"code": u, "name": n} for u, n in UNIT_LABELS.items()],
            "weeks": [{"value": f"{year}-W{x:02d}", "label": _week_label(year, x)} for x in weeks],
            "default_week": f"{year}-W{snap_week:02d}" if weeks else None}


def _check_filters(tables: dict[str, pa.Table], region: str | None, unit: str, week: str | None
                   ) -> tuple[str, str, int, int]:
    opts = options_json(tables)
    problems = []
    if region and region not in {r["code"] for r in opts["regions"]}:
        codes = ", ".join(r["code"] for r in opts["regions"])
        problems.append(f"région {region!r} absente de ce calcul (choix : {codes})")
    if unit not in UNIT_LABELS:
        problems.append(f"type d'hébergement {unit!r} inconnu (choix : {', '.join(UNIT_LABELS)})")
    week = week or opts["default_week"]
    year = wk = 0
    if week is None:
        problems.append("aucune semaine dans ce calcul")
    else:
        try:
            year, wk = parse_week(week, _snapshot(tables))
        except InputError as e:
            problems.append(str(e))
        else:
            if f"{year}-W{wk:02d}" not in {w["value"] for w in opts["weeks"]}:
                problems.append(f"semaine {week!r} hors de la saison {opts['season']} de ce calcul")
    if problems:
        raise DashboardError("; ".join(problems))
    return region or "FR", unit, year, wk


def dashboard_json(tables: dict[str, pa.Table], run: dict[str, Any], *, region: str | None = None,
                   unit: str = "ALL", week: str | None = None) -> dict[str, Any]:
    """Every chart's data for one choice of filters; ``run`` names the computation (id, snapshot, inputs)."""
    geo, unit, year, wk = _check_filters(tables, region, unit, week)
    snap = _snapshot(tables)
    weekly, pace = tables["weekly"], tables["pace"]
    source = {"snapshot_date": snap.isoformat(), "run": run.get("id"), "computed_at": run.get("finished_at"),
              "inputs": {k: v.get("sha256") for k, v in (run.get("inputs") or {}).items() if isinstance(v, dict)}}

    # 1. occupancy by ISO week, N (realised, then on the books) vs N-1 (realised), for the chosen territory
    w = _eq(weekly, geo_code=geo, unit_group=unit, stars_band="ALL")
    series: dict[str, list[dict[str, Any]]] = {"N": [], "N_otb": [], "N1": []}
    for r in w.sort_by([("iso_year", "ascending"), ("iso_week", "ascending")]).to_pylist():
        pt = {"x": r["iso_week"], **_cell(r, "occupancy_rate"), "n": r.get("n_campsites")}
        if r["iso_year"] == year:
            series["N_otb" if r.get("basis") == "on_the_books" else "N"].append(pt)
        elif r["iso_year"] == year - 1:
            series["N1"].append(pt)
    occupancy = {
        "title": f"Taux d'occupation hebdomadaire — {_geo_name(geo)} · {UNIT_LABELS[unit]}",
        "geo": geo, "week": wk, "definition": DEFINITIONS["occupancy"], "unit": "ratio",
        "series": [{"key": "N", "label": f"{year} réalisé", "points": series["N"]},
                   {"key": "N_otb", "label": f"{year} à date", "points": series["N_otb"]},
                   {"key": "N1", "label": f"{year - 1} réalisé", "points": series["N1"]}]}

    # 2. occupancy of the chosen week by région, N vs N-1 at the same date, on the constant panel
    monday = dt.date.fromisocalendar(year, wk, 1)
    pw = _eq(pace, unit_group=unit, stars_band="ALL", week_start=monday)
    prow = {r["geo_code"]: r for r in pw.to_pylist()}
    regs = sorted(r for r in pc.unique(weekly.column("geo_code")).to_pylist() if r and r.startswith("REG-"))
    region_rows = [{"code": c, "name": _geo_name(c), "selected": c == geo,
                    "panel": _cell(prow.get(c), "panel_campsites"), "n": _cell(prow.get(c), "occupancy_otb"),
                    "n1": _cell(prow.get(c), "occupancy_otb_ly")}
                   for c in regs]
    past = monday < snap - dt.timedelta(days=snap.weekday())
    regions = {"title": f"Taux d'occupation par région — {_week_label(year, wk)} · {UNIT_LABELS[unit]}",
               "definition": DEFINITIONS["regions"],
               "labels": {"n": f"{year} " + ("réalisé" if past else "à date"),
                          "n1": f"{year - 1} " + ("réalisé" if past else "à même date")},
               "rows": region_rows}

    # 3. on the books for the coming 12 weeks, vs N-1 at the same date (constant panel)
    snap_monday = snap - dt.timedelta(days=snap.weekday())
    horizon = [snap_monday + dt.timedelta(weeks=i) for i in range(HORIZON_WEEKS)]
    p = _eq(pace, geo_code=geo, unit_group=unit, stars_band="ALL")
    by_week = {r["week_start"]: r for r in p.to_pylist()}
    otb_points = []
    for d in horizon:
        r = by_week.get(d)
        iy, iw, _ = d.isocalendar()
        otb_points.append({"x": iw, "label": _week_label(iy, iw), "n": _cell(r, "occupancy_otb"),
                           "n1": _cell(r, "occupancy_otb_ly"), "panel": _cell(r, "panel_campsites"),
                           "points": _cell(r, "pace_points")})
    on_the_books = {"title": f"Réservations à date — 12 semaines à venir — {_geo_name(geo)} · {UNIT_LABELS[unit]}",
                    "definition": DEFINITIONS["on_the_books"], "labels": {"n": f"{year} à date",
                                                                          "n1": f"{year - 1} à même date"},
                    "points": otb_points}

    # 4. pace by région and département for the chosen week (with the panel size)
    order: list[tuple[str, int]] = []
    if geo == "FR":
        order.append(("FR", 0))
        for reg in sorted(c for c in prow if c.startswith("REG-")):
            order.append((reg, 1))
            order += [(f"DEP-{d.code}", 2) for d in territory.departements_of(reg[4:]) if f"DEP-{d.code}" in prow]
    else:
        order.append((geo, 1))
        order += [(f"DEP-{d.code}", 2) for d in territory.departements_of(geo[4:]) if f"DEP-{d.code}" in prow]
    pace_rows = [{"code": c, "name": _geo_name(c), "level": lvl, "panel": _cell(prow.get(c), "panel_campsites"),
                  "otb": _cell(prow.get(c), "occupancy_otb"), "otb_ly": _cell(prow.get(c), "occupancy_otb_ly"),
                  "points": _cell(prow.get(c), "pace_points"), "pct": _cell(prow.get(c), "pace_pct")}
                 for c, lvl in order]
    pace_table = {"title": f"Écart à date vs N-1 par région et département — {_week_label(year, wk)} · "
                           f"{UNIT_LABELS[unit]}",
                  "definition": DEFINITIONS["pace"], "rows": pace_rows}

    # 5. country mix (guest breakdowns go down to the région only; all unit types)
    cm = _eq(tables["country_mix"], geo_code=geo, iso_year=year, iso_week=wk)
    cm_rows = {r["country_code"]: r for r in cm.to_pylist() if r["unit_group"] == "ALL" and r["stars_band"] == "ALL"}
    countries = [{"code": c, "name": COUNTRY_NAMES.get(c, c), **_cell(r, "share_of_foreign")}
                 for c, r in cm_rows.items() if c != "FOREIGN"]
    countries.sort(key=lambda x: (x["s"] != "published", -(x["v"] or 0), x["code"]))
    country_mix = {"title": f"Clientèle étrangère par pays — {_geo_name(geo)} · tous hébergements · "
                            f"{_week_label(year, wk)}",
                   "definition": DEFINITIONS["country_mix"],
                   "foreign_share": _cell(cm_rows.get("FOREIGN"), "share_of_person_nights"),
                   "rows": countries}

    # 6. length of stay and lead time by unit type
    wk_geo = {r["unit_group"]: r for r in _eq(weekly, geo_code=geo, stars_band="ALL", iso_year=year,
                                               iso_week=wk).to_pylist()}
    lt = _eq(tables["lead_time"], geo_code=geo, stars_band="ALL", iso_year=year, iso_week=wk)
    lt_rows = {(r["unit_group"], r["lead_bucket"]): r for r in lt.to_pylist()}
    units = ["PITCH", "RENTAL", "ALL"]
    stay_lead = {"title": f"Durée de séjour et délai de réservation par type d'hébergement — {_geo_name(geo)} · "
                          f"{_week_label(year, wk)}",
                 "definition": DEFINITIONS["stay_lead"],
                 "length_of_stay": [{"unit": u, "label": UNIT_LABELS[u], **_cell(wk_geo.get(u), "avg_length_of_stay")}
                                    for u in units],
                 "lead_time_days": [{"unit": u, "label": UNIT_LABELS[u], **_cell(wk_geo.get(u), "avg_lead_time_days")}
                                    for u in units],
                 "buckets": [{"code": b, "label": LEAD_LABELS[b]} for b in LEAD_BUCKETS],
                 "lead_time": [{"unit": u, "label": UNIT_LABELS[u],
                                "values": [_cell(lt_rows.get((u, b)), "share") for b in LEAD_BUCKETS]}
                               for u in units]}

    # headline figures for the chosen week and territory
    cur = wk_geo.get(unit)
    prev = next((r for r in _eq(weekly, geo_code=geo, unit_group=unit, stars_band="ALL", iso_year=year - 1,
                                iso_week=wk).to_pylist()), None)
    realised = (cur or {}).get("basis") == "realised"
    kpis = {"occupancy": _cell(cur, "occupancy_rate"),
            # a realised week compares with last year's realised week; a coming week only through the pace table
            "occupancy_ly": _cell(prev, "occupancy_rate") if realised else {"v": None, "s": "absent"},
            "basis": (cur or {}).get("basis"), "pickup": _cell(cur, "pickup_unit_nights"),
            "person_nights": _cell(cur, "person_nights"), "foreign_share": _cell(cur, "foreign_share"),
            "campsites": _cell(cur, "n_campsites"), "pace_points": _cell(prow.get(geo), "pace_points"),
            "panel": _cell(prow.get(geo), "panel_campsites")}

    return {"source": source, "filters": {"region": None if geo == "FR" else geo, "geo": geo,
                                          "geo_name": _geo_name(geo),
                                          "unit": unit, "week": f"{year}-W{wk:02d}",
                                          "week_label": _week_label(year, wk)},
            "kpis": kpis,
            "charts": {"occupancy": occupancy, "regions": regions, "on_the_books": on_the_books, "pace": pace_table,
                       "country_mix": country_mix, "stay_lead": stay_lead}}
