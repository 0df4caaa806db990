"""Hostile files are refused with a clear message, and nothing is published (trust.md §5)."""

import io
import json
import os
import zipfile

import pytest

from hub.collection import Limits, ingest

KEY = bytes(range(32))


def run(path, dirs, **kw):
    out, q = dirs
    return ingest(path, "campsite-bookings", out, q, KEY, 1, **kw)


def refused(r, rule, words, kit, dirs):
    assert not r.ok
    assert rule in r.report.counts, r.report.to_dict()
    assert all(w in r.message for w in words), r.message
    assert kit.visible(dirs[0]) == []  # nothing published, no temp file left either
    assert not [p for p in dirs[0].glob(".*")] if dirs[0].exists() else True
    reports = list(dirs[1].glob("*/report.json"))
    assert len(reports) == 1
    return json.loads(reports[0].read_text())


def test_zip_bomb_xlsx(kit, tmp_path, dirs):
    good = kit.write_xlsx(tmp_path / "good.xlsx", kit.good_rows())
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/media/padding.xml", b"\0" * (8 * 1024 * 1024))  # 8 MiB of zeros → ~8 KB
    r = run(bomb, dirs)
    refused(r, "zip_bomb", ["zip bomb"], kit, dirs)


def test_xlsx_with_too_many_entries(kit, tmp_path, dirs):
    p = tmp_path / "many.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(1001):
            z.writestr(f"xl/x{i}.xml", "")
    refused(run(p, dirs), "zip_bomb", ["1002 entries"], kit, dirs)


def test_formula_injection_cell_in_xlsx_and_csv(kit, tmp_path, dirs):
    x = kit.write_xlsx(tmp_path / "f.xlsx", kit.good_rows(), raw={(2, "booking_pid"): '=HYPERLINK("http://evil","x")'})
    r = run(x, dirs)
    hit = [p for p in r.report.problems if p.rule == "formula_injection"]
    assert hit and (hit[0].row, hit[0].column) == (4, "booking_pid") and "formula" in r.message
    assert kit.visible(dirs[0]) == []
    rows = kit.good_rows()
    rows[0]["campsite_pid"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    r = run(kit.write_csv(tmp_path / "f.csv", rows), dirs)
    assert [(p.row, p.column, p.rule) for p in r.report.problems] == [(2, "campsite_pid", "formula_injection")]


@pytest.mark.parametrize("name", ["../../etc/cron.d/x.csv", "a/b.csv", "..\\evil.csv", "C:\\x.csv", "/abs.csv",
                                  "ok\x00.csv", "sheet.xlsm", "..", ""])
def test_path_traversal_and_bad_names_are_refused(kit, tmp_path, dirs, name):
    src = kit.write_csv(tmp_path / "ok.csv", kit.good_rows())
    r = run(src, dirs, original_name=name)
    doc = refused(r, "file_name" if not name.endswith(".xlsm") else "format", [], kit, dirs)
    assert doc["kept_file"] in (None, "input.bin")  # never the client name
    # nothing was created outside the two directories
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.csv", "out", "quarantine"]


def test_wrong_encoding_latin1_and_utf16(kit, tmp_path, dirs):
    rows = kit.good_rows()
    rows[0]["campsite_pid"] = "Camping Étoile"
    p = kit.write_csv(tmp_path / "l1.csv", rows)
    p.write_bytes(p.read_text(encoding="utf-8").encode("latin-1"))
    refused(run(p, dirs), "encoding", ["not UTF-8", "CSV UTF-8"], kit, dirs)
    u = tmp_path / "u16.csv"
    u.write_bytes(kit.write_csv(tmp_path / "x.csv", kit.good_rows()).read_text().encode("utf-16"))
    r = run(u, dirs)
    assert r.report.counts == {"encoding": 1} and "UTF-16" in r.message


def test_wrong_encoding_after_the_first_block(kit, tmp_path, dirs):
    rows = [dict(kit.good_rows()[5], booking_pid=f"B{i}") for i in range(2000)]
    p = kit.write_csv(tmp_path / "late.csv", rows)
    data = p.read_bytes() + b"2026-06-15,CS\xe9,85" + b",x" * 15 + b"\n"
    p.write_bytes(data)
    r = run(p, dirs, limits=Limits(csv_block_bytes=64 * 1024))
    assert not r.ok and ("encoding" in r.report.counts or "column_count" in r.report.counts or
                         "type" in r.report.counts), r.message
    assert kit.visible(dirs[0]) == []


def test_truncated_csv_parquet_and_xlsx(kit, tmp_path, dirs):
    p = kit.write_csv(tmp_path / "t.csv", kit.good_rows())
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 40])  # cut inside the last line
    r = run(p, dirs)
    assert "column_count" in r.report.counts and kit.visible(dirs[0]) == []

    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    t = pcsv.read_csv(kit.write_csv(tmp_path / "s.csv", kit.good_rows()))
    pq.write_table(t, tmp_path / "t.parquet")
    raw = (tmp_path / "t.parquet").read_bytes()
    (tmp_path / "t.parquet").write_bytes(raw[: len(raw) // 2])
    r = run(tmp_path / "t.parquet", dirs)
    assert r.report.counts == {"truncated": 1} and "truncated or corrupt" in r.message

    x = kit.write_xlsx(tmp_path / "t.xlsx", kit.good_rows())
    raw = x.read_bytes()
    x.write_bytes(raw[: len(raw) - 200])
    r = run(x, dirs)
    assert r.report.counts == {"truncated": 1} and "truncated or corrupt" in r.message
    assert kit.visible(dirs[0]) == []


def test_two_gigabyte_upload_is_refused_before_reading(kit, tmp_path, dirs):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.write(b"snapshot_date\n")
        f.truncate(2 * 1024**3)  # sparse: no disk used
    doc = refused(run(big, dirs), "size", ["2.00 GiB", "under 2 GiB"], kit, dirs)
    assert doc["kept_file"] is None  # the oversized file is not copied into quarantine


def test_legacy_xls_and_empty_files(kit, tmp_path, dirs):
    xls = tmp_path / "old.xls.csv"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert "legacy Excel" in run(xls, dirs).message
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "empty" in run(empty, dirs).message
    header_only = kit.write_csv(tmp_path / "h.csv", [])
    assert "no rows" in run(header_only, dirs).message
    assert kit.visible(dirs[0]) == []


def test_xml_entity_expansion_in_xlsx_is_refused(kit, tmp_path, dirs):
    good = kit.write_xlsx(tmp_path / "good.xlsx", kit.good_rows())
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    evil = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = laughs if item.filename == "xl/worksheets/sheet1.xml" else src.read(item)
            dst.writestr(item, data)
    r = run(evil, dirs)
    assert not r.ok and r.report.counts == {"format": 1} and "cannot be read safely" in r.message
    assert kit.visible(dirs[0]) == []
