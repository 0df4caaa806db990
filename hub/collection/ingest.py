"""One ingestion pipeline for every way a file arrives (``passerelle publish``, drop folder, upload page).

``ingest(path, schema, out_dir, quarantine_dir, key, key_version)`` checks limits before parsing, streams the file
through validation and pseudonymisation into a hidden temp Parquet file, and renames it into ``out_dir`` only when
the whole file is valid. A rejected file is copied into ``quarantine_dir/<stamp>-<sha>/`` with ``report.json``; the
output directory is untouched. A crash leaves only a hidden ``.partial`` file, removed by the next run; running
``ingest`` again on the same input lands the same file name (input sha256 + key version), so a retry is idempotent.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hub.collection.atomic import HashingFile, cleanup_partials, commit, sha256_file, temp_path, write_json_atomic
from hub.collection.limits import Limits, Refused, check_file_name, check_size, check_text_head, inspect_xlsx, sniff_format
from hub.collection.pseudonymise import Pseudonymiser
from hub.collection.readers import CsvChunk, CsvChunks, CsvParser, check_columns, number_bad_lines, parquet_batches, \
    xlsx_batches
from hub.collection.report import Report
from hub.collection import threads
from hub.collection.threads import BackgroundWriter, Relay, ordered_map
from hub.collection.validate import Checked, Validator
from hub.schemas import TableSchema, load_schema

__all__ = ["IngestResult", "ingest", "ROW_GROUP_ROWS"]

ROW_GROUP_ROWS = 1 << 20


@dataclass
class IngestResult:
    """What the publisher records as a new dataset version (``published``) or shows to the person (``rejected``)."""

    status: str  # "published" | "rejected"
    schema_iri: str
    original_name: str
    input_sha256: str
    input_bytes: int
    format: str | None
    key_version: str
    report: Report
    rows: int = 0
    output_path: Path | None = None
    output_sha256: str | None = None
    output_bytes: int | None = None
    quarantine_path: Path | None = None
    pseudonyms: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "published"

    @property
    def message(self) -> str:
        if self.ok:
            return f"published {self.rows} rows as {self.output_path.name}"
        return f"rejected: {self.report.summary()}"

    def distribution_fields(self) -> dict[str, Any]:
        """What the publisher puts on the new version's distribution (catalog.Distribution + dct:conformsTo)."""
        if not self.ok:
            raise ValueError("a rejected file has no distribution")
        return {"file_type": "PARQUET", "media_type": "application/vnd.apache.parquet",
                "byte_size": self.output_bytes, "sha256": self.output_sha256, "conforms_to": self.schema_iri,
                "rows": self.rows, "path": str(self.output_path)}

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "schema": self.schema_iri, "original_name": self.original_name,
                "input_sha256": self.input_sha256, "input_bytes": self.input_bytes, "format": self.format,
                "key_version": self.key_version, "rows": self.rows,
                "output_path": str(self.output_path) if self.output_path else None,
                "output_sha256": self.output_sha256, "output_bytes": self.output_bytes,
                "quarantine_path": str(self.quarantine_path) if self.quarantine_path else None,
                "pseudonyms": self.pseudonyms, "seconds": round(self.seconds, 3), "message": self.message,
                "report": self.report.to_dict()}


def _few_pseudonyms_unified(table: pa.Table, schema: TableSchema) -> pa.Table:
    """A row group's identifier columns with few distinct values (under one per 16 rows: campsites, not
    bookings) get one dictionary for the whole row group, so that the Parquet writer keeps them dictionary-encoded
    instead of turning each batch's dictionary back into strings."""
    for f in schema.fields:
        col = table.column(f.name)
        if f.pseudonymise and col.num_chunks > 1 and sum(len(c.dictionary) for c in col.chunks) * 16 < len(col):
            i = table.schema.get_field_index(f.name)
            table = table.set_column(i, table.schema.field(i), col.unify_dictionaries())
    return table


