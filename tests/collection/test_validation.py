"""Each validation rule is caught with the right row (header = row 1) and column, in CSV, .xlsx and Parquet."""

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.collection import MAX_PROBLEMS, ingest


KEY = bytes(range(32))


def run(path, dirs, **kw):
    out, q = dirs
    return ingest(path, "campsite-bookings", out, q, KEY, 1, **kw)


def test_valid_file_is_published_with_pseudonyms(kit, tmp_path, dirs):
    r = run(kit.write_csv(tmp_path / "ok.csv", kit.good_rows()), dirs)
    assert r.ok, r.message
    assert r.rows == 6 and r.output_path.parent == dirs[0]
    t = pq.read_table(r.output_path)
    assert t.schema.field("nights").type == pa.int16()
    assert t.schema.metadata[b"conformsTo"].endswith(b"/campsite-bookings/1.0.0")
    pids = set(t.column("booking_pid").to_pylist())
    assert len(pids) == 3 and all(p.startswith("b1:") and len(p) == 29 for p in pids)
    assert not {"BK1", "BK2", "BK3", "CS00001"} & set(t.column("booking_pid").to_pylist() +
                                                      t.column("campsite_pid").to_pylist())
    assert r.pseudonyms == {"campsite": 2, "booking": 3}
    d = r.distribution_fields()
    assert d["byte_size"] == r.output_path.stat().st_size and d["rows"] == 6
    assert d["sha256"] == hashlib.sha256(r.output_path.read_bytes()).hexdigest()  # hashed as written
    assert d["conforms_to"] == "https://w3id.org/passerelle/schemas/campsite-bookings/1.0.0"
    assert kit.visible(dirs[1]) == []


# (rule, row index in good_rows, column, change)
CASES = [
    ("type", 1, "stay_date", {"stay_date": "2026-07-32"}),
    ("type", 0, "booking_date", {"booking_date": "2026-02-30"}),  # not rolled over to 2026-03-02
    ("type", 2, "nights", {"nights": "three"}),
    ("type", 5, "residential", {"residential": "yes"}),
    ("required", 0, "country_code", {"country_code": ""}),
    ("enum", 3, "status", {"status": "PENDING"}),
    ("enum", 5, "country_code", {"country_code": "XX"}),
    ("insee_code", 4, "dep_code", {"dep_code": "20"}),
    ("length", 2, "booking_pid", {"booking_pid": "B" * 65}),
    ("minimum", 5, "stay_date", {"stay_date": "1999-12-31", "arrival_date": "1999-12-31",
                                 "departure_date": "2000-01-01", "booking_date": "1999-12-01"}),
    ("maximum", 0, "adults", {"adults": "51"}),
    ("formula_injection", 1, "campsite_pid", {"campsite_pid": "=HYPERLINK(\"http://x\")"}),
    ("formula_injection", 2, "booking_pid", {"booking_pid": "@SUM(A1:A9)"}),
    ("departure_after_arrival", 5, "arrival_date", {"departure_date": "2026-06-20", "nights": "0"}),
    ("stay_on_or_after_arrival", 0, "arrival_date", {"stay_date": "2026-07-17"}),
    ("stay_before_departure", 2, "stay_date", {"stay_date": "2026-07-21"}),
    ("booked_before_arrival", 5, "booking_date", {"booking_date": "2026-06-21"}),
    ("booked_before_snapshot", 5, "booking_date", {"booking_date": "2026-06-16", "arrival_date": "2026-06-20"}),
    ("cancel_after_booking", 3, "booking_date", {"cancel_date": "2026-01-01"}),
    ("nights_match_dates", 1, "nights", {"nights": "4"}),
    ("cancel_date_iff_cancelled", 0, "cancel_date", {"cancel_date": "2026-02-01"}),
    ("cancel_date_iff_cancelled", 4, "cancel_date", {"cancel_date": ""}),
    ("single_snapshot", 4, "snapshot_date", {"snapshot_date": "2026-06-22"}),
    ("duplicate", 2, "snapshot_date, booking_pid, stay_date", {"stay_date": "2026-07-18"}),
]


@pytest.mark.parametrize("rule,index,column,change", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_each_rule_names_row_and_column(kit, tmp_path, dirs, rule, index, column, change):
    rows = kit.good_rows()
    rows[index] = {**rows[index], **change}
    r = run(kit.write_csv(tmp_path / "bad.csv", rows), dirs)
    assert not r.ok
    hits = [p for p in r.report.problems if p.rule == rule]
    assert hits, r.report.to_dict()
    assert (index + 2, column) in {(p.row, p.column) for p in hits}
    assert r.report.counts[rule] >= 1
    assert kit.visible(dirs[0]) == []  # nothing published


def test_report_keeps_first_100_problems_and_counts_all(kit, tmp_path, dirs):
    template = kit.good_rows()[5]
    rows = [{**template, "booking_pid": f"B{i}", "unit_type": "YURT" if i % 2 else "PITCH_BARE",
             "dep_code": "00" if i % 3 == 0 else "85"} for i in range(300)]
    r = run(kit.write_csv(tmp_path / "many.csv", rows), dirs)
    assert r.report.counts == {"enum": 150, "insee_code": 100}
    assert len(r.report.problems) == MAX_PROBLEMS
    assert [p.row for p in r.report.problems] == sorted(p.row for p in r.report.problems)
    report = json.loads((r.quarantine_path / "report.json").read_text())
    assert report["status"] == "rejected" and report["kept_file"] == "input.csv"
    report = report["report"]
    assert report["total_problems"] == 250 and len(report["problems"]) == 100
    assert report["problems"][0] == {"row": 2, "column": "dep_code", "value": "00", "rule": "insee_code",
                                     "reason": "not an INSEE département code (COG)"}


def test_columns_missing_unknown_and_direct_identifiers_are_refused(kit, tmp_path, dirs):
    rows = [{**r, "guest_email": "a@b.fr", "comment": "late arrival"} for r in kit.good_rows()]
    cols = [c for c in rows[0] if c != "channel"]
    r = run(kit.write_csv(tmp_path / "cols.csv", rows, cols), dirs)
    assert r.report.counts == {"columns": 1}
    msg = r.report.fatal
    assert "guest_email" in msg and "direct identifier" in msg and "comment" in msg and "missing columns: channel" in msg


def test_semicolon_csv_and_shuffled_columns_are_accepted(kit, tmp_path, dirs):
    r = run(kit.write_csv(tmp_path / "fr.csv", kit.good_rows(), list(reversed(kit.COLUMNS)), delimiter=";"), dirs)
    assert r.ok, r.message


def test_short_line_is_reported_with_its_line(kit, tmp_path, dirs):
    p = kit.write_csv(tmp_path / "short.csv", kit.good_rows())
    lines = p.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:7])
    p.write_text("\n".join(lines) + "\n")
    r = run(p, dirs)
    hit = [x for x in r.report.problems if x.rule == "column_count"]
    assert hit and hit[0].row == 4 and "expected 18 columns, got 7" in hit[0].reason


