"""Bad configuration gives one clear line naming the file, the key and what was expected."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.config import ConfigError, load_config


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    result = CliRunner().invoke(cli, ["init", "--role", "hub", "--name", "hub", "--dir", str(tmp_path / "hub"),
                                      "--port", "18999"])
    assert result.exit_code == 0, result.output
    return tmp_path / "hub"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_init_writes_a_ready_node(node_dir: Path) -> None:
    cfg = load_config(node_dir / "node.toml")
    assert cfg.node.role == "hub" and cfg.node.did == "did:web:127.0.0.1%3A18999"
    for key in ("auth", "audit", "dataplane", "issuer"):
        assert (node_dir / "keys" / f"{key}.pem").stat().st_mode & 0o777 == 0o600
    assert (node_dir / "admin.token").stat().st_mode & 0o777 == 0o600
    assert (node_dir / "data" / "node.db").is_file()


def test_init_refuses_to_overwrite(node_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["init", "--role", "hub", "--name", "hub", "--dir", str(node_dir),
                                      "--port", "18999"])
    assert result.exit_code != 0 and "already exists" in result.output


@pytest.mark.parametrize("old,new,expected", [
    ("workers = 1", "workers = 1\ncolour = \"blue\"", "[node] colour: unknown key"),
    ("port = 18999", 'port = "18999"', "[node] port: input should be a valid integer, got str '18999'"),
    ('role = "hub"', 'role = "leader"', "[node] role:"),
    ('siren = "000000000"', 'siren = "12"', "[organisation] siren:"),
    ('"national_hub",', '"king",', "unknown role(s) ['king']"),
])
def test_bad_values_name_file_key_and_expectation(node_dir: Path, old: str, new: str, expected: str) -> None:
    path = node_dir / "node.toml"
    _edit(path, old, new)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and expected in message
    assert "\n" not in message


def test_missing_key_file(node_dir: Path) -> None:
    (node_dir / "keys" / "audit.pem").unlink()
    with pytest.raises(ConfigError, match=r"\[keys\] audit: key file not found"):
        load_config(node_dir / "node.toml")


def test_missing_required_section(node_dir: Path) -> None:
    path = node_dir / "node.toml"
    text = path.read_text()
    path.write_text(text[:text.index("[authority]")])
    with pytest.raises(ConfigError, match="authority: missing"):
        load_config(path)


def test_serve_reports_port_in_use_in_one_line(node_dir: Path) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 18999))
        s.listen()
        result = CliRunner().invoke(cli, ["serve", "--dir", str(node_dir)])
    assert result.exit_code == 1
    assert "[node] port: 127.0.0.1:18999 is already in use" in result.output
    assert result.output.count("\n") == 1


def test_cli_config_error_is_one_line_and_nonzero(node_dir: Path) -> None:
    _edit(node_dir / "node.toml", "workers = 1", "workers = 1\nbogus = 1")
    result = CliRunner().invoke(cli, ["serve", "--dir", str(node_dir)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: ") and "[node] bogus: unknown key" in result.output
    assert result.output.count("\n") == 1