def _unified(col: pa.ChunkedArray) -> bool:
    return col.num_chunks <= 1 or all(c.dictionary.equals(col.chunks[0].dictionary) for c in col.chunks[1:])


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _stream(path: Path, fmt: str, schema: TableSchema, limits: Limits, validator: Validator,
            write: Callable[[pa.RecordBatch], None]) -> str | None:
    """Run the batches of ``path`` through the validator; returns the input sha256 if it was computed on the way.

    A pool of threads (``ordered_map``) parses each block, checks it and hashes its new identifiers (against the
    distinct identifiers of the block before, handed over by a ``Relay``); this thread accepts the blocks in file
    order (row numbers, pseudonyms, keys, report) and hands valid output batches to ``write`` (the writer thread).
    """
    relay = Relay()

    def check(k: int, batch: pa.RecordBatch, typed: bool) -> Checked:
        checked = None
        try:
            checked = validator.check(batch, typed)
        finally:
            relay.put(k, checked)  # the next block is hashed against this one's identifiers
        validator.hash_identifiers(checked, relay.take(k - 1) if k else None)
        return checked

    def accept(checked: Checked) -> None:
        if validator.rows + checked.rows > limits.max_rows:
            raise Refused("rows", f"the file has more than {limits.max_rows} rows")
        out = validator.accept(checked)
        if out is not None:
            write(out)

    if fmt in ("xlsx", "parquet"):
        if fmt == "xlsx":
            inspect_xlsx(path, limits)
        batches = xlsx_batches(path, schema, limits) if fmt == "xlsx" else parquet_batches(path, schema, limits)
        with closing(ordered_map(lambda kb: check(kb[0], *kb[1]), enumerate(batches))) as checked_batches:
            try:
                for checked in checked_batches:
                    accept(checked)
            finally:
                relay.close()  # before the pool is shut down: no task waits for a block that will not come
        return None
    line, _bom = check_text_head(path)
    delim = _delimiter(line)
    header = [h.strip().strip('"').lstrip("\ufeff") for h in line.split(delim)]
    check_columns(header, schema, limits)
    parser = CsvParser(schema, header, delim)
    ahead = threads.WORKERS + 1
    chunks = CsvChunks(path, limits.csv_block_bytes, buffers=ahead + 1)

    def work(item: tuple[int, CsvChunk]) -> tuple[Checked, list[tuple[str, str]], int]:
        k, chunk = item
        size = chunk.end - chunk.start
        try:
            batch, typed, bad = parser.chunk(chunk)
        except BaseException:
            relay.put(k, None)
            raise
        return check(k, batch, typed), bad, size

    malformed: list[tuple[str, str]] = []
    try:
        with closing(ordered_map(work, enumerate(chunks), workers=threads.WORKERS, ahead=ahead)) as checked_chunks:
            try:
                for checked, bad, size in checked_chunks:
                    if not validator.rows and checked.rows:  # room for every row's key, from the first block
                        validator.reserve_keys(int(path.stat().st_size / size * checked.rows * 1.02) + 1024)
                    malformed += bad
                    accept(checked)
            finally:
                relay.close()  # before the pool is shut down: no task waits for a block that will not come
        sha256 = chunks.hexdigest()
    finally:
        chunks.close()
    if malformed:  # the chunks are parsed side by side, without line numbers: found by a scan
        numbered = number_bad_lines(path, malformed)
        validator.report.add(numbered, {"column_count": len(malformed)})
    return sha256


