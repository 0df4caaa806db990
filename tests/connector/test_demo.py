"""`passerelle demo --once`: every node of ``demo.TEMPLATES`` comes up as a real process, enrols, and verifies
every other; the sustainable-tourism providers publish their datasets and the hub negotiates for each; the hub's
barometer is computed from the federation's bookings and capacity table it pulled, started by their landing."""

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
    assert "on files pulled under its agreements" in out.stdout
    assert f"as {demo.CAPACITY_DATASET} v1 (PARQUET" in out.stdout  # through the federation's collection pipeline
    landing = next(line for line in out.stdout.splitlines() if line.strip().startswith("landing:"))
    assert "barometer waiting: a capacity table has not landed yet" in landing
    assert f"{demo.CAPACITY_DATASET}: barometer run " in landing and landing.endswith(" started")
    barometer = next(line for line in out.stdout.splitlines() if line.startswith("barometer: "))
    assert "computed from the federation's files the hub pulled" in barometer and " done, started by their landing" \
        in barometer, barometer
    assert "occitanie pulled its barometer slice from the hub" in out.stdout
    # every log is countersigned: the members' by the hub, the hub's by the member it names
    logs = [line.split() for line in out.stdout.splitlines() if line.startswith("  ") and " entries  root " in line]
    assert {line[0] for line in logs} == set(demo.TEMPLATES)
    for line in logs:
        expected = ["witnessed", "by", demo.HUB_WITNESS] if line[0] == "hub" else ["witnessed", "by", "the", "hub"]
        assert line[-len(expected):] == expected, line
    _rebuild_every_exchange_from_the_logs(tmp_path / "d", list(demo.TEMPLATES), tmp_path)


def _rebuild_every_exchange_from_the_logs(root: Path, names: list[str], tmp: Path) -> None:
    """An auditor's view: each node's exported bundle verifies offline, and from the entries alone every
    negotiation and transfer of the demo is rebuilt, state by state, with no gap; each agreement appears on both
    sides and each transfer of an agreement ends COMPLETED on both sides."""
    import json
    import zipfile
    from click.testing import CliRunner
    from connector.audit import processes, verify_bundle
    from connector.cli import cli
    histories: dict[str, dict] = {}
    for name in names:
        bundle = tmp / f"{name}.zip"
        r = CliRunner().invoke(cli, ["audit", "export", "--dir", str(root / name), "--out", str(bundle)])
        assert r.exit_code == 0, r.output
        assert verify_bundle(bundle, workers=1).ok, name
        with zipfile.ZipFile(bundle) as z:
            entries = [json.loads(line) for line in z.read("entries.jsonl").splitlines()]
        changes = [e for e in entries if e["event"].endswith(".state_changed")]
        histories[name] = {k: h for k, h in processes(changes).items()}
        for h in histories[name].values():
            assert h.gaps == [], (name, h.kind, h.states, h.gaps)
    negotiations = {n: [h for h in hs.values() if h.kind == "negotiation"] for n, hs in histories.items()}
    transfers = {n: [h for h in hs.values() if h.kind == "transfer"] for n, hs in histories.items()}
    finalized = [(n, h) for n, hs in negotiations.items() for h in hs if h.state == "FINALIZED"]
    assert len(finalized) >= 2 * 8  # every agreement of the demo, seen from both sides
    for name, h in finalized:
        assert h.states[0] in ("REQUESTED", "OFFERED") and h.states[-2:] == ["VERIFIED", "FINALIZED"], h.states
        other = [x for n, hs in negotiations.items() if n != name for x in hs
                 if x.consumer_pid == h.consumer_pid and x.provider_pid == h.provider_pid]
        assert [x.state for x in other] == ["FINALIZED"], (name, h.consumer_pid)
    pulled = [(n, h) for n, hs in transfers.items() for h in hs]
    assert len(pulled) >= 2 * 4  # the hub's three pulls and Occitanie's, each on both sides
    for name, h in pulled:
        assert h.states[0] == "REQUESTED" and "STARTED" in h.states and h.state == "COMPLETED", (name, h.states)


def test_demo_configs_are_valid_node_configs() -> None:
    from connector.config import load_config
    for path in sorted((ROOT / "config" / "demo").glob("*.toml")):
        cfg = load_config(path, check_files=False)
        assert cfg.node.name == path.stem
