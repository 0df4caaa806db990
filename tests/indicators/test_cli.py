"""`passerelle indicators compute|show` on the hand-made export."""

from __future__ import annotations

import json

from click.testing import CliRunner

from connector.commands.indicators import indicators


def test_compute_writes_one_csv_per_table_and_show_renders_them(hand_made, tmp_path):
    runner = CliRunner()
    res = runner.invoke(indicators, ["compute", "--bookings", str(hand_made["bookings_csv"]), "--capacity",
                                     str(hand_made["capacity"]), "--campsites", str(hand_made["campsites"]),
                                     "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "snapshot 2025-06-16" in res.output
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == sorted(
        ["weekly.csv", "pace.csv", "country_mix.csv", "lead_time.csv", "cancellations.csv"])
    text = (tmp_path / "weekly.csv").read_text()
    assert "suppressed" in text and "DEP-56" in text

    res = runner.invoke(indicators, ["show", str(tmp_path / "weekly.csv"), "--geo", "DEP-56"])
    assert res.exit_code == 0, res.output
    assert "suppressed" in res.output and "·" in res.output

    res = runner.invoke(indicators, ["show", str(tmp_path), "--format", "json", "--geo", "DEP-56"])
    assert res.exit_code == 0
    weekly = [json.loads(line) for line in res.output.splitlines() if '"weekly"' in line][0]
    row = weekly["rows"][0]
    assert row["status"] == "suppressed" and row["unit_nights"] is None and row["fallback_geo"] == "REG-53"


def test_bad_input_gives_one_line_error(hand_made, tmp_path):
    runner = CliRunner()
    res = runner.invoke(indicators, ["compute", "--bookings", str(tmp_path / "missing.csv"), "--capacity",
                                     str(hand_made["capacity"]), "--out", str(tmp_path)])
    assert res.exit_code != 0 and "bookings file not found" in res.output
    res = runner.invoke(indicators, ["compute", "--bookings", str(hand_made["bookings"]), "--capacity",
                                     str(hand_made["capacity"]), "--out", str(tmp_path), "--week", "2025-W99"])
    assert res.exit_code != 0 and "invalid ISO week" in res.output
    res = runner.invoke(indicators, ["compute", "--bookings", str(hand_made["capacity"]), "--capacity",
                                     str(hand_made["capacity"]), "--out", str(tmp_path)])
    assert res.exit_code != 0 and "lacks required columns" in res.output
    res = runner.invoke(indicators, ["show", str(tmp_path / "nope")])
    assert res.exit_code != 0 and "not found" in res.output
