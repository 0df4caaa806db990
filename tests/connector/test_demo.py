"""`passerelle demo --once`: five real node processes come up, enrol, and verify each other."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_block(n: int = 5) -> int:
    for base in range(21000, 60000, 37):
        ok = True
        for p in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


@pytest.mark.slow
def test_demo_once_exits_zero(tmp_path: Path) -> None:
    base = _free_block()
    out = subprocess.run([sys.executable, "-m", "connector.cli", "demo", "--once", "--dir", str(tmp_path / "d"),
                          "--base-port", str(base)], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "20/20 node pairs verified each other" in out.stdout
    for name in ("hub", "campings", "occitanie", "bretagne", "herault"):
        assert (tmp_path / "d" / name / "node.toml").is_file()
        assert f"127.0.0.1:{base}" in out.stdout


def test_demo_configs_are_valid_node_configs() -> None:
    from connector.config import load_config
    for path in sorted((ROOT / "config" / "demo").glob("*.toml")):
        cfg = load_config(path, check_files=False)
        assert cfg.node.name == path.stem
