"""Secondary suppression: hide enough further cells that no suppressed value can be recomputed from its margins.

A table's cells are linked by additive relations, one per total and dimension (France = Σ régions, région = Σ its
départements, all units = pitches + rentals, all stars = Σ bands, a margin = Σ categories). A relation with exactly
one hidden member gives that member away, so the heuristic hides, in each such relation, the published member with
the smallest value, until no relation has a lone hidden member. In several dimensions that is not always enough
(a hidden cell can still be pinned down by combining relations), so the pattern is then checked exactly: a hidden cell
is derivable iff its unit vector lies in the row space of the relations restricted to hidden cells, i.e. iff the null
space of that system is zero on it. Derivable cells get one more neighbour hidden and the loop runs again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Relation:
    """``total = Σ children``; ``total`` is a cell index, or None when the total is outside the table."""

    total: int | None
    children: list[int]
    external_key: Hashable | None = None  # key of the outside total (for a linked table)
    external_hidden: bool = False  # the outside total is itself suppressed: the relation reveals nothing

    def members(self) -> list[int]:
        return ([self.total] if self.total is not None else []) + self.children


@dataclass
class Dimension:
    """A hierarchical key column: ``parent(value)`` is the value of its total, None at the root."""

    column: str
    parent: Callable[[str], str | None]
    external_root: bool = False  # the root total lives in another table (already published there)


def build_relations(keys: Sequence[tuple], columns: Sequence[str], dims: Sequence[Dimension]) -> list[Relation]:
    """Every additive relation among cells identified by ``keys`` (tuples in ``columns`` order)."""
    index = {k: i for i, k in enumerate(keys)}
    rels: list[Relation] = []
    for dim in dims:
        pos = columns.index(dim.column)
        groups: dict[tuple, list[int]] = {}
        for i, k in enumerate(keys):
            p = dim.parent(k[pos])
            if p is None:
                continue
            groups.setdefault(k[:pos] + (p,) + k[pos + 1:], []).append(i)
        for total_key, children in groups.items():
            total = index.get(total_key)
            if total is None and not dim.external_root:
                # the total is not published at this level (e.g. a département × stars cell): nothing is implied
                continue
            rels.append(Relation(total, children, None if total is not None else total_key))
    return rels


@dataclass
class Pattern:
    suppressed: np.ndarray  # bool per cell
    reason: np.ndarray  # object per cell: "" or a rule name
    needs_external: set = field(default_factory=set)  # outside totals that must be hidden for this table to be safe


def _lone_pass(rels: list[Relation], sup: np.ndarray, reason: np.ndarray, cost: np.ndarray,
               needs_external: set, tag: str) -> bool:
    changed = False
    for r in rels:
        if r.external_hidden:
            continue
        members = r.members()
        hidden = [m for m in members if sup[m]]
        if len(hidden) != 1:
            continue
        cand = [m for m in members if not sup[m]]
        if not cand:
            # a lone hidden child under an outside total that is published: only hiding that total protects it
            needs_external.add(r.external_key)
            continue
        pick = min(cand, key=lambda m: (cost[m], m))
        sup[pick] = True
        reason[pick] = tag
        changed = True
    return changed


def derivable(n_cells: int, rels: list[Relation], sup: np.ndarray, tol: float = 1e-9) -> list[int]:
    """Hidden cells whose value the published cells and known totals determine exactly."""
    hidden_idx = np.flatnonzero(sup)
    if len(hidden_idx) == 0:
        return []
    col = {int(c): j for j, c in enumerate(hidden_idx)}
    rows: list[dict[int, float]] = []
    for r in rels:
        if r.external_hidden:
            continue
        row: dict[int, float] = {}
        if r.total is not None and sup[r.total]:
            row[col[r.total]] = 1.0
        for c in r.children:
            if sup[c]:
                row[col[c]] = row.get(col[c], 0.0) - 1.0
        if row:
            rows.append(row)
    # connected components of hidden cells through shared relations (union-find), solved one by one
    parent = list(range(len(hidden_idx)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in rows:
        cols = list(row)
        for c in cols[1:]:
            ra, rb = find(cols[0]), find(c)
            if ra != rb:
                parent[ra] = rb
    comp_rows: dict[int, list[dict[int, float]]] = {}
    for row in rows:
        comp_rows.setdefault(find(next(iter(row))), []).append(row)
    out: list[int] = []
    for rows_c in comp_rows.values():
        cols = sorted({c for row in rows_c for c in row})
        local = {c: j for j, c in enumerate(cols)}
        ri = np.array([i for i, row in enumerate(rows_c) for _c in row], dtype=np.int64)
        ci = np.array([local[c] for row in rows_c for c in row], dtype=np.int64)
        vi = np.array([v for row in rows_c for v in row.values()], dtype=float)
        if len(cols) <= EXACT_LIMIT:
            zero = _null_space_zero_rows(ri, ci, vi, len(rows_c), len(cols), tol)
        else:
            zero = _projection_zero_rows(ri, ci, vi, len(rows_c), len(cols))
        out.extend(int(hidden_idx[cols[j]]) for j in np.flatnonzero(zero))
    return sorted(out)


EXACT_LIMIT = 800  # components up to this many hidden cells are solved densely; larger ones by projection


def _null_space_zero_rows(ri, ci, vi, m: int, n: int, tol: float) -> np.ndarray:
    """Cells on which every vector of the null space vanishes (dense: eigenvectors of aᵀa with eigenvalue 0)."""
    a = np.zeros((m, n))
    np.add.at(a, (ri, ci), vi)
    w, v = np.linalg.eigh(a.T @ a)
    null = v[:, w < 1e-9 * max(1.0, float(w[-1]))]
    if null.shape[1] == 0:
        return np.ones(n, dtype=bool)
    return np.linalg.norm(null, axis=1) < 1e-7


def _projection_zero_rows(ri, ci, vi, m: int, n: int, trials: int = 3, seed: int = 0) -> np.ndarray:
    """Large components: project random vectors on the null space (conjugate gradients on a·aᵀ, sparse products).

    A coordinate that is zero in every projected random vector is zero on the whole null space (with probability 1),
    i.e. the cell is derivable.
    """
    rng = np.random.default_rng(seed)

    def a_mul(x):
        return np.bincount(ri, weights=vi * x[ci], minlength=m)

    def at_mul(z):
        return np.bincount(ci, weights=vi * z[ri], minlength=n)

    zero = np.ones(n, dtype=bool)
    for _ in range(trials):
        x = rng.standard_normal(n)
        b = a_mul(x)
        z = np.zeros(m)
        r = b.copy()
        p = r.copy()
        rs = r @ r
        b_norm = max(np.sqrt(b @ b), 1e-300)
        for _it in range(20 * m + 100):
            if np.sqrt(rs) <= 1e-12 * b_norm:
                break
            q = a_mul(at_mul(p))
            alpha = rs / (p @ q)
            z += alpha * p
            r -= alpha * q
            rs_new = r @ r
            p = r + (rs_new / rs) * p
            rs = rs_new
        y = x - at_mul(z)
        zero &= np.abs(y) < 1e-6
    return zero


def secondary(rels: list[Relation], primary: np.ndarray, cost: np.ndarray, tag: str = "secondary",
              exact: bool = True, max_rounds: int = 50) -> Pattern:
    """Extend the primary pattern (non-empty reasons) until no hidden cell can be recomputed."""
    reason = primary.copy()
    sup = reason != ""
    needs_external: set = set()
    for _ in range(max_rounds):
        while _lone_pass(rels, sup, reason, cost, needs_external, tag):
            pass
        if not exact:
            break
        bad = derivable(len(sup), rels, sup)
        if not bad:
            break
        by_cell: dict[int, list[Relation]] = {}
        for r in rels:
            if r.external_hidden:
                continue
            for m in r.members():
                by_cell.setdefault(m, []).append(r)
        progressed = False
        for c in bad:
            cands = [m for r in by_cell.get(c, []) for m in r.members() if not sup[m]]
            if cands:
                pick = min(cands, key=lambda m: (cost[m], m))
                sup[pick] = True
                reason[pick] = tag
                progressed = True
            else:
                needs_external.update(r.external_key for r in by_cell.get(c, []) if r.total is None)
        if not progressed:
            break
    return Pattern(sup, reason, needs_external)
