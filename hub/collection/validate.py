"""Batch validation against a table schema: types, required, domains, INSEE codes, dates, row rules, duplicates.

Checks are vectorised: a rule yields a boolean mask per batch, whose count goes to the report and whose first rows
become problems (row, column, value, reason). String constraints are evaluated on the distinct values of a
dictionary-encoded column, then mapped back to rows. Duplicate keys are packed into one int64 per row and sorted
once at the end.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.collection.pseudonymise import Pseudonymiser
from hub.collection.report import MAX_PROBLEMS, Problem, Report
from hub.schemas import Field, TableSchema
from policies.territory import all_departements

__all__ = ["Validator", "output_schema"]

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


def _codelist(name: str) -> list[str]:
    if name == "insee:departement":
        return [t.code for t in all_departements()]
    raise ValueError(f"unknown codelist {name!r}")


def _scalar(f: Field, v: Any) -> Any:
    if f.type == "date" and isinstance(v, str):
        return dt.date.fromisoformat(v)
    return v


class Validator:
    """Validates batches in file order and turns valid ones into the output batch (typed, pseudonymised)."""

    def __init__(self, schema: TableSchema, pseudonymiser: Pseudonymiser, report: Report) -> None:
        self.schema, self.ps, self.report = schema, pseudonymiser, report
        self.rows = 0
        self._constants: dict[str, Any] = {}
        self._keys: list[np.ndarray] = []
        self._sets = {f.name: pa.array(f.constraints["enum"]) for f in schema.fields if "enum" in f.constraints}
        self._codes = {f.name: pa.array(_codelist(f.codelist)) for f in schema.fields if f.codelist}
        self._domains = {**{k: v.cast(pa.string()) for k, v in self._sets.items()
                            if pa.types.is_string(v.type)}, **self._codes}
        const = {r["column"] for r in schema.row_rules if r["kind"] == "constant"}
        self._key_cols = [c for c in schema.primary_key if c not in const] or list(schema.primary_key)
        self.out_schema: pa.Schema = output_schema(schema)

    # -- problem recording -------------------------------------------------------------------------------------
    def _note(self, batch_problems: list[Problem], counts: dict[str, int], rule: str, column: str | None,
              mask: np.ndarray | pa.Array | None, values: pa.Array | None, reason: Any) -> None:
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
        counts[rule] = counts.get(rule, 0) + n
        idx = np.flatnonzero(mask)[:MAX_PROBLEMS]
        vals = values.take(pa.array(idx)).to_pylist() if values is not None else [None] * len(idx)
        for i, v in zip(idx, vals):
            text = None if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
            why = reason(int(i)) if callable(reason) else reason
            batch_problems.append(Problem(self.rows + int(i) + 2, column, text, rule, why))

    # -- text to typed ----------------------------------------------------------------------------------------
    def _to_typed(self, f: Field, col: pa.Array, probs: list[Problem], counts: dict[str, int]) -> pa.Array:
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
                ok = pc.is_valid(typed)
            elif f.type == "integer":
                typed = clean.cast(pa.int64())
            else:
                typed = clean.cast(pa.float64())
        bad = _np(present) & ~_np(ok)
        self._note(probs, counts, "type", f.name, bad, col, _TYPE_REASON[f.type])
        self._type_bad[f.name] = bad
        return pc.if_else(pa.array(bad), pa.scalar(None, typed.type), typed) if bad.any() else typed

    # -- per batch ----------------------------------------------------------------------------------------------
    def check(self, batch: pa.RecordBatch, typed: bool) -> pa.RecordBatch | None:
        """Validate one batch; returns the output batch, or None once the file has any problem."""
        probs: list[Problem] = []
        counts: dict[str, int] = {}
        cols: dict[str, pa.Array] = {}
        self._pid_cache: dict[str, tuple[pa.Array, pa.Array, np.ndarray]] = {}
        # identifiers first: their new values are hashed (in the HMAC worker, for a large file) while the other
        # checks run
        self._pid_begun = {f.name: self.ps.codes_begin(f.pseudonymise, batch.column(f.name))
                           for f in self.schema.fields if f.pseudonymise}
        self._type_bad: dict[str, np.ndarray] = {}
        n = batch.num_rows
        for f in self.schema.fields:
            col = batch.column(f.name)
            if not typed:
                self._check_strings(f, col, probs, counts, text=True)
                col = self._to_typed(f, col, probs, counts)
            elif f.type == "string":
                self._check_strings(f, col, probs, counts, text=False)
            cols[f.name] = col
            self._check_field(f, col, probs, counts)
        for rule in self.schema.row_rules:
            self._check_rule(rule, cols, probs, counts)
        self._collect_keys(cols, n)
        for f in self.schema.fields:
            if f.pseudonymise:
                self._pid_codes(f, cols[f.name])  # every begun block is finished, output or not
        probs.sort(key=lambda p: p.row)
        self.report.add(probs, counts)
        self.rows += n
        self.report.rows_checked = self.rows
        if not self.report.ok:
            return None
        return self._output(cols)

    def _check_strings(self, f: Field, col: pa.Array, probs, counts, text: bool) -> None:
        """Formula prefixes (any column read as text; string columns always) and string constraints."""
        is_dict = pa.types.is_dictionary(col.type)
        values = col.dictionary if is_dict else col

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
        self._note(probs, counts, "formula_injection", f.name, bad, col,
                   "starts like a spreadsheet formula (=, +, -, @, tab): refused")
        if f.type != "string":
            return
        c = f.constraints
        if "enum" in c:
            bad = rows(pc.invert(pc.is_in(values, value_set=self._sets[f.name], skip_nulls=True)))
            allowed = c["enum"]
            hint = ", ".join(allowed) if len(allowed) <= 8 else f"{len(allowed)} codes, see the schema"
            self._note(probs, counts, "enum", f.name, bad, col, f"not one of {hint}")
        if f.codelist:
            bad = rows(pc.invert(pc.is_in(values, value_set=self._codes[f.name], skip_nulls=True)))
            self._note(probs, counts, "insee_code", f.name, bad, col, "not an INSEE département code (COG)")
        elif "pattern" in c:
            bad = rows(pc.invert(pc.match_substring_regex(values, c["pattern"])))
            self._note(probs, counts, "pattern", f.name, bad, col, f"does not match {c['pattern']}")
        if "minLength" in c or "maxLength" in c:
            lengths = pc.utf8_length(values)
            bad_v = np.zeros(len(values), dtype=bool)
            if "minLength" in c:
                bad_v |= _np(pc.less(lengths, c["minLength"]))
            if "maxLength" in c:
                bad_v |= _np(pc.greater(lengths, c["maxLength"]))
            self._note(probs, counts, "length", f.name, rows(bad_v), col,
                       f"length must be {c.get('minLength', 0)}–{c.get('maxLength', '∞')} characters")

    def _check_field(self, f: Field, col: pa.Array, probs, counts) -> None:
        c = f.constraints
        if f.required:
            if col.null_count:
                empty = _np(pc.is_null(col))
                if f.name in self._type_bad:
                    empty &= ~self._type_bad[f.name]
                self._note(probs, counts, "required", f.name, empty, None, "required value is empty")
        if f.type in ("integer", "number", "date"):
            if "minimum" in c:
                lo = _scalar(f, c["minimum"])
                self._note(probs, counts, "minimum", f.name, pc.less(col, lo), col, f"below the minimum {lo}")
            if "maximum" in c:
                hi = _scalar(f, c["maximum"])
                self._note(probs, counts, "maximum", f.name, pc.greater(col, hi), col, f"above the maximum {hi}")

    def _check_rule(self, rule: dict[str, Any], cols: dict[str, pa.Array], probs, counts) -> None:
        rid, kind = rule["id"], rule["kind"]
        if kind == "compare":
            left, right = cols[rule["left"]], cols[rule["right"]]
            bad = pc.invert(_OPS[rule["op"]](left, right).fill_null(True))
            self._note(probs, counts, rid, rule["left"], bad, left,
                       lambda i: f"{rule['left']} must be {rule['op']} {rule['right']} ({right[i].as_py()})")
        elif kind == "days_between":
            start = cols[rule["start"]].cast(pa.int32())
            end = cols[rule["end"]].cast(pa.int32())
            got = cols[rule["equals"]]
            diff = pc.subtract(end, start)
            bad = pc.invert(pc.equal(got.cast(pa.int32()), diff).fill_null(True))
            self._note(probs, counts, rid, rule["equals"], bad, got,
                       lambda i: f"{rule['equals']} must equal {rule['end']} − {rule['start']} ({diff[i].as_py()})")
        elif kind == "present_iff":
            col, when = cols[rule["column"]], cols[rule["when"]]
            if pa.types.is_dictionary(when.type):
                when = when.cast(pa.string())
            should = _np(pc.is_in(when, value_set=pa.array(rule["in"])))
            has = _np(pc.is_valid(col))
            cond = f"{rule['when']} in {', '.join(rule['in'])}"
            self._note(probs, counts, rid, rule["column"], should & ~has, col, f"required when {cond}")
            self._note(probs, counts, rid, rule["column"], ~should & has, col, f"must be empty unless {cond}")
        elif kind == "constant":
            name = rule["column"]
            col = cols[name]
            if name not in self._constants:
                valid = col.drop_null()
                if len(valid):
                    self._constants[name] = valid[0]
            if name in self._constants:
                first = self._constants[name]
                bad = pc.invert(pc.equal(col, first).fill_null(True))
                self._note(probs, counts, rid, name, bad, col,
                           f"{rule.get('reason', 'one value per file')}: expected {first.as_py()}")

    def _pid_codes(self, f: Field, col: pa.Array) -> tuple[pa.Array, pa.Array, np.ndarray]:
        """Per-row index into the batch's distinct identifiers, their pseudonyms and 64-bit ids."""
        if f.name not in self._pid_cache:
            begun = self._pid_begun.pop(f.name, None)
            self._pid_cache[f.name] = (self.ps.codes_finish(begun) if begun is not None
                                       else self.ps.codes(f.pseudonymise, col))
        return self._pid_cache[f.name]

    # -- duplicates ---------------------------------------------------------------------------------------------
    def _collect_keys(self, cols: dict[str, pa.Array], n: int) -> None:
        if not self._key_cols:
            return
        parts: list[tuple[np.ndarray, int]] = []
        for name in self._key_cols:
            f, col = self.schema.field(name), cols[name]
            if f.pseudonymise:
                idx, _, ids = self._pid_codes(f, col)
                parts.append((ids[idx.fill_null(0).to_numpy(zero_copy_only=False)], 64))
            elif f.type == "date":
                days = col.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
                parts.append((np.clip(days - _EPOCH_2000, 0, 65535), 16))
            elif name in self._sets:
                s = col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
                idx = pc.index_in(s, value_set=self._sets[name]).fill_null(0).to_numpy(zero_copy_only=False)
                parts.append((idx.astype(np.int64), max(1, math.ceil(math.log2(len(self._sets[name]) + 1)))))
            else:  # any other column: an interned dense id per distinct value
                parts.append((self.ps.row_ids("~key:" + name, col.cast(pa.string())), 64))
        key = np.zeros(n, dtype=np.int64)
        bits = sum(b for _, b in parts)
        for arr, b in parts:
            if bits <= 63:
                key = (key << b) | arr
            else:  # does not fit: key·K + part (K odd, wrapping). The 64-bit ids are HMAC bits, so two different
                # keys collide with probability 2^-64 per pair (a false duplicate about once in 370,000 files of
                # 10 M rows); rows of one booking never collide (different nights differ by less than 2^64/K)
                key = key * np.int64(-7046029254386353131) + arr
        self._keys.append(key)

    def finish(self) -> None:
        """File-wide checks once every batch has been seen (duplicate keys)."""
        if not self._keys:
            return
        keys = np.concatenate(self._keys)
        self._keys = []
        s = np.sort(keys)
        if not (s[1:] == s[:-1]).any():
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
    def _output(self, cols: dict[str, pa.Array]) -> pa.RecordBatch:
        """The batch as written: coded columns stay dictionary-encoded (the Parquet writer keeps the encoding)."""
        arrays = []
        for f, target in zip(self.schema.fields, self.out_schema):
            col = cols[f.name]
            if f.pseudonymise:
                idx, dictionary, _ = self._pid_codes(f, col)
                col = pa.DictionaryArray.from_arrays(idx, dictionary)
            elif f.name in self._domains:
                # coded columns share one dictionary (the schema's list) across batches, so that the Parquet
                # writer keeps dictionary encoding instead of falling back to plain strings at the next batch
                domain = self._domains[f.name]
                if pa.types.is_dictionary(col.type):
                    idx = pc.index_in(col.dictionary, value_set=domain).take(col.indices)
                else:
                    idx = pc.index_in(col, value_set=domain)
                col = pa.DictionaryArray.from_arrays(idx.cast(pa.int32()), domain)
            elif pa.types.is_dictionary(target.type) and not pa.types.is_dictionary(col.type):
                col = pc.dictionary_encode(col)
            if col.type != target.type:
                col = col.cast(target.type)
            arrays.append(col)
        return pa.RecordBatch.from_arrays(arrays, schema=self.out_schema)


def output_schema(schema: TableSchema) -> pa.Schema:
    """Arrow schema of written batches: identifiers and coded columns as dictionary<int32, string>."""
    coded = pa.dictionary(pa.int32(), pa.string())
    return pa.schema([pa.field(f.name, coded if (f.pseudonymise or "enum" in f.constraints or f.codelist)
                               else f.arrow_type, nullable=not f.required) for f in schema.fields])
