"""Apply disclosure control to one indicator table: primary rules, secondary suppression, marking, fallback."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.disclosure.rules import LINKED, SECONDARY, Rules, primary_reasons
from hub.disclosure.suppression import Dimension, build_relations, secondary
from policies import territory

PUBLISHED, SUPPRESSED = "published", "suppressed"


def geo_parent(code: str) -> str | None:
    """France ⊃ région ⊃ département, on the ``FR`` / ``REG-xx`` / ``DEP-xx`` codes the tables use."""
    if code.startswith("DEP-"):
        dep = territory.departement(code)
        return f"REG-{dep.region}" if dep is not None else "REG-??"
    if code.startswith("REG-"):
        return "FR"
    return None


def all_parent(value: str) -> str | None:
    """A flat dimension whose total is ``ALL`` (unit group, stars band)."""
    return None if value == "ALL" else "ALL"


GEO = Dimension("geo_code", geo_parent)
UNIT = Dimension("unit_group", all_parent)
STARS = Dimension("stars_band", all_parent)


@dataclass(frozen=True)
class TableSpec:
    """How one indicator table is protected.

    ``measures`` are the additive magnitudes (the relations hold for them); ``derived`` are computed from them and
    hidden with them; ``dominance`` names the magnitudes whose largest contribution is in ``max_<m>``; ``persons``
    is the column counting bookings for the k-rule on guests; ``private`` columns are dropped from the output.
    """

    keys: tuple[str, ...]
    dims: tuple[Dimension, ...]
    measures: tuple[str, ...]
    derived: tuple[str, ...] = ()
    dominance: tuple[str, ...] = ()
    persons: str | None = None
    private: tuple[str, ...] = ()
    units: str = "n_campsites"
    geo_column: str = "geo_code"


@dataclass
class Protected:
    table: pa.Table
    hidden: set = field(default_factory=set)  # keys of suppressed cells
    needs_external: set = field(default_factory=set)  # outside totals that must be hidden (linked tables)


def _keys(table: pa.Table, cols: Iterable[str]) -> list[tuple]:
    lists = [table.column(c).to_pylist() for c in cols]
    return list(zip(*lists))


def protect(table: pa.Table, spec: TableSpec, rules: Rules = Rules(), *,
            external_hidden: set | None = None, force: Mapping[Hashable, str] | None = None,
            exact: bool = True) -> Protected:
    """Mark each cell published or suppressed, hide suppressed values (null, never zero), add the fallback geography.

    ``external_hidden``: keys of outside totals (for dimensions with ``external_root``) that are suppressed where they
    are published; every cell under such a total is then hidden too. ``force``: cells to hide whatever their values.
    """
    missing = [c for c in (*spec.keys, *spec.measures, spec.units) if c not in table.column_names]
    if missing:
        raise ValueError(f"indicator table lacks columns: {', '.join(missing)}")
    n = table.num_rows
    keys = _keys(table, spec.keys)
    units = np.asarray(table.column(spec.units).fill_null(0).to_numpy(zero_copy_only=False))
    totals = {m: table.column(m).fill_null(0).to_numpy(zero_copy_only=False) for m in spec.dominance}
    maxima = {m: table.column(f"max_{m}").fill_null(0).to_numpy(zero_copy_only=False) for m in spec.dominance}
    persons = (table.column(spec.persons).fill_null(0).to_numpy(zero_copy_only=False)
               if spec.persons else None)
    reason = primary_reasons(units, totals, maxima, persons, rules)
    if force:
        for i, k in enumerate(keys):
            if reason[i] == "" and k in force:
                reason[i] = force[k]
    rels = build_relations(keys, spec.keys, spec.dims)
    if external_hidden:
        for r in rels:
            if r.total is None and r.external_key in external_hidden:
                r.external_hidden = True
                for c in r.children:
                    if reason[c] == "":
                        reason[c] = LINKED
    cost = np.asarray(table.column(spec.measures[0]).fill_null(0).to_numpy(zero_copy_only=False), dtype=float)
    pattern = secondary(rels, reason, cost, tag=SECONDARY, exact=exact)
    sup = pattern.suppressed
    out = _mark(table, spec, keys, sup, pattern.reason)
    hidden = {keys[i] for i in np.flatnonzero(sup)}
    return Protected(out, hidden, pattern.needs_external)


def _mark(table: pa.Table, spec: TableSpec, keys: list[tuple], sup: np.ndarray, reason: np.ndarray) -> pa.Table:
    mask = pa.array(sup)
    for col in (*spec.measures, *spec.derived, spec.units):
        if col in table.column_names:
            i = table.column_names.index(col)
            arr = table.column(col)
            table = table.set_column(i, col, pc.if_else(mask, pa.nulls(len(arr), arr.type), arr))
    drop = [c for c in table.column_names
            if c in spec.private or any(c == f"max_{m}" for m in spec.dominance)]
    table = table.drop_columns(drop)
    status = np.where(sup, SUPPRESSED, PUBLISHED)
    table = table.append_column("status", pa.array(status.tolist(), pa.string()))
    table = table.append_column("suppression", pa.array([r or None for r in reason.tolist()], pa.string()))
    return table.append_column("fallback_geo", pa.array(_fallbacks(spec, keys, sup), pa.string()))


def _fallbacks(spec: TableSpec, keys: list[tuple], sup: np.ndarray) -> list[str | None]:
    """For a suppressed cell, the nearest published enclosing territory with the same other keys."""
    if spec.geo_column not in spec.keys:
        return [None] * len(keys)
    pos = spec.keys.index(spec.geo_column)
    published = {k for k, s in zip(keys, sup) if not s}
    out: list[str | None] = []
    for k, s in zip(keys, sup):
        if not s:
            out.append(None)
            continue
        found = None
        code = geo_parent(k[pos])
        while code is not None:
            if k[:pos] + (code,) + k[pos + 1:] in published:
                found = code
                break
            code = geo_parent(code)
        out.append(found)
    return out
