"""`passerelle pull` and `passerelle transfers` (click objects, run with CliRunner)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from connector.commands.transfer import pull, transfers
from transfer_kit import Space


def test_pull_lands_and_copies(space: Space, tmp_path: Path) -> None:
    directory = str(space.consumer.node.config.path.parent)
    out = tmp_path / "copie.csv"
    r = CliRunner().invoke(pull, ["--agreement", space.agreements["open"], "--format", "csv", "--out", str(out),
                                  "--dir", directory])
    assert r.exit_code == 0, r.output
    assert "landed" in r.output and out.read_text().startswith('"campsite_pid"')


def test_bad_input_is_one_readable_line(space: Space, tmp_path: Path) -> None:
    directory = str(space.consumer.node.config.path.parent)
    r = CliRunner().invoke(pull, ["--agreement", "urn:uuid:nope", "--dir", directory])
    assert r.exit_code == 1 and "no agreement 'urn:uuid:nope'" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(pull, ["--agreement", "x", "--format", "xlsx", "--dir", directory])
    assert r.exit_code == 2 and "xlsx" in r.output
    r = CliRunner().invoke(transfers, ["--dir", str(tmp_path / "nowhere")])
    assert r.exit_code == 1 and "Error" in r.output
    r = CliRunner().invoke(transfers, ["--dir", directory, "--json"])
    assert r.exit_code == 0 and '"transfers"' in r.output
