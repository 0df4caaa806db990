"""Streaming readers: CSV (typed fast path or all-text), Excel .xlsx (openpyxl read-only), Parquet.

Every reader yields ``(batch, typed)``: ``typed`` batches already hold the schema's Arrow types; text batches hold
strings that ``coerce.to_typed`` converts cell by cell so that a bad cell is reported with its row and column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import queue
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from defusedxml import DefusedXmlException

from hub.collection.limits import Limits, Refused
from hub.collection.report import Problem
from hub.schemas import TableSchema

__all__ = ["CsvChunks", "CsvChunk", "CsvParser", "number_bad_lines", "xlsx_batches", "parquet_batches", "check_columns",
           "DIRECT_IDENTIFIER_HINTS"]

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


class CsvChunk:
    """A run of whole lines in one of ``CsvChunks``' buffers; ``release`` hands the buffer back for reuse."""

    def __init__(self, owner: "CsvChunks", buf: bytearray, start: int, end: int, hashed: Future | None) -> None:
        self._owner, self._buf, self.start, self.end, self._hashed = owner, buf, start, end, hashed

    @property
    def data(self) -> pa.Buffer:
        return pa.py_buffer(memoryview(self._buf)[self.start:self.end])

    def release(self) -> None:
        if self._buf is not None:
            if self._hashed is not None:
                self._hashed.result()  # the bytes read into this buffer are hashed (long done, normally)
            self._owner._free.put(self._buf)
            self._buf = None


class CsvChunks:
    """The data lines of a CSV in blocks of about ``block_bytes`` that end at a line end, hashed (sha256) as they
    are read, so the file is read once.

    The blocks are read into a few buffers used again and again: a fresh 16 MiB ``bytes`` per block costs a page
    fault per 4 KiB, which measured 0.6 s of system time for a 1.3 GB file, against 0.1 s this way. Iterating waits
    for a free buffer, so at most ``buffers`` blocks are held at once; each must be ``release``d once parsed
    (Arrow's CSV parser copies what it keeps). The hashing runs in a thread of its own, in file order (0.5 ns per
    byte with the CPU's SHA instructions, i.e. 0.7 s for 1.3 GB, off the thread that reads). A line longer than a
    block is refused.
    """

    def __init__(self, path: str | os.PathLike, block_bytes: int, buffers: int) -> None:
        self.path, self.block_bytes = path, block_bytes
        self._sha256 = hashlib.sha256()
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="ingest-sha256")
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._buffers = buffers
        self._made = 0

    def hexdigest(self) -> str:
        """sha256 of the whole file, once it has been read to the end."""
        self._hasher.shutdown(wait=True)
        return self._sha256.hexdigest()

    def close(self) -> None:
        self._hasher.shutdown(wait=True, cancel_futures=True)

    def _buffer(self) -> bytearray:
        if self._made < self._buffers and self._free.empty():
            self._made += 1
            return bytearray(self.block_bytes)
        return self._free.get()

    def __iter__(self) -> Iterator[CsvChunk]:
        with open(self.path, "rb", buffering=0) as f:
            carry = b""  # the beginning of a line cut at the end of the previous block
            header = True
            while True:
                buf = self._buffer()
                view = memoryview(buf)
                view[: len(carry)] = carry
                got = len(carry)
                hashed = None
                while got < len(buf):
                    n = f.readinto(view[got:])
                    if not n:
                        break
                    hashed = self._hasher.submit(self._sha256.update, view[got:got + n])
                    got += n
                start = 0
                if header:  # the header line was checked by check_text_head; the data starts after it
                    nl = buf.find(b"\n", 0, got)
                    if nl < 0:
                        if got == len(buf):
                            raise Refused("header", f"the header line is longer than {len(buf)} bytes")
                        return
                    start, header = nl + 1, False
                if got < len(buf):  # end of file: the last line may lack its line end
                    if got > start:
                        yield CsvChunk(self, buf, start, got, hashed)
                    return
                cut = buf.rfind(b"\n", start, got) + 1
                if cut == 0:
                    if start < got:
                        raise Refused("truncated", f"a line is longer than {len(buf)} bytes; is this a CSV file?")
                    carry = b""  # the header filled the block exactly
                    hashed.result()
                    self._free.put(buf)
                    continue
                carry = bytes(view[cut:got])
                yield CsvChunk(self, buf, start, cut, hashed)


