"""The hub's landing hook recognises a campsite bookings snapshot and a capacity table by their columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connector.transfer.landing import after_landing, kind_of


def test_kind_of_landed_files(tmp_path: Path) -> None:
    b = tmp_path / "b.parquet"
    pq.write_table(pa.table({"booking_pid": ["x"], "campsite_pid": ["c"], "stay_date": ["2026-07-01"],
                             "nights": [1]}), b)
    c = tmp_path / "c.parquet"
    pq.write_table(pa.table({"campsite_pid": ["c"], "date": ["2026-07-01"], "unit_type": ["pitch"],
                             "units_available": [3]}), c)
    other = tmp_path / "o.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    (tmp_path / "t.csv").write_text("booking_pid\nx\n")
    assert (kind_of(b), kind_of(c), kind_of(other), kind_of(tmp_path / "t.csv")) == ("bookings", "capacity", None,
                                                                                      None)

    class NotHub:
        is_authority = False
    assert after_landing(NotHub(), b) is None
