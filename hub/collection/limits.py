"""Limits checked before a file is parsed, and the file-name rules for uploads (trust.md §5)."""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass

__all__ = ["Limits", "Refused", "check_file_name", "check_size", "inspect_xlsx", "sniff_format", "check_text_head"]


class Refused(ValueError):
    """The whole file is refused before or while parsing; ``rule`` names the check, the message says what to do."""

    def __init__(self, rule: str, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.rule, self.message, self.row = rule, message, row


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 2 * 1024**3  # files must be smaller: a 2 GiB upload is refused
    max_rows: int = 50_000_000
    max_columns: int = 64
    max_cell_chars: int = 256
    xlsx_max_entries: int = 1000
    xlsx_max_uncompressed: int = 200 * 1024**2
    xlsx_max_ratio: int = 100
    xlsx_ratio_floor: int = 1024**2  # entries smaller than this are not ratio-checked
    xlsx_max_rows: int = 1_048_576
    csv_block_bytes: int = 8 * 1024**2  # CSV blocks parsed and checked side by side (see docs/collection.md §3)


_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\]")


def check_file_name(name: str) -> str:
    """The client's file name, accepted only as a plain base name (it is metadata; files are never stored under it)."""
    if not name or len(name) > 255:
        raise Refused("file_name", "the file name is empty or longer than 255 characters")
    if _BAD_NAME.search(name) or "/" in name or ".." in name:
        raise Refused("file_name", f"the file name {name!r} is refused: use a plain name without '/', '\\', '..' "
                                   "or control characters")
    if name.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", name):
        raise Refused("file_name", f"the file name {name!r} is refused: absolute paths are not accepted")
    lower = name.lower()
    if lower.endswith((".xls", ".xlsm", ".xlsb", ".ods")):
        raise Refused("format", f"{name!r}: only .xlsx, .csv and .parquet are accepted (save the sheet as .xlsx "
                                "without macros)")
    return name


def check_size(path: str | os.PathLike, limits: Limits) -> int:
    size = os.stat(path).st_size
    if size >= limits.max_bytes:
        raise Refused("size", f"the file is {size / 2**30:.2f} GiB; files must be under "
                              f"{limits.max_bytes / 2**30:g} GiB. Split it by week or send Parquet")
    if size == 0:
        raise Refused("truncated", "the file is empty")
    return size


def sniff_format(path: str | os.PathLike) -> str:
    """``parquet``, ``xlsx`` or ``csv`` from the file's first bytes (never from its name)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise Refused("format", "this is a legacy Excel (.xls) or other OLE file; save it as .xlsx or CSV UTF-8")
    return "csv"


def check_text_head(path: str | os.PathLike, nbytes: int = 65536) -> tuple[str, int]:
    """Header line and BOM length of a CSV; refuses UTF-16, binary and non-UTF-8 text with a clear message."""
    with open(path, "rb") as f:
        head = f.read(nbytes)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Refused("encoding", "the file is UTF-16 text; save it as 'CSV UTF-8'")
    if b"\x00" in head:
        raise Refused("encoding", "the file contains NUL bytes: it is binary or UTF-16, not CSV UTF-8")
    bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    text = head[bom:]
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        if len(text) == nbytes - bom and e.start >= len(text) - 3:
            decoded = text[: e.start].decode("utf-8")  # a character cut by the read window
        else:
            raise Refused("encoding", f"the file is not UTF-8 (byte 0x{text[e.start]:02X} at offset {e.start + bom}"
                                      f"; Latin-1 or Windows-1252?): save it as 'CSV UTF-8'") from None
    line = decoded.split("\n", 1)[0].rstrip("\r")
    if "\n" not in decoded and len(head) == nbytes:
        raise Refused("header", "no header line in the first 64 KiB")
    return line, bom


def inspect_xlsx(path: str | os.PathLike, limits: Limits) -> None:
    """Zip-level checks before openpyxl sees the workbook: entry count, total size, ratio, encryption, macros."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile as e:
        raise Refused("truncated", f"the .xlsx file is truncated or corrupt ({e})") from None
    if len(infos) > limits.xlsx_max_entries:
        raise Refused("zip_bomb", f"the .xlsx holds {len(infos)} entries (limit {limits.xlsx_max_entries})")
    total = 0
    names = set()
    for info in infos:
        names.add(info.filename)
        if info.flag_bits & 0x1:
            raise Refused("format", "the .xlsx is encrypted; remove the password and send it again")
        if info.filename.startswith("/") or ".." in info.filename.split("/"):
            raise Refused("zip_bomb", f"the .xlsx holds an entry with a path outside the archive: {info.filename!r}")
        total += info.file_size
        if info.file_size > limits.xlsx_ratio_floor and info.file_size > limits.xlsx_max_ratio * max(
                info.compress_size, 1):
            raise Refused("zip_bomb", f"the .xlsx entry {info.filename!r} expands {info.file_size // max(info.compress_size, 1)}"
                                      f"× (limit {limits.xlsx_max_ratio}×): refused as a zip bomb")
    if total > limits.xlsx_max_uncompressed:
        raise Refused("zip_bomb", f"the .xlsx expands to {total / 1e6:.0f} MB (limit "
                                  f"{limits.xlsx_max_uncompressed / 1e6:.0f} MB): refused as a zip bomb")
    if "xl/workbook.xml" not in names:
        raise Refused("format", "the file is a zip archive but not an Excel workbook (.xlsx)")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise Refused("format", "the workbook holds macros; save it as a plain .xlsx")
