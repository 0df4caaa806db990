"""A CSV is read in blocks that are parsed and checked side by side, then accepted in file order: what spans two
blocks (a bad row at an edge, a duplicate key, a booking's pseudonym, the file's one snapshot) comes out as if the
file were read in one piece."""

import hashlib
import threading

import pyarrow.parquet as pq
import pytest

from hub.collection import Limits, Refused, ingest
from hub.collection.readers import CsvChunks
from hub.collection.threads import ordered_map

KEY = bytes(range(32))
BLOCK = 4096  # about 30 lines a block


def run(path, dirs, block=BLOCK, **kw):
    out, q = dirs
    return ingest(path, "campsite-bookings", out, q, KEY, 1, limits=Limits(csv_block_bytes=block), **kw)


def rows(kit, n):
    """``n`` one-night bookings, each with its own booking_pid."""
    template = kit.good_rows()[5]
    return [dict(template, booking_pid=f"BK{i:06d}") for i in range(n)]


def first_block_rows(path, block=BLOCK):
    """Data rows that end inside the first block (the first block's rows; the header is in it too)."""
    data = path.read_bytes()[:block]
    return data.count(b"\n") - 1


def test_blocks_are_whole_lines_hashed_as_read(kit, tmp_path):
    p = kit.write_csv(tmp_path / "a.csv", rows(kit, 200))
    chunks = CsvChunks(p, BLOCK, buffers=2)
    parts, seen = [], set()
    for c in chunks:
        data = c.data.to_pybytes()
        assert data.endswith(b"\n")
        parts.append(data)
        seen.add(id(c._buf))
        c.release()
    raw = p.read_bytes()
    assert len(parts) > 5 and b"".join(parts) == raw[raw.index(b"\n") + 1:]
    assert len(seen) <= 2  # the same two buffers, used again and again
    assert chunks.hexdigest() == hashlib.sha256(raw).hexdigest()


def test_a_block_that_holds_only_the_header(kit, tmp_path):
    p = kit.write_csv(tmp_path / "a.csv", rows(kit, 20))
    raw = p.read_bytes()
    header = raw.index(b"\n") + 1
    chunks = CsvChunks(p, header, buffers=2)  # the first block is exactly the header line
    parts = []
    for c in chunks:
        parts.append(c.data.to_pybytes())
        c.release()
    assert b"".join(parts) == raw[header:] and chunks.hexdigest() == hashlib.sha256(raw).hexdigest()


def test_error_in_the_last_row_of_a_block_and_in_the_first_row_of_the_next(kit, tmp_path, dirs):
    src = kit.write_csv(tmp_path / "probe.csv", rows(kit, 120))
    last = first_block_rows(src) - 1  # index of the first block's last row
    assert 5 < last < 100
    for i in (last, last + 1):
        data = rows(kit, 120)
        data[i]["nights"] = "2"
        r = run(kit.write_csv(tmp_path / f"bad{i}.csv", data), dirs)
        assert r.report.counts == {"nights_match_dates": 1}
        (p,) = r.report.problems
        assert (p.row, p.column, p.value) == (i + 2, "nights", "2")


def test_duplicate_key_across_two_blocks(kit, tmp_path, dirs):
    data = rows(kit, 120)
    nxt = first_block_rows(kit.write_csv(tmp_path / "probe.csv", data))  # first row of the second block
    data[nxt]["booking_pid"] = data[0]["booking_pid"]
    r = run(kit.write_csv(tmp_path / "dup.csv", data), dirs)
    assert r.report.counts == {"duplicate": 1}
    (p,) = r.report.problems
    assert p.row == nxt + 2 and p.reason.endswith("as row 2")


def test_a_booking_across_two_blocks_has_one_pseudonym_hashed_once(kit, tmp_path, dirs):
    """A 40-night stay straddles the first block boundary: one pseudonym, one HMAC, as in one piece."""
    import datetime as dt
    template = kit.good_rows()[5]
    data = rows(kit, 10)
    start = dt.date(2026, 5, 1)
    long_stay = {"booking_pid": "BK-LONG", "arrival_date": "2026-05-01", "departure_date": "2026-06-10",
                 "nights": "40", "booking_date": "2026-01-12"}
    data += [dict(template, **long_stay, stay_date=(start + dt.timedelta(days=d)).isoformat()) for d in range(40)]
    data += rows(kit, 200)[100:]
    src = kit.write_csv(tmp_path / "long.csv", data)
    assert 10 < first_block_rows(src) < 50  # the boundary falls inside the long stay
    small = run(src, dirs, row_group_rows=60)  # and several row groups
    whole = run(src, (tmp_path / "o2", tmp_path / "q2"), block=1 << 20)
    assert small.ok and whole.ok, small.message
    assert pq.ParquetFile(small.output_path).metadata.num_row_groups > 1
    assert small.output_sha256 == hashlib.sha256(small.output_path.read_bytes()).hexdigest()
    t = pq.read_table(small.output_path)
    pids = t.column("booking_pid").to_pylist()
    assert len(set(pids[10:50])) == 1 and pids[9] != pids[10] != pids[50]
    assert small.pseudonyms == whole.pseudonyms == {"campsite": 1, "booking": 111}
    assert t.equals(pq.read_table(whole.output_path))


