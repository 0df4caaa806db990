"""`passerelle demo --once`: every node of ``demo.TEMPLATES`` comes up as a real process, enrols, and verifies
every other; the sustainable-tourism providers publish their datasets and the hub negotiates for each."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_block(n: int) -> int:
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
    from connector import demo
    from hub.sustainable.demo import DATASETS, PROVIDERS
    n = len(demo.TEMPLATES)
    base = _free_block(n)
    out = subprocess.run([sys.executable, "-m", "connector.cli", "demo", "--once", "--dir", str(tmp_path / "d"),
                          "--base-port", str(base)], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    pairs = n * (n - 1)
    assert f"{pairs}/{pairs} node pairs verified each other" in out.stdout
    assert f"{n} nodes serving" in out.stdout
    for i, name in enumerate(demo.TEMPLATES):
        assert (tmp_path / "d" / name / "node.toml").is_file()
        assert f"127.0.0.1:{base + i}" in out.stdout
    for name, datasets in PROVIDERS.items():
        assert name in demo.TEMPLATES
        for ident, _ in datasets:
            assert f"{name}: {ident} v" in out.stdout  # published by its own node
            statistical = next(o["id"] for o in DATASETS[ident]["offer_templates"]
                               if o["template"] == "members-statistical-use")
            assert any(line.split()[:1] == [name] and "agreement" in line and line.endswith(f"for {statistical}")
                       for line in out.stdout.splitlines()), statistical
    assert "tourisme durable: run" in out.stdout


def test_demo_configs_are_valid_node_configs() -> None:
    from connector.config import load_config
    for path in sorted((ROOT / "config" / "demo").glob("*.toml")):
        cfg = load_config(path, check_files=False)
        assert cfg.node.name == path.stem
