"""Batch validation against a table schema: types, required, domains, INSEE codes, dates, row rules, duplicates.

Checks are vectorised: a rule yields a boolean mask per batch, whose count goes to the report and whose first rows
become problems (row, column, value, reason). String constraints are evaluated on the distinct values of a
dictionary-encoded column, then mapped back to rows. Duplicate keys are packed into one int64 per row and sorted
once at the end.

Each batch goes through two steps. ``check`` holds every rule that looks at one row at a time; it keeps no state
between batches, so several batches are checked at once in a pool of threads (Arrow's kernels release the GIL).
``accept`` takes the checked batches in file order and does what depends on the batches before: row numbers,
the ``constant`` rules (the file's first value), pseudonyms (computed once per distinct value, see
``pseudonymise``), duplicate keys and the report.
"""

from __future__ import annotations

import datetime as dt
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.collection.pseudonymise import Hashed, Pseudonymiser, prepare_identifiers
from hub.collection.report import MAX_PROBLEMS, Problem, Report
from hub.schemas import Field, TableSchema
from policies.territory import all_departements

__all__ = ["Validator", "Checked", "output_schema"]

_EPOCH_2000 = 10957  # days from 1970-01-01 to 2000-01-01
_OPS = {"<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal, "==": pc.equal}
_FORMULA_ANY = r"^[=@\t\r\x00]"
_FORMULA_TEXT = r"^[=@\t\r\x00+\-]"
_RE = {"date": r"^\d{4}-\d{2}-\d{2}$", "integer": r"^[+-]?\d{1,18}$",
       "number": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$"}
_TYPE_REASON = {"date": "not a date (YYYY-MM-DD)", "integer": "not an integer", "number": "not a number",
                "boolean": "not true/false"}


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


@lru_cache(maxsize=None)
def _codelist(name: str) -> pa.Array:
    """A static code list as an Arrow array, built once per process on first use (not at import: the first
    conversion of Python values to Arrow makes pyarrow import pandas, 40 MB in every node worker that never
    ingests a file)."""
    if name == "insee:departement":
        return pa.array([t.code for t in all_departements()], pa.string())
    raise ValueError(f"unknown codelist {name!r}")




def _two_byte_table(domain: pa.Array) -> np.ndarray | None:
    """For a code list with values of two bytes: a table from the two bytes (read as a little-endian 16-bit number)
    to the value's position in the list (the first, as ``index_in`` gives), -1 elsewhere; None without such values."""
    table = np.full(1 << 16, -1, dtype=np.int32)
    for i, v in enumerate(domain.to_pylist()):
        b = v.encode("utf-8") if v is not None else b""
        if len(b) == 2 and table[b[0] | b[1] << 8] < 0:
            table[b[0] | b[1] << 8] = i
    return table if (table >= 0).any() else None


def _two_byte_index(col: pa.Array, table: np.ndarray) -> pa.Array | None:
    """``index_in`` of a string column against a code list, by ``_two_byte_table``, when every value is present, two
    bytes long and in the list (about a fifth of the hash look-up's cost); otherwise None."""
    n = len(col)
    if not n or col.null_count or not pa.types.is_string(col.type):
        return None
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32, count=col.offset + n + 1)[col.offset:]
    start = int(offsets[0])
    if int(offsets[-1]) - start != 2 * n or not (np.diff(offsets) == 2).all():
        return None
    idx = np.take(table, np.frombuffer(col.buffers()[2], dtype="<u2", count=n, offset=start))
    return None if (idx < 0).any() else pa.array(idx)


def _scalar(f: Field, v: Any) -> Any:
    if f.type == "date" and isinstance(v, str):
        return dt.date.fromisoformat(v)
    return v


@dataclass
class Checked:
    """One batch after ``Validator.check``: what ``Validator.accept`` needs to finish it in file order."""

    rows: int
    problems: list[tuple[int, Problem]]  # (step, problem); the problem's row is its index in the batch until accept
    counts: dict[str, int]
    cols: dict[str, pa.Array]  # typed columns (cells of the wrong type are null)
    ids: dict[str, tuple[pa.Array, pa.Array]]  # identifier columns: per-row index, distinct values (trimmed)
    out: dict[str, pa.Array] | None  # written form of the other columns; None if the batch has problems
    hashed: dict[str, Hashed] = field(default_factory=dict)  # identifier columns: the HMAC step, if done


class _Notes:
    """Problems and counts of one batch, each problem tagged with the check step that found it (its position in
    the schema: fields, then row rules), so that problems on one row keep the schema's order."""

    def __init__(self) -> None:
        self.problems: list[tuple[int, Problem]] = []
        self.counts: dict[str, int] = {}
        self.step = 0
        self.type_bad: dict[str, np.ndarray] = {}

    def note(self, rule: str, column: str | None, mask: np.ndarray | pa.Array | None, values: pa.Array | None,
             reason: Any) -> None:
        """Count and cite the rows where ``mask`` is true (nulls in an Arrow mask count as false)."""
        if mask is None:
            return
        if isinstance(mask, (pa.Array, pa.ChunkedArray)):
            if not pc.any(mask).as_py():  # the common case, decided in C++ without a copy
                return
            mask = _np(mask)
        n = int(mask.sum())
        if not n:
            return
        self.counts[rule] = self.counts.get(rule, 0) + n
        idx = np.flatnonzero(mask)[:MAX_PROBLEMS]
        vals = values.take(pa.array(idx)).to_pylist() if values is not None else [None] * len(idx)
        for i, v in zip(idx, vals):
            text = None if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
            why = reason(int(i)) if callable(reason) else reason
            self.problems.append((self.step, Problem(int(i), column, text, rule, why)))


class Validator:
    """Validates batches and turns valid ones into the output batch (typed, pseudonymised).

    ``check`` may run on several batches at once (any thread); ``accept`` must see every checked batch once, in
    file order, from one thread.
    """

    def __init__(self, schema: TableSchema, pseudonymiser: Pseudonymiser, report: Report) -> None:
        self.schema, self.ps, self.report = schema, pseudonymiser, report
        self.rows = 0
        self._constants: dict[str, Any] = {}
        self._keys = np.empty(0, dtype=np.int64)  # one packed primary key per row, in file order
        self._nkeys = 0
        self._scratch = np.empty(0, dtype=np.int64)
        self._sets = {f.name: pa.array(f.constraints["enum"]) for f in schema.fields if "enum" in f.constraints}
        self._codes = {f.name: _codelist(f.codelist) for f in schema.fields if f.codelist}
        self._domains = {**{k: v.cast(pa.string()) for k, v in self._sets.items()
                            if pa.types.is_string(v.type)}, **self._codes}
        self._pairs = {k: t for k, v in self._domains.items() if (t := _two_byte_table(v)) is not None}
        # code lists that pass every string check of their column: a block coded over one needs no string check
        self._clean_domains = {k for k, v in self._domains.items() if self._passes_string_checks(k, v)}
        const = {r["column"] for r in schema.row_rules if r["kind"] == "constant"}
        self._key_cols = [c for c in schema.primary_key if c not in const] or list(schema.primary_key)
        self._rule_step = {r["id"]: len(schema.fields) + i for i, r in enumerate(schema.row_rules)}
        self.out_schema: pa.Schema = output_schema(schema)

    # -- text to typed ----------------------------------------------------------------------------------------
    def _to_typed(self, f: Field, col: pa.Array, notes: _Notes) -> pa.Array:
        present = pc.is_valid(col)
        if f.type == "string":
            return col
        if f.type == "boolean":
            t = pc.is_in(col, value_set=pa.array(list(f.true_values)))
            fa = pc.is_in(col, value_set=pa.array(list(f.false_values)))
            typed = pc.if_else(t, True, pc.if_else(fa, False, pa.scalar(None, pa.bool_())))
            ok = pc.or_(t, fa)
        else:
            ok = pc.match_substring_regex(col, _RE[f.type])
            clean = pc.if_else(ok, col, pa.scalar(None, pa.string()))
            if f.type == "date":
                ts = pc.strptime(clean, format="%Y-%m-%d", unit="s", error_is_null=True)
                typed = ts.cast(pa.date32())
                # strptime rolls impossible days over (2026-02-30 became 2026-03-02): a date must read back as
                # written, as the typed CSV reader requires
                typed = pc.if_else(pc.equal(typed.cast(pa.string()), clean), typed, pa.scalar(None, pa.date32()))
                ok = pc.is_valid(typed)
            elif f.type == "integer":
                typed = clean.cast(pa.int64())
            else:
                typed = clean.cast(pa.float64())
        bad = _np(present) & ~_np(ok)
        notes.note("type", f.name, bad, col, _TYPE_REASON[f.type])
        notes.type_bad[f.name] = bad
        return pc.if_else(pa.array(bad), pa.scalar(None, typed.type), typed) if bad.any() else typed

    # -- per batch, any thread ------------------------------------------------------------------------------------
    def check(self, batch: pa.RecordBatch, typed: bool) -> Checked:
        """Every rule that needs only this batch; keeps no state, so batches may be checked concurrently."""
        notes = _Notes()
        cols: dict[str, pa.Array] = {}
        for step, f in enumerate(self.schema.fields):
            notes.step = step
            col = batch.column(f.name)
            if f.name in self._domains and pa.types.is_string(col.type):
                col = self._coded(f, col)
            if not typed:
                self._check_strings(f, col, notes)
                col = self._to_typed(f, col, notes)
            elif f.type == "string":
                self._check_strings(f, col, notes)
            cols[f.name] = col
            self._check_field(f, col, notes)
        for rule in self.schema.row_rules:
            if rule["kind"] != "constant":  # needs the file's first value: in accept
                notes.step = self._rule_step[rule["id"]]
                self._check_rule(rule, cols, notes)
        ids = {f.name: prepare_identifiers(cols[f.name]) for f in self.schema.fields if f.pseudonymise}
        out = None if notes.counts else self._output_columns(cols)
        return Checked(batch.num_rows, notes.problems, notes.counts, cols, ids, out)

    def _coded(self, f: Field, col: pa.Array) -> pa.Array:
        """A coded column as a dictionary array over the schema's list when every value is in it (one hash look-up
        per row, or one table look-up when every value is two bytes long: country and département codes);
        otherwise dictionary-encoded by its own values. Either way the string checks below see each distinct value
        and map their verdict back to the rows."""
        domain = self._domains[f.name]
        idx = _two_byte_index(col, self._pairs[f.name]) if f.name in self._pairs else None
        if idx is None:
            idx = pc.index_in(col, value_set=domain)
            if idx.null_count != col.null_count:
                return pc.dictionary_encode(col)
        return pa.DictionaryArray.from_arrays(idx, domain, safe=False)  # the indices are in range

    def _passes_string_checks(self, name: str, values: pa.Array) -> bool:
        notes = _Notes()
        self._check_strings(self.schema.field(name), values, notes)
        return not notes.counts

    def _check_strings(self, f: Field, col: pa.Array, notes: _Notes) -> None:
        """Formula prefixes (any column read as text; string columns always) and string constraints."""
        is_dict = pa.types.is_dictionary(col.type)
        values = col.dictionary if is_dict else col
        if is_dict and f.name in self._clean_domains and values.equals(self._domains[f.name]):
            return  # coded over the schema's list (``_coded``), whose values all pass (checked once, at start)

        def rows(mask_values: pa.Array | np.ndarray) -> np.ndarray | pa.Array | None:
            """Row mask from a mask over the distinct values (None when no value is bad)."""
            if isinstance(mask_values, pa.Array):
                if not pc.any(mask_values).as_py():
                    return None
                mask_values = _np(mask_values)
            elif not mask_values.any():
                return None
            if not is_dict:
                return mask_values
            ext = np.append(mask_values, False)
            idx = col.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
            return ext[idx]

        pattern = _FORMULA_TEXT if f.type == "string" else _FORMULA_ANY
        bad = rows(pc.match_substring_regex(values, pattern))
        notes.note("formula_injection", f.name, bad, col, "starts like a spreadsheet formula (=, +, -, @, tab): refused")
        if f.type != "string":
            return
        c = f.constraints
        if "enum" in c:
            bad = rows(pc.invert(pc.is_in(values, value_set=self._sets[f.name], skip_nulls=True)))
            allowed = c["enum"]
            hint = ", ".join(allowed) if len(allowed) <= 8 else f"{len(allowed)} codes, see the schema"
            notes.note("enum", f.name, bad, col, f"not one of {hint}")
        if f.codelist:
            bad = rows(pc.invert(pc.is_in(values, value_set=self._codes[f.name], skip_nulls=True)))
            notes.note("insee_code", f.name, bad, col, "not an INSEE département code (COG)")
        elif "pattern" in c:
            bad = rows(pc.invert(pc.match_substring_regex(values, c["pattern"])))
            notes.note("pattern", f.name, bad, col, f"does not match {c['pattern']}")
        if "minLength" in c or "maxLength" in c:
            lengths = pc.utf8_length(values)
            extremes = pc.min_max(lengths)  # the masks only when a length is out of bounds
            lo, hi = extremes["min"].as_py(), extremes["max"].as_py()
            if lo is not None and (lo < c.get("minLength", lo) or hi > c.get("maxLength", hi)):
                bad_v = np.zeros(len(values), dtype=bool)
                if "minLength" in c:
                    bad_v |= _np(pc.less(lengths, c["minLength"]))
                if "maxLength" in c:
                    bad_v |= _np(pc.greater(lengths, c["maxLength"]))
                notes.note("length", f.name, rows(bad_v), col,
                           f"length must be {c.get('minLength', 0)}–{c.get('maxLength', '∞')} characters")

    def _check_field(self, f: Field, col: pa.Array, notes: _Notes) -> None:
        c = f.constraints
        if f.required:
            if col.null_count:
                empty = _np(pc.is_null(col))
                if f.name in notes.type_bad:
                    empty &= ~notes.type_bad[f.name]
                notes.note("required", f.name, empty, None, "required value is empty")
        if f.type in ("integer", "number", "date") and ("minimum" in c or "maximum" in c):
            # one pass for the batch's extremes; the row masks only when a bound is crossed
            extremes = pc.min_max(col)
            if "minimum" in c:
                lo = _scalar(f, c["minimum"])
                low = extremes["min"].as_py()
                if low is not None and low < lo:
                    notes.note("minimum", f.name, pc.less(col, lo), col, f"below the minimum {lo}")
            if "maximum" in c:
                hi = _scalar(f, c["maximum"])
                high = extremes["max"].as_py()
                if high is not None and high > hi:
                    notes.note("maximum", f.name, pc.greater(col, hi), col, f"above the maximum {hi}")

    def _check_rule(self, rule: dict[str, Any], cols: dict[str, pa.Array], notes: _Notes) -> None:
        rid, kind = rule["id"], rule["kind"]
        if kind == "compare":
            left, right = cols[rule["left"]], cols[rule["right"]]
            holds = _OPS[rule["op"]](left, right)
            if pc.all(holds).as_py() is False:  # nulls (an empty side) are skipped; the mask only on a failure
                notes.note(rid, rule["left"], pc.invert(holds.fill_null(True)), left,
                           lambda i: f"{rule['left']} must be {rule['op']} {rule['right']} ({right[i].as_py()})")
        elif kind == "days_between":
            start = cols[rule["start"]].view(pa.int32())
            end = cols[rule["end"]].view(pa.int32())
            got = cols[rule["equals"]]
            diff = pc.subtract(end, start)
            same = pc.equal(got.cast(pa.int32()), diff)
            if pc.all(same).as_py() is False:  # as for compare: the mask only on a failure
                notes.note(rid, rule["equals"], pc.invert(same.fill_null(True)), got,
                           lambda i: f"{rule['equals']} must equal {rule['end']} − {rule['start']} ({diff[i].as_py()})")
        elif kind == "present_iff":
            col, when = cols[rule["column"]], cols[rule["when"]]
            if pa.types.is_dictionary(when.type):  # decided per distinct value
                should = pc.is_in(when.dictionary, value_set=pa.array(rule["in"])).take(when.indices)
            else:
                should = pc.is_in(when, value_set=pa.array(rule["in"]))
            has = pc.is_valid(col)
            if not pc.any(pc.xor(should.fill_null(False), has)).as_py():  # the common case, in C++
                return
            should, has = _np(should), _np(has)
            cond = f"{rule['when']} in {', '.join(rule['in'])}"
            notes.note(rid, rule["column"], should & ~has, col, f"required when {cond}")
            notes.note(rid, rule["column"], ~should & has, col, f"must be empty unless {cond}")

    def hash_identifiers(self, checked: Checked, previous: Checked | None) -> None:
        """The HMACs of the identifiers of a checked batch that the batch before it (``previous``, checked, or None
        if it is the first or unknown) does not hold; any thread, batches side by side."""
        for f in self.schema.fields:
            if f.pseudonymise:
                before = previous.ids[f.name][1] if previous is not None else None
                checked.hashed[f.name] = self.ps.hash_block(f.pseudonymise, checked.ids[f.name][1], before)

    # -- in file order --------------------------------------------------------------------------------------------
    def accept(self, checked: Checked) -> pa.RecordBatch | None:
        """Finish a checked batch in file order; returns the output batch, or None once the file has any problem."""
        codes = {}
        for f in self.schema.fields:  # every batch's identifiers, valid or not: the next batch is hashed against it
            if f.pseudonymise:
                indices, uniques = checked.ids[f.name]
                codes[f.name] = self.ps.assemble(f.pseudonymise, indices, uniques, checked.hashed.get(f.name))
        notes = _Notes()
        notes.problems, notes.counts = list(checked.problems), dict(checked.counts)
        for rule in self.schema.row_rules:
            if rule["kind"] == "constant":
                notes.step = self._rule_step[rule["id"]]
                self._check_constant(rule, checked.cols, notes)
        self._collect_keys(checked.cols, checked.rows, codes)
        notes.problems.sort(key=lambda sp: (sp[1].row, sp[0]))
        self.report.add([replace(p, row=self.rows + p.row + 2) for _, p in notes.problems], notes.counts)
        self.rows += checked.rows
        self.report.rows_checked = self.rows
        if not self.report.ok or checked.out is None:
            return None
        arrays = []
        for f in self.schema.fields:
            if f.pseudonymise:
                idx, dictionary, _ = codes[f.name]  # one pseudonym per distinct value: the indices are in range
                arrays.append(pa.DictionaryArray.from_arrays(idx, dictionary, safe=False))
            else:
                arrays.append(checked.out[f.name])
        return pa.RecordBatch.from_arrays(arrays, schema=self.out_schema)

    def _check_constant(self, rule: dict[str, Any], cols: dict[str, pa.Array], notes: _Notes) -> None:
        name = rule["column"]
        col = cols[name]
        if name not in self._constants:
            valid = col.drop_null()
            if len(valid):
                self._constants[name] = valid[0]
        if name in self._constants:
            first = self._constants[name]
            same = pc.equal(col, first)
            if pc.all(same).as_py() is False:  # nulls (empty cells) are skipped; the mask only on a failure
                notes.note(rule["id"], name, pc.invert(same.fill_null(True)), col,
                           f"{rule.get('reason', 'one value per file')}: expected {first.as_py()}")

    # -- duplicates ---------------------------------------------------------------------------------------------
    def _collect_keys(self, cols: dict[str, pa.Array], n: int,
                      codes: dict[str, tuple[pa.Array, pa.Array, np.ndarray]]) -> None:
        if not self._key_cols:
            return
        # the parts are combined into the key's slot in place, through one reused scratch array: fresh arrays per
        # batch cost a page fault per 4 KiB (numpy's temporaries were half the faults of the whole ingestion)
        if len(self._scratch) < n:
            self._scratch = np.empty(n, dtype=np.int64)
        widths = []
        for name in self._key_cols:
            f = self.schema.field(name)
            widths.append(64 if f.pseudonymise or (f.type != "date" and name not in self._sets) else
                          16 if f.type == "date" else max(1, math.ceil(math.log2(len(self._sets[name]) + 1))))
        fits = sum(widths) <= 63
        key = self._key_slot(n)
        for i, (name, width) in enumerate(zip(self._key_cols, widths)):
            f, col = self.schema.field(name), cols[name]
            part = key if i == 0 else self._scratch[:n]  # the first part goes straight into the key
            if f.pseudonymise:
                idx, _, ids = codes[name]
                np.take(ids, idx.fill_null(0).to_numpy(zero_copy_only=False), out=part, mode="clip")  # no temporary
            elif f.type == "date":
                days = col.view(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
                np.subtract(days, np.int64(_EPOCH_2000), out=part)
                np.clip(part, 0, 65535, out=part)
            elif name in self._sets:
                if pa.types.is_dictionary(col.type) and col.dictionary.equals(self._sets[name]):
                    idx = col.indices  # coded by the schema's list
                else:
                    s = col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
                    idx = pc.index_in(s, value_set=self._sets[name])
                part[:] = idx.fill_null(0).to_numpy(zero_copy_only=False)
            else:  # any other column: an interned dense id per distinct value
                part[:] = self.ps.row_ids("~key:" + name, col.cast(pa.string()))
            if i == 0:
                continue
            if fits:
                np.left_shift(key, width, out=key)
                np.bitwise_or(key, part, out=key)
            else:  # does not fit: key·K + part (K odd, wrapping). The 64-bit ids are HMAC bits, so two different
                # keys collide with probability 2^-64 per pair (a false duplicate about once in 370,000 files of
                # 10 M rows); rows of one booking never collide (different nights differ by less than 2^64/K)
                np.multiply(key, np.int64(-7046029254386353131), out=key)
                np.add(key, part, out=key)

    def reserve_keys(self, rows: int) -> None:
        """Room for the keys of about ``rows`` rows in one array, filled in place (80 MB for 10 M rows: fresh
        memory costs a page fault per 4 KiB, so one array beats per-batch arrays and their concatenation)."""
        if rows > len(self._keys):
            grown = np.empty(rows, dtype=np.int64)
            grown[: self._nkeys] = self._keys[: self._nkeys]
            self._keys = grown

    def _key_slot(self, n: int) -> np.ndarray:
        if self._nkeys + n > len(self._keys):
            self.reserve_keys(max(self._nkeys + n, len(self._keys) + len(self._keys) // 4, 1 << 16))
        slot = self._keys[self._nkeys: self._nkeys + n]
        self._nkeys += n
        return slot

    def finish(self) -> None:
        """File-wide checks once every batch has been seen (duplicate keys)."""
        if not self._nkeys:
            return
        keys = self._keys[: self._nkeys]
        self._keys, self._nkeys = np.empty(0, dtype=np.int64), 0
        if not _any_repeated(keys):
            return
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        same = np.flatnonzero(sk[1:] == sk[:-1]) + 1
        # first occurrence of each run, to cite it
        run_start = np.maximum.accumulate(np.where(np.r_[True, sk[1:] != sk[:-1]], np.arange(len(sk)), 0))
        dup_rows = order[same]
        first_rows = order[run_start[same]]
        sel = np.argsort(dup_rows)[:MAX_PROBLEMS]
        cols = ", ".join(self.schema.primary_key)
        probs = [Problem(int(dup_rows[i]) + 2, cols, None, "duplicate",
                         f"same ({cols}) as row {int(first_rows[i]) + 2}") for i in sel]
        self.report.add(probs, {"duplicate": len(same)})

    # -- output -------------------------------------------------------------------------------------------------
    def _output_columns(self, cols: dict[str, pa.Array]) -> dict[str, pa.Array]:
        """Every column but the identifiers as written: coded columns dictionary-encoded with the schema's list."""
        out = {}
        for f, target in zip(self.schema.fields, self.out_schema):
            if f.pseudonymise:
                continue
            col = cols[f.name]
            if f.name in self._domains:
                # coded columns share one dictionary (the schema's list) across batches, so that the Parquet
                # writer keeps dictionary encoding instead of falling back to plain strings at the next batch
                domain = self._domains[f.name]
                if pa.types.is_dictionary(col.type) and col.dictionary.equals(domain):
                    idx = col.indices
                elif pa.types.is_dictionary(col.type):
                    idx = pc.index_in(col.dictionary, value_set=domain).take(col.indices)
                else:
                    idx = pc.index_in(col, value_set=domain)
                col = pa.DictionaryArray.from_arrays(idx.cast(pa.int32()), domain, safe=False)  # in range, as above
            elif pa.types.is_dictionary(target.type) and not pa.types.is_dictionary(col.type):
                col = pc.dictionary_encode(col)
            if col.type != target.type:
                col = col.cast(target.type)
            out[f.name] = col
        return out


def _any_repeated(keys: np.ndarray) -> bool:
    """Whether a value occurs twice. Large arrays are split by sign (equal values fall on the same side) and the
    two sides sorted in two threads (numpy releases the GIL while sorting): this runs after the last block, when
    the other core has little left to do."""
    def repeated(a: np.ndarray) -> bool:
        a.sort()
        return bool((a[1:] == a[:-1]).any())

    if len(keys) < 1 << 20:
        return repeated(keys.copy())
    negative = keys < 0
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(repeated, keys[negative])
        return repeated(keys[~negative]) | other.result()


def output_schema(schema: TableSchema) -> pa.Schema:
    """Arrow schema of written batches: identifiers and coded columns as dictionary<int32, string>."""
    coded = pa.dictionary(pa.int32(), pa.string())
    return pa.schema([pa.field(f.name, coded if (f.pseudonymise or "enum" in f.constraints or f.codelist)
                               else f.arrow_type, nullable=not f.required) for f in schema.fields])