def test_hmacs_once_per_value_when_rows_are_grouped(kit, tmp_path):
    """The pseudonym of a value seen in the previous block is taken from it, not hashed again."""
    from hub.collection import Pseudonymiser
    import pyarrow as pa
    ps = Pseudonymiser(KEY, 1)
    first = ps.column("booking", pa.array(["A", "B", "B", "C"]))
    second = ps.column("booking", pa.array(["C", "C", "D"]))
    assert second[0] == first[3] and ps.hmac_count("booking") == 4 == ps.distinct_count("booking")


def test_one_block_with_a_bad_cell_is_read_as_text_the_others_stay_typed(kit, tmp_path, dirs):
    data = rows(kit, 200)
    data[3]["status"] = "PENDING"  # first block: typed, an enum problem
    data[150]["stay_date"] = "2026-06-31"  # a later block: the date does not convert
    data[151]["adults"] = "two"
    r = run(kit.write_csv(tmp_path / "mixed.csv", data), dirs)
    got = {(p.row, p.column, p.rule) for p in r.report.problems}
    assert {(5, "status", "enum"), (152, "stay_date", "type"), (153, "adults", "type")} <= got
    assert r.report.counts["enum"] == 1 and r.report.counts["type"] == 2


def test_single_snapshot_is_checked_across_blocks(kit, tmp_path, dirs):
    data = rows(kit, 200)
    for i in (170, 171):
        data[i]["snapshot_date"] = "2026-06-22"
    r = run(kit.write_csv(tmp_path / "snap.csv", data), dirs)
    assert r.report.counts == {"single_snapshot": 2}
    assert [(p.row, p.value) for p in r.report.problems] == [(172, "2026-06-22"), (173, "2026-06-22")]
    assert r.report.problems[0].reason.endswith("expected 2026-06-15")


def test_crlf_blank_lines_and_no_final_line_end_across_blocks(kit, tmp_path, dirs):
    p = kit.write_csv(tmp_path / "src.csv", rows(kit, 150))
    lines = p.read_text().splitlines()
    lines.insert(40, "")
    p.write_bytes("\r\n".join(lines).encode())
    r = run(p, dirs)
    assert r.ok and r.rows == 150, r.message


def test_same_result_whatever_the_block_size(kit, tmp_path, dirs):
    data = rows(kit, 300)
    for i in range(0, 300, 7):
        data[i]["country_code"] = "XX"
    data[33]["nights"] = "x"
    data[250]["booking_pid"] = data[12]["booking_pid"]
    src = kit.write_csv(tmp_path / "bad.csv", data)
    reports = [run(src, (tmp_path / f"o{b}", tmp_path / f"q{b}"), block=b).report.to_dict()
               for b in (1024, BLOCK, 1 << 20)]
    assert reports[0]["total_problems"] == 45
    assert reports[0] == reports[1] == reports[2]


def test_a_line_longer_than_a_block_is_refused(kit, tmp_path, dirs):
    data = rows(kit, 40)
    data[20]["booking_pid"] = "B" * 5000
    r = run(kit.write_csv(tmp_path / "long.csv", data), dirs)
    assert not r.ok and r.report.counts == {"truncated": 1} and "longer than 4096 bytes" in r.message
    assert kit.visible(dirs[0]) == []


def test_ordered_map_keeps_the_order_and_raises_at_the_item(kit):
    second_done = threading.Event()

    def work(i):
        if i == 0:  # the first item finishes after the second one
            assert second_done.wait(10)
        if i == 1:
            second_done.set()
        if i == 3:
            raise Refused("rows", "item 3")
        return i * 10

    got = []
    with pytest.raises(Refused, match="item 3"):
        for x in ordered_map(work, range(6), workers=2):
            got.append(x)
    assert got == [0, 10, 20]
