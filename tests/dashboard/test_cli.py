"""`passerelle indicators compute --dir HUB_DIR` and `show --dir HUB_DIR`: the hub's service from the terminal."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from connector.commands.indicators import indicators


def _dir(space: Any, name: str) -> str:
    return str(space.nodes[name].node.config.path.parent)


def test_compute_on_the_hub_reuses_the_landed_snapshot_and_show_reads_the_current_result(
        space: Any, landed: dict[str, Any]) -> None:
    runner = CliRunner()
    res = runner.invoke(indicators, ["compute", "--dir", _dir(space, "hub"), "--week", "2026-W30"])
    assert res.exit_code == 0, res.output
    assert f"run {landed['id']} · snapshot 2026-06-15" in res.output and "already computed" in res.output
    assert "re-published for" in res.output and "REG-76 v1" in res.output
    weekly = next(line for line in res.output.splitlines() if line.startswith("weekly"))
    assert int(weekly.split()[1]) < landed["tables"]["weekly"]["rows"]  # the week's cells only

    res = runner.invoke(indicators, ["show", "--dir", _dir(space, "hub"), "--format", "json", "--geo", "REG-76"])
    assert res.exit_code == 0, res.output
    tables = {json.loads(line)["table"]: json.loads(line)["rows"] for line in res.output.splitlines()}
    assert set(tables) == {"weekly", "pace", "country_mix", "lead_time", "cancellations"}
    assert {r["geo_code"] for r in tables["weekly"]} == {"REG-76"}
    assert all(r["unit_nights"] is None for r in tables["weekly"] if r["status"] == "suppressed")


def test_compute_and_show_refuse_what_they_cannot_do(space: Any, landed: dict[str, Any], tmp_path: Any) -> None:
    runner = CliRunner()
    res = runner.invoke(indicators, ["compute", "--dir", _dir(space, "occitanie")])
    assert res.exit_code != 0 and "is not the hub" in res.output
    res = runner.invoke(indicators, ["compute", "--bookings", "x.parquet"])
    assert res.exit_code != 0 and "missing --capacity, --out" in res.output
    res = runner.invoke(indicators, ["compute", "--dir", _dir(space, "hub"), "--bookings", "x.parquet"])
    assert res.exit_code != 0 and "both --bookings and --capacity" in res.output
    res = runner.invoke(indicators, ["show"])
    assert res.exit_code != 0 and "either PATH" in res.output
    res = runner.invoke(indicators, ["compute", "--dir", _dir(space, "hub"), "--week", "2026-W99"])
    assert res.exit_code != 0 and "invalid ISO week" in res.output
