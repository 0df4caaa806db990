"""``passerelle generate energy|employment|arrivals`` on the click group object."""

from __future__ import annotations

import json

from click.testing import CliRunner

from connector.commands.generate import generate


def test_generate_the_three_sources(tmp_path) -> None:
    r = CliRunner()
    res = r.invoke(generate, ["energy", "--establishments", "20", "--years", "2025", "--out", str(tmp_path),
                              "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["rows"]["energy"] == 20 * 12
    res = r.invoke(generate, ["employment", "--out", str(tmp_path), "--csv"])
    assert res.exit_code == 0 and "employment rows" in res.output and (tmp_path / "employment.csv").exists()
    res = r.invoke(generate, ["arrivals", "--years", "2025", "--out", str(tmp_path)])
    assert res.exit_code == 0 and "trips rows" in res.output


def test_bad_years_is_a_one_line_error(tmp_path) -> None:
    res = CliRunner().invoke(generate, ["energy", "--years", "next", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "comma-separated list of years" in res.output
