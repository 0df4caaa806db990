"""The "Tourisme durable" dashboard's JSON: per pillar, each indicator's trend (with the base year) and the
comparison of régions, with its definition, unit, formula and sources. Suppressed cells stay null."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from hub.sustainable.catalogue import INDICATORS, PILLARS, indicator_json
from policies import territory

__all__ = ["board_json", "BoardError"]

# the row filter each indicator's values are read from (beyond period and territory)
_FILTER = {"arrivals": ("country_code", "FOREIGN"), "transport": ("transport_mode", "ALL")}
_PERIOD = {"employment": "quarter", "seasonality": "year"}


class BoardError(ValueError):
    """A bad filter value."""


def _rows(t: pa.Table, table: str) -> list[dict[str, Any]]:
    rows = t.to_pylist()
    f = _FILTER.get(table)
    return [r for r in rows if f is None or r.get(f[0]) == f[1]]


def board_json(tables: dict[str, pa.Table], run: dict[str, Any], region: str | None = None) -> dict[str, Any]:
    geo = "FR"
    label = "France"
    if region:
        reg = territory.region(region)
        if reg is None:
            raise BoardError(f"unknown région {region!r}")
        geo, label = f"REG-{reg.code}", reg.name
    cache = {name: _rows(t, name) for name, t in tables.items()}
    years = sorted({r["period_start"].year for r in cache["arrivals"]} | {r["period_start"].year
                                                                          for r in cache["energy"]})
    last = years[-1] if years else None
    base = years[0] if years else None
    pillars: dict[str, list[dict[str, Any]]] = {p: [] for p in PILLARS}
    for ind in INDICATORS:
        rows = cache[ind.table]
        ptype = _PERIOD.get(ind.table, "month")
        trend = [{"period": r["period_start"].isoformat(), "year": r["period_start"].year, "value": r[ind.column],
                  "status": r.get("status", "published")}
                 for r in rows if r["geo_code"] == geo and r["period_type"] == ptype]
        trend.sort(key=lambda p: p["period"])
        regions = [{"geo_code": r["geo_code"], "label": _name(r["geo_code"]), "value": r[ind.column],
                    "status": r.get("status", "published")}
                   for r in rows if r["geo_level"] == "REG" and r["period_type"] == "year"
                   and r["period_start"].year == last]
        regions.sort(key=lambda p: (p["value"] is None, -(p["value"] or 0)))
        year_row = next((r for r in rows if r["geo_code"] == geo and r["period_type"] == "year"
                         and r["period_start"].year == last), None)
        base_row = next((r for r in rows if r["geo_code"] == geo and r["period_type"] == "year"
                         and r["period_start"].year == base), None)
        pillars[ind.pillar].append({**indicator_json(ind), "trend": trend, "regions": regions,
                                    "value": year_row[ind.column] if year_row else None,
                                    "base_value": base_row[ind.column] if base_row and base != last else None})
    return {"run": {k: run.get(k) for k in ("run", "engine", "snapshot", "computed_at", "tables", "published")},
            "geo_code": geo, "geo_label": label, "year": last, "base_year": base,
            "pillars": [{"id": p, "label": lab, "indicators": pillars[p]} for p, lab in PILLARS.items()],
            "regions": [{"code": f"REG-{r.code}", "label": r.name} for r in territory.all_regions()]}


def _name(code: str) -> str:
    reg = territory.region(code)
    return reg.name if reg is not None else code
