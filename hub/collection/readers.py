"""Streaming readers: CSV (typed fast path or all-text), Excel .xlsx (openpyxl read-only), Parquet.

Every reader yields ``(batch, typed)``: ``typed`` batches already hold the schema's Arrow types; text batches hold
strings that ``coerce.to_typed`` converts cell by cell so that a bad cell is reported with its row and column.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from defusedxml import DefusedXmlException

from hub.collection.limits import Limits, Refused
from hub.schemas import TableSchema

__all__ = ["csv_batches", "xlsx_batches", "parquet_batches", "check_columns", "DIRECT_IDENTIFIER_HINTS"]

# Column names that announce direct identifiers or free text: refused outright, whatever the schema version.
DIRECT_IDENTIFIER_HINTS = ("name", "nom", "prenom", "prénom", "email", "mail", "phone", "tel", "téléphone",
                           "address", "adresse", "street", "rue", "postcode", "zip", "iban", "passport", "birth",
                           "naissance", "comment", "commentaire", "note", "remark", "remarque", "message", "plate",
                           "immatriculation", "siret", "siren", "ip")


def check_columns(header: list[str], schema: TableSchema, limits: Limits) -> None:
    """Header against the schema: every column known, none missing, none twice; identifiers and free text refused."""
    if len(header) > limits.max_columns:
        raise Refused("columns", f"the file has {len(header)} columns (limit {limits.max_columns})")
    names = [h.strip() for h in header]
    problems = []
    seen = set()
    for n in names:
        if n in seen:
            problems.append(f"column {n!r} appears twice")
        seen.add(n)
    extra = [n for n in names if n not in schema.names]
    for n in extra:
        low = n.lower()
        tokens = set(low.replace("-", "_").replace(" ", "_").split("_"))
        if tokens & set(DIRECT_IDENTIFIER_HINTS):
            problems.append(f"column {n!r} looks like a direct identifier or free text: remove it")
        else:
            problems.append(f"column {n!r} is not in schema {schema.name} {schema.version}")
    missing = [n for n in schema.names if n not in seen]
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if problems:
        raise Refused("columns", "; ".join(problems))


def _typed_types(schema: TableSchema) -> dict[str, pa.DataType]:
    out = {}
    for f in schema.fields:
        if f.pseudonymise or f.constraints.get("enum") or f.codelist:
            out[f.name] = pa.dictionary(pa.int32(), pa.string())
        else:
            out[f.name] = f.arrow_type
    return out


def csv_batches(path: str | os.PathLike, schema: TableSchema, header: list[str], delimiter: str, typed: bool,
                limits: Limits, on_bad_row: Callable[[int | None, str, str], None],
                wrap: Callable[[Any], Any] = lambda f: f) -> Iterator[tuple[pa.RecordBatch, bool]]:
    """Stream a CSV in blocks; column-count errors go to ``on_bad_row`` with the line number and the row is skipped."""
    names = [h.strip() for h in header]
    if typed:
        types = _typed_types(schema)
        true_values = sorted({v for f in schema.fields if f.type == "boolean" for v in f.true_values})
        false_values = sorted({v for f in schema.fields if f.type == "boolean" for v in f.false_values})
    else:
        types = {n: pa.string() for n in schema.names}
        true_values = false_values = None
    convert = pcsv.ConvertOptions(column_types=types, null_values=list(schema.missing_values),
                                  strings_can_be_null=True, include_columns=schema.names,
                                  **({"true_values": true_values, "false_values": false_values} if typed else {}))

    def handler(row: Any) -> str:
        on_bad_row(row.number, f"expected {row.expected_columns} columns, got {row.actual_columns}", row.text)
        return "skip"

    parse = pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=handler, newlines_in_values=False)
    read = pcsv.ReadOptions(column_names=names, skip_rows=1, block_size=limits.csv_block_bytes)
    with open(path, "rb") as raw:
        src = wrap(raw)
        reader = pcsv.open_csv(src, read_options=read, parse_options=parse, convert_options=convert)
        for batch in reader:
            yield batch, typed


def _cell_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _defused(e: BaseException | None) -> BaseException | None:
    """The defusedxml refusal behind an exception, if any (openpyxl re-raises it as ValueError)."""
    seen = 0
    while e is not None and seen < 10:
        if isinstance(e, DefusedXmlException):
            return e
        e, seen = e.__cause__ or e.__context__, seen + 1
    return None


def xlsx_batches(path: str | os.PathLike, schema: TableSchema, limits: Limits,
                 batch_rows: int = 50_000) -> Iterator[tuple[pa.RecordBatch, bool]]:
    """First sheet of a workbook, read-only, cells turned to text; rows and columns counted, not trusted."""
    import openpyxl
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:
        raise Refused("format", ".xlsx refused: defusedxml is not active (OPENPYXL_DEFUSEDXML disables it)")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as e:  # openpyxl raises many types for broken archives, and wraps defusedxml's refusals
        unsafe = _defused(e)
        if unsafe is not None:
            raise Refused("format", f"the workbook cannot be read safely ({type(unsafe).__name__}: {unsafe})") from None
        raise Refused("truncated", f"the .xlsx file cannot be opened ({type(e).__name__}: {e})") from None
    try:
        yield from _xlsx_rows(wb, schema, limits, batch_rows)
    except Refused:
        raise
    except Exception as e:  # defusedxml refusals (entities, DTD), broken XML, odd cell types
        raise Refused("format", f"the workbook cannot be read safely ({type(e).__name__}: {e})") from None
    finally:
        wb.close()


def _xlsx_rows(wb: Any, schema: TableSchema, limits: Limits, batch_rows: int) -> Iterator[tuple[pa.RecordBatch, bool]]:
    """Header check, then the rows as text batches, counted as they come."""
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header_cells = next(rows, None)
    if header_cells is None:
        raise Refused("header", "the first sheet is empty")
    header = [_cell_text(c) or "" for c in header_cells[: limits.max_columns + 1]]
    while header and header[-1] == "":
        header.pop()
    check_columns(header, schema, limits)
    index = {n.strip(): i for i, n in enumerate(header)}
    cols = [index[n] for n in schema.names]
    buf: list[list[str | None]] = [[] for _ in cols]
    count = 0
    for r in rows:
        count += 1
        if count > limits.xlsx_max_rows:
            raise Refused("rows", f"the sheet has more than {limits.xlsx_max_rows} rows")
        for j, c in enumerate(cols):
            buf[j].append(_cell_text(r[c]) if c < len(r) else None)
        if len(buf[0]) >= batch_rows:
            yield pa.RecordBatch.from_arrays([pa.array(b, pa.string()) for b in buf], names=schema.names), False
            buf = [[] for _ in cols]
    if buf[0]:
        yield pa.RecordBatch.from_arrays([pa.array(b, pa.string()) for b in buf], names=schema.names), False


def parquet_batches(path: str | os.PathLike, schema: TableSchema, limits: Limits,
                    batch_rows: int = 262_144) -> Iterator[tuple[pa.RecordBatch, bool]]:
    """Row groups of a Parquet file; columns whose type differs from the schema are handed over as text."""
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise Refused("truncated", f"the Parquet file is truncated or corrupt ({e})") from None
    check_columns(pf.schema_arrow.names, schema, limits)
    if pf.metadata.num_rows > limits.max_rows:
        raise Refused("rows", f"the file has {pf.metadata.num_rows} rows (limit {limits.max_rows})")
    target = {f.name: f.arrow_type for f in schema.fields}
    try:
        for batch in pf.iter_batches(batch_size=batch_rows, columns=schema.names):
            arrays, typed = [], True
            for name, col in zip(batch.schema.names, batch.columns):
                if pa.types.is_dictionary(col.type):
                    col = col.cast(col.type.value_type)
                if col.type == target[name]:
                    arrays.append(col)
                    continue
                try:
                    arrays.append(col.cast(target[name], safe=True))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    typed = False
                    break
            if typed:
                yield pa.RecordBatch.from_arrays(arrays, names=schema.names), True
            else:
                text = [c if c.type == pa.string() else c.cast(pa.string()) for c in batch.columns]
                yield pa.RecordBatch.from_arrays(text, names=schema.names), False
    except (pa.ArrowInvalid, OSError) as e:
        raise Refused("truncated", f"the Parquet file is truncated or corrupt ({e})") from None