def test_xlsx_valid_and_with_two_bad_rows(kit, tmp_path, dirs):
    assert run(kit.write_xlsx(tmp_path / "ok.xlsx", kit.good_rows()), dirs).ok
    rows = kit.good_rows()
    rows[1]["nights"] = "9"
    rows[4]["dep_code"] = "999"
    r = run(kit.write_xlsx(tmp_path / "bad.xlsx", rows), dirs)
    assert {(p.row, p.column, p.rule) for p in r.report.problems} == {(3, "nights", "nights_match_dates"),
                                                                       (6, "dep_code", "insee_code")}


def test_parquet_input_typed_and_untyped(kit, tmp_path, dirs):
    import pyarrow.csv as pcsv
    src = kit.write_csv(tmp_path / "src.csv", kit.good_rows())
    t = pcsv.read_csv(src, convert_options=pcsv.ConvertOptions(column_types={"dep_code": pa.string()}))
    pq.write_table(t, tmp_path / "ok.parquet")
    r = run(tmp_path / "ok.parquet", dirs)
    assert r.ok, r.message
    t2 = t.set_column(t.schema.get_field_index("nights"), "nights", pa.array(["3", "3", "x", "2", "2", "1"]))
    pq.write_table(t2, tmp_path / "bad.parquet")
    r = run(tmp_path / "bad.parquet", dirs)
    assert [(p.row, p.column, p.rule) for p in r.report.problems] == [(4, "nights", "type")]


def test_two_byte_codes_are_looked_up_as_index_in_does():
    """Country and département codes are looked up by their two bytes when every value of a block allows it;
    any other block (a longer code, an empty cell, a code off the list) goes through index_in."""
    import pyarrow.compute as pc

    from hub.collection.validate import _codelist, _two_byte_index, _two_byte_table

    deps = _codelist("insee:departement")
    countries = pa.array(["FR", "NL", "é", "DE", "FR"])  # "é" is two bytes too; the first "FR" counts
    for domain, col, fast in [
        (deps, pa.array(["85", "2A", "01", "2B", "95"] * 40), True),
        (deps, pa.array(["x", "85", "2A"]).slice(1), True),
        (deps, pa.array(["85", "974"]), False),
        (deps, pa.array(["85", "20"]), False),
        (deps, pa.array(["85", None]), False),
        (deps, pa.array(["85", ""]), False),
        (deps, pa.array([], pa.string()), False),
        (countries, pa.array(["é", "FR", "DE"]), True),
        (countries, pa.array(["FR", "ée"]), False),
    ]:
        got = _two_byte_index(col, _two_byte_table(domain))
        assert (got is not None) == fast, col
        if fast:
            assert got.equals(pc.index_in(col, value_set=domain))
    assert _two_byte_table(pa.array(["CONFIRMED", "OPTION"])) is None


def test_a_block_with_an_overseas_departement_code(kit, tmp_path, dirs):
    rows = kit.good_rows()
    rows[4]["dep_code"] = "974"
    r = run(kit.write_csv(tmp_path / "dom.csv", rows), dirs)
    assert r.ok, r.message
    assert pq.read_table(r.output_path).column("dep_code").to_pylist() == [x["dep_code"] for x in rows]


def test_a_listed_code_that_fails_another_string_check_is_still_reported(kit, tmp_path, dirs):
    """Blocks coded over a code list skip the string checks only when every value of the list passes them."""
    from dataclasses import replace

    from hub.schemas import load_schema

    base = load_schema("campsite-bookings")
    unit = base.field("unit_type")
    strict = replace(unit, constraints={**unit.constraints, "maxLength": 9})  # PITCH_BARE has 10 characters
    schema = replace(base, fields=tuple(strict if f.name == "unit_type" else f for f in base.fields))
    rows = kit.good_rows()
    assert [r["unit_type"] for r in rows] == ["MOBILHOME"] * 5 + ["PITCH_BARE"]
    out, q = dirs
    r = ingest(kit.write_csv(tmp_path / "units.csv", rows), schema, out, q, KEY, 1)
    assert r.report.counts == {"length": 1}
    (p,) = r.report.problems
    assert (p.row, p.column, p.value, p.rule) == (7, "unit_type", "PITCH_BARE", "length")
    assert run(kit.write_csv(tmp_path / "ok.csv", rows), dirs).ok  # the schema as published: every code passes
