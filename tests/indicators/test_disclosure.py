"""Disclosure control: primary rules, secondary suppression, département → région fallback; property-based.

The property tests build random campsite contributions over a small territory (two régions, five départements),
roll them up into France / région / département × unit group × stars cells, protect the table, and check with an
independent oracle: every published cell has ≥ 3 campsites and no campsite above 85 %, and no suppressed cell is
determined by the published cells through the table's additive relations (a linear-algebra rank test written here,
not the library's).
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.disclosure import GEO, STARS, UNIT, Rules, TableSpec, derivable, protect
from hub.disclosure.suppression import Dimension, build_relations

DEPS = {"34": "76", "30": "76", "11": "76", "29": "53", "56": "53"}
BANDS = ("1-2", "3", "4-5")
UNITS = ("PITCH", "RENTAL")
SPEC = TableSpec(keys=("geo_code", "unit_group", "stars_band"), dims=(GEO, UNIT, STARS),
                 measures=("unit_nights",), dominance=("unit_nights",))


def cells_from(contribs: list[tuple[str, str, str, int]]) -> tuple[pa.Table, dict]:
    """Roll (campsite, dep, stars, unit) contributions up the way the barometer does (stars not at département)."""
    per_cell: dict[tuple, dict[str, int]] = {}
    for camp, dep, band, unit, value in contribs:
        geos = [("FR", True), (f"REG-{DEPS[dep]}", True), (f"DEP-{dep}", False)]
        for (geo, with_stars), u, b in itertools.product(geos, (unit, "ALL"), (band, "ALL")):
            if b != "ALL" and not with_stars:
                continue
            d = per_cell.setdefault((geo, u, b), {})
            d[camp] = d.get(camp, 0) + value
    keys = sorted(per_cell)
    table = pa.table({
        "geo_code": [k[0] for k in keys], "unit_group": [k[1] for k in keys], "stars_band": [k[2] for k in keys],
        "unit_nights": [sum(per_cell[k].values()) for k in keys],
        "n_campsites": [sum(1 for v in per_cell[k].values() if v) for k in keys],
        "max_unit_nights": [max(per_cell[k].values()) for k in keys],
    })
    return table, per_cell


def oracle_relations(keys: list[tuple]) -> list[tuple[tuple, list[tuple]]]:
    """The additive relations, written out independently of the library."""
    present = set(keys)
    rels = []
    for u, b in itertools.product(("ALL", *UNITS), ("ALL", *BANDS)):
        regs = [k for k in present if k[0].startswith("REG-") and k[1:] == (u, b)]
        if ("FR", u, b) in present and regs:
            rels.append((("FR", u, b), regs))
        for reg in {k[0] for k in regs}:
            deps = [k for k in present if k[0].startswith("DEP-") and DEPS[k[0][4:]] == reg[4:] and k[1:] == (u, b)]
            if deps:
                rels.append(((reg, u, b), deps))
    for geo, b in {(k[0], k[2]) for k in present}:
        kids = [k for k in present if k[0] == geo and k[2] == b and k[1] != "ALL"]
        if kids and (geo, "ALL", b) in present:
            rels.append(((geo, "ALL", b), kids))
    for geo, u in {(k[0], k[1]) for k in present}:
        kids = [k for k in present if k[0] == geo and k[1] == u and k[2] != "ALL"]
        if kids and (geo, u, "ALL") in present:
            rels.append(((geo, u, "ALL"), kids))
    return rels


def determined(keys: list[tuple], hidden: set[tuple]) -> list[tuple]:
    """Hidden cells whose value the published ones pin down (rank test per hidden cell)."""
    hid = sorted(hidden)
    if not hid:
        return []
    col = {k: i for i, k in enumerate(hid)}
    rows = []
    for total, kids in oracle_relations(keys):
        row = np.zeros(len(hid))
        if total in col:
            row[col[total]] += 1
        for k in kids:
            if k in col:
                row[col[k]] -= 1
        if row.any():
            rows.append(row)
    if not rows:
        return []
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = []
    for k in hid:
        e = np.zeros(len(hid))
        e[col[k]] = 1
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out.append(k)
    return out


contribution = st.tuples(st.sampled_from(sorted(DEPS)), st.sampled_from(BANDS), st.sampled_from(UNITS),
                         st.integers(min_value=0, max_value=400))


@st.composite
def datasets(draw):
    n = draw(st.integers(min_value=1, max_value=16))
    out = []
    for i in range(n):
        dep, band, _u, _v = draw(contribution)
        for unit in draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=2, unique=True)):
            value = draw(st.one_of(st.integers(1, 60), st.integers(200, 2000)))  # some campsites dominate
            out.append((f"c{i:02d}", dep, band, unit, value))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_published_cells_pass_the_rules_and_hidden_ones_cannot_be_recomputed(contribs):
    table, per_cell = cells_from(contribs)
    out = protect(table, SPEC).table
    keys = list(zip(*(out.column(c).to_pylist() for c in SPEC.keys)))
    status = out.column("status").to_pylist()
    hidden = {k for k, s in zip(keys, status) if s == "suppressed"}
    for k, s in zip(keys, status):
        if s == "published":
            contrib = [v for v in per_cell[k].values() if v]
            assert len(contrib) >= 3, k
            assert max(contrib) <= 0.85 * sum(contrib), k
    assert determined(keys, hidden) == []
    values = dict(zip(keys, out.column("unit_nights").to_pylist()))
    assert all(values[k] is None for k in hidden)  # shown as missing, never as zero


def test_primary_rules_and_fallback():
    contribs = [("a", "34", "3", "PITCH", 10), ("b", "34", "3", "PITCH", 10), ("c", "34", "3", "PITCH", 10),
                ("d", "30", "3", "PITCH", 10), ("e", "30", "3", "PITCH", 10),  # Gard: 2 campsites
                ("f", "11", "3", "PITCH", 1000), ("g", "11", "3", "PITCH", 5), ("h", "11", "3", "PITCH", 5),
                ("i", "29", "3", "PITCH", 10), ("j", "29", "3", "PITCH", 10), ("k", "29", "3", "PITCH", 10)]
    table, _ = cells_from(contribs)
    out = {(r["geo_code"], r["unit_group"], r["stars_band"]): r for r in protect(table, SPEC).table.to_pylist()}
    assert out[("DEP-30", "ALL", "ALL")]["suppression"] == "frequency"
    assert out[("DEP-11", "ALL", "ALL")]["suppression"] == "dominance"  # 1000 of 1010
    # the fallback is the nearest enclosing territory that is published
    nearest = next((g for g in ("REG-76", "FR") if out[(g, "ALL", "ALL")]["status"] == "published"), None)
    assert out[("DEP-30", "ALL", "ALL")]["fallback_geo"] == nearest
    assert out[("DEP-29", "PITCH", "ALL")]["fallback_geo"] is None  # published cells need no fallback
    assert out[("DEP-30", "ALL", "ALL")]["unit_nights"] is None
    assert out[("DEP-34", "ALL", "ALL")]["status"] == "published"
    assert out[("DEP-29", "ALL", "ALL")]["status"] == "published"  # the only département of Bretagne here
    # a région whose cells fail falls back to France
    assert out[("REG-76", "ALL", "ALL")]["status"] == "suppressed"  # dominated by campsite f (1000 of 1050)
    assert out[("DEP-34", "ALL", "ALL")]["fallback_geo"] is None


def test_k_rule_for_guest_counts():
    t = pa.table({"geo_code": ["FR", "REG-76", "REG-53"], "unit_group": ["ALL"] * 3, "stars_band": ["ALL"] * 3,
                  "arrivals": [30, 20, 10], "max_arrivals": [5, 5, 4], "n_campsites": [9, 5, 4]})
    spec = TableSpec(keys=SPEC.keys, dims=(GEO,), measures=("arrivals",), dominance=("arrivals",), persons="arrivals")
    out = protect(t, spec, Rules()).table.to_pylist()
    assert [r["suppression"] for r in out] == [None, "secondary", "persons"]


def test_exact_check_catches_what_the_lone_cell_rule_misses():
    # 2 × 2 inner cells with all margins published: hiding one cell per row and column is not enough
    keys = [("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"), ("r1", "T"), ("r2", "T"), ("T", "c1"),
            ("T", "c2"), ("T", "T")]
    dims = [Dimension("row", lambda v: None if v == "T" else "T"), Dimension("col", lambda v: None if v == "T" else "T")]
    rels = build_relations(keys, ["row", "col"], dims)
    sup = np.array([True, False, False, False, False, False, False, False, False])
    assert derivable(len(keys), rels, sup) == [0]
    sup[[1, 2, 3]] = True  # the classic rectangle: nothing can be pinned down
    assert derivable(len(keys), rels, sup) == []


def test_rules_validate_their_thresholds():
    import pytest

    with pytest.raises(ValueError, match="dominance"):
        Rules(dominance=1.5)