def _typed_types(schema: TableSchema) -> dict[str, pa.DataType]:
    """Identifiers are read dictionary-encoded (pseudonyms are computed per distinct value); coded columns as
    plain strings, which the validator looks up in the schema's list in one pass (cheaper than building a
    dictionary per block first)."""
    return {f.name: pa.dictionary(pa.int32(), pa.string()) if f.pseudonymise else f.arrow_type
            for f in schema.fields}


class CsvParser:
    """Parses ``CsvChunk``s into record batches, in any thread (Arrow releases the GIL while parsing).

    Each chunk is parsed with the schema's types; if a cell does not convert, that chunk is parsed again as text,
    so that the validator reports every bad cell with its row and column. Lines with too few or too many fields
    are skipped and returned with their text: the caller numbers them (``number_bad_lines``).
    """

    def __init__(self, schema: TableSchema, header: list[str], delimiter: str) -> None:
        self.names = [h.strip() for h in header]
        true_values = sorted({v for f in schema.fields if f.type == "boolean" for v in f.true_values})
        false_values = sorted({v for f in schema.fields if f.type == "boolean" for v in f.false_values})
        common = {"null_values": list(schema.missing_values), "strings_can_be_null": True,
                  "include_columns": schema.names}
        self._typed = pcsv.ConvertOptions(column_types=_typed_types(schema), true_values=true_values,
                                          false_values=false_values, **common)
        self._text = pcsv.ConvertOptions(column_types={n: pa.string() for n in schema.names}, **common)
        self.delimiter = delimiter

    def parse(self, data: pa.Buffer, typed: bool) -> tuple[pa.RecordBatch, list[tuple[str, str]]]:
        bad: list[tuple[str, str]] = []

        def handler(row: Any) -> str:
            bad.append((f"expected {row.expected_columns} columns, got {row.actual_columns}", row.text))
            return "skip"

        parse = pcsv.ParseOptions(delimiter=self.delimiter, invalid_row_handler=handler, newlines_in_values=False)
        # one block for the whole chunk, one thread: chunks are parsed side by side instead
        read = pcsv.ReadOptions(column_names=self.names, use_threads=False, block_size=max(len(data), 1 << 16))
        table = pcsv.read_csv(data, read_options=read, parse_options=parse,
                              convert_options=self._typed if typed else self._text)
        batches = table.combine_chunks().to_batches()
        return (batches[0] if batches else _empty(table)), bad

    def chunk(self, chunk: CsvChunk) -> tuple[pa.RecordBatch, bool, list[tuple[str, str]]]:
        """(batch, typed, malformed lines as (reason, text)) of one chunk; releases the chunk's buffer."""
        data = chunk.data
        try:
            try:
                batch, bad = self.parse(data, True)
                return batch, True, bad
            except pa.ArrowInvalid:
                pass
            try:
                batch, bad = self.parse(data, False)
                return batch, False, bad
            except pa.ArrowInvalid as e:
                msg = str(e)
                if "UTF8" in msg or "UTF-8" in msg:
                    raise Refused("encoding", "the file is not UTF-8 after its first lines; save it as 'CSV UTF-8'") \
                        from None
                raise Refused("truncated", f"the CSV cannot be parsed: {msg.splitlines()[0]}") from None
        finally:
            del data
            chunk.release()


def _empty(table: pa.Table) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in table.schema], schema=table.schema)


def number_bad_lines(path: str | os.PathLike, bad: list[tuple[str, str]]) -> list[Problem]:
    """Line numbers (header = 1) of malformed lines, found by their text (slow: only for rejected files)."""
    wanted: dict[str, list[str]] = {}
    for reason, text in bad:
        wanted.setdefault(text, []).append(reason)
    found: list[Problem] = []
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            text = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if text in wanted:
                reason = wanted[text].pop(0)
                if not wanted[text]:
                    del wanted[text]
                found.append(Problem(number, None, None, "column_count", f"{reason} (truncated or shifted line)"))
                if not wanted:
                    break
    return found + [Problem(None, None, None, "column_count", r) for rs in wanted.values() for r in rs]


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