def ingest(path: str | os.PathLike, schema: str | TableSchema, out_dir: str | os.PathLike,
           quarantine_dir: str | os.PathLike, key: bytes, key_version: str | int, *,
           original_name: str | None = None, limits: Limits | None = None,
           now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
           compression: str = "lz4", row_group_rows: int = ROW_GROUP_ROWS) -> IngestResult:
    """Validate, pseudonymise and land one file as Parquet, or quarantine it with its report (see module doc).

    ``original_name`` is the client's file name (upload, drop folder); it is checked and kept as metadata only.
    A missing or short ``key`` raises ``KeyError_`` (fail closed) before anything is read.
    """
    started = time.perf_counter()
    schema = load_schema(schema) if isinstance(schema, str) else schema
    limits = limits or Limits()
    ps = Pseudonymiser(key, key_version)
    path, out_dir, quarantine_dir = Path(path), Path(out_dir), Path(quarantine_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cleanup_partials(out_dir)
    name = original_name if original_name is not None else path.name
    report = Report(schema=schema.iri)
    result = IngestResult("rejected", schema.iri, name, "", 0, None, ps.key_version, report)
    tmp = temp_path(out_dir)
    state: dict[str, Any] = {"writer": None, "thread": None, "sink": None}
    meta = {"passerelle.key_version": ps.key_version, "passerelle.source_name": name}

    pending: list[pa.RecordBatch] = []

    def write_now(batch: pa.RecordBatch | None) -> None:
        """Gather batches into row groups of about a million rows (small CSV blocks would make tiny ones)."""
        if batch is not None:
            pending.append(batch)
            if sum(b.num_rows for b in pending) < row_group_rows:
                return
        if not pending:
            return
        table = _few_pseudonyms_unified(pa.Table.from_batches(pending), schema)
        pending.clear()
        if state["writer"] is None:
            # store_schema=False: readers see plain strings, not the dictionary types used while writing.
            # Dictionary pages for the coded columns (one dictionary, the schema's list) and for identifiers with
            # few distinct values per row group (campsites); the others are written plain (a booking's rows come
            # together, so zstd finds the repeats). Min/max statistics on dates and numbers only, which queries
            # filter on by range (on the text columns they cost a quarter of the writing time and skip no row
            # group: each holds every code).
            coded = [f.name for f in schema.fields if pa.types.is_dictionary(table.schema.field(f.name).type)
                     and (not f.pseudonymise or _unified(table.column(f.name)))]
            stats = [f.name for f in schema.fields if f.type in ("date", "integer", "number")]
            state["sink"] = HashingFile(tmp)
            state["writer"] = pq.ParquetWriter(state["sink"], table.schema, compression=compression,
                                               compression_level=1 if compression == "zstd" else None,
                                               store_schema=False, use_dictionary=coded, write_statistics=stats)
        state["writer"].write_table(table, row_group_size=len(table))  # one row group (not 1 Mi rows + a sliver)
        state["sink"].sync()  # on disk as it goes: the commit's fsync has only the footer left to flush

    def write(batch: pa.RecordBatch) -> None:
        if state["thread"] is None:
            # deep enough that a row group being written (about 0.1 s) does not hold up accepting blocks
            state["thread"] = BackgroundWriter(write_now, depth=16)
        state["thread"].submit(batch)

    def drain() -> None:
        if state["thread"] is not None:
            thread, state["thread"] = state["thread"], None
            thread.submit(None)  # flush the last row group
            thread.close()

    input_sha = None
    try:
        try:
            check_file_name(name)
            result.input_bytes = check_size(path, limits)
            result.format = sniff_format(path)
            validator = Validator(schema, ps, report)
            input_sha = _stream(path, result.format, schema, limits, validator, write)
            validator.finish()
            result.rows = validator.rows
            if validator.rows == 0 and report.ok:
                report.refuse("truncated", "the file has a header but no rows")
        except Refused as r:
            report.refuse(r.rule, r.message, r.row)
        drain()
        result.input_sha256 = input_sha or (sha256_file(path) if result.input_bytes else "")
        if report.ok:
            writer = state["writer"]
            writer.add_key_value_metadata({**meta, "conformsTo": schema.iri, "schema_version": schema.version,
                                           "passerelle.input_sha256": result.input_sha256})
            writer.close()
            state["writer"] = None
            state["sink"].close()
            final = out_dir / f"{schema.name}-{result.input_sha256[:16]}-k{ps.key_version}.parquet"
            commit(tmp, final)
            result.status, result.output_path = "published", final
            result.output_bytes = final.stat().st_size
            result.output_sha256 = state["sink"].hexdigest()  # of the bytes written, i.e. of the file
            result.pseudonyms = {f.pseudonymise: ps.distinct_count(f.pseudonymise)
                                 for f in schema.fields if f.pseudonymise}
        else:
            result.quarantine_path = _quarantine(path, result, quarantine_dir, now())
    finally:
        try:
            drain()
        finally:
            if state["writer"] is not None:
                state["writer"].close()
            if state["sink"] is not None:
                state["sink"].close()
            tmp.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - started
    return result


def _quarantine(path: Path, result: IngestResult, quarantine_dir: Path, when: dt.datetime) -> Path:
    """Keep the rejected file (under a generated name, never the client's) and its report side by side."""
    stamp = when.strftime("%Y%m%dT%H%M%S%fZ")
    qdir = quarantine_dir / f"{stamp}-{(result.input_sha256 or 'nohash')[:12]}"
    qdir.mkdir(parents=True, exist_ok=True)
    kept = None
    if result.report.counts.get("size") is None and result.report.counts.get("file_name") is None and path.exists():
        kept = qdir / f"input.{result.format or 'bin'}"
        tmp = temp_path(qdir, "copy")
        shutil.copyfile(path, tmp)
        commit(tmp, kept)
    doc = result.to_dict()
    doc["quarantine_path"] = str(qdir)
    doc["kept_file"] = kept.name if kept else None
    doc["received"] = when.isoformat()
    write_json_atomic(qdir / "report.json", doc)
    return qdir
