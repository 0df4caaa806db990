"""``passerelle audit`` (the ``audit`` click group): verify, export, show, checkpoint."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session

from connector.audit import append, export_bundle
from connector.commands.audit import audit


@pytest.fixture
def node(engine, signer, kit, tmp_path: Path):  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 20, every=10)
    key = tmp_path / "audit.pem"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(kit.LOG_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    trust = tmp_path / "trust.txt"
    trust.write_text(f"# the node's audit key, as published in its DID document\n{signer.vkey}\n")
    return engine, key, trust


def test_export_then_verify_from_the_command_line(node, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, key, trust = node
    runner = CliRunner()
    out = tmp_path / "audit.zip"
    result = runner.invoke(audit, ["export", "--database-url", db_url, "--out", str(out), "--key", str(key)])
    assert result.exit_code == 0, result.output
    assert "20 entries" in result.output
    result = runner.invoke(audit, ["verify", str(out), "--trusted-key", str(trust)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK   {out}: 20 entries, 2 checkpoints up to size 20")
    result = runner.invoke(audit, ["verify", str(out)])  # nothing pinned: valid, with a warning
    assert result.exit_code == 2 and "KEYS_UNPINNED" in result.output
    result = runner.invoke(audit, ["verify", str(out), "--trusted-key", str(trust), "--json"])
    assert json.loads(result.output)["ok"] is True


def test_verify_names_the_first_failing_entry(node, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine, _, trust = node
    with Session(engine) as s:
        bundle = export_bundle(s, tmp_path / "b", now=0).path
    lines = (bundle / "entries.jsonl").read_bytes().splitlines()
    lines[6] = lines[6].replace(b'"rows":16', b'"rows":1')
    (bundle / "entries.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(audit, ["verify", str(bundle), "--trusted-key", str(trust)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(f"FAIL {bundle}: entry 6: entry 6 does not match")


def test_verify_bad_input_is_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(audit, ["verify", str(tmp_path / "nope.zip")])
    assert result.exit_code == 3 and result.output.strip().count("\n") == 0 and "does not exist" in result.output
    bad = tmp_path / "trust.txt"
    bad.write_text("garbage\n")
    result = runner.invoke(audit, ["verify", str(tmp_path), "--trusted-key", str(bad)])
    assert result.exit_code == 3 and f"{bad}:1" in result.output
    (tmp_path / "x.zip").write_text("not a zip")
    result = runner.invoke(audit, ["verify", str(tmp_path / "x.zip")])
    assert result.exit_code == 1 and "not a zip file" in result.output


def test_show_lists_a_timeline_filtered_by_agreement(node, db_url: str, kit) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = node
    with Session(engine) as s:
        append(s, "negotiation.state_changed", {
            "actor": {"did": "did:web:occitanie.example.fr", "role": "provider"},
            "counterparty": {"did": "did:web:hub.example.fr"}, "agreement": {"id": "urn:uuid:agreement-0"},
            "process": {"kind": "negotiation", "provider_pid": "urn:uuid:cn-1", "state_from": "AGREED",
                        "state_to": "FINALIZED"}}, kit.T0 + timedelta(hours=1))
        s.commit()
    runner = CliRunner()
    result = runner.invoke(audit, ["show", "--database-url", db_url, "--agreement", "urn:uuid:agreement-0"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 8 and all("agreement urn:uuid:agreement-0" in line for line in lines)
    assert "negotiation urn:uuid:cn-1 AGREED→FINALIZED" in lines[-1]
    result = runner.invoke(audit, ["show", "--database-url", db_url, "--event", "negotiation.*", "--json"])
    assert [json.loads(x)["seq"] for x in result.output.splitlines()] == [20]
    result = runner.invoke(audit, ["show", "--database-url", db_url, "--since", "2026-03-02T09:00:05Z",
                                   "--until", "2026-03-02T09:00:07Z"])
    assert [int(x.split()[0]) for x in result.output.splitlines()] == [5, 6]
    result = runner.invoke(audit, ["show", "--database-url", db_url, "--since", "soon"])
    assert result.exit_code == 2 and "--since" in result.output


def test_checkpoint_on_demand(node, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _, key, _ = node
    result = CliRunner().invoke(audit, ["checkpoint", "--database-url", db_url, "--key", str(key)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("occitanie.example.fr/audit/v1\n20\n")


def test_export_of_one_agreement_and_errors_in_one_line(node, db_url: str, kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, key, trust = node
    runner = CliRunner()
    out = tmp_path / "agreement-1"
    result = runner.invoke(audit, ["export", "--database-url", db_url, "--out", str(out), "--key", str(key),
                                   "--agreement", "urn:uuid:agreement-1"])
    assert result.exit_code == 0 and "7 entries" in result.output, result.output
    assert runner.invoke(audit, ["verify", str(out), "--trusted-key", str(trust)]).exit_code == 0
    result = runner.invoke(audit, ["export", "--database-url", db_url, "--out", str(out)])
    assert result.exit_code == 2 and "already exists" in result.output
    result = runner.invoke(audit, ["export", "--database-url", db_url, "--out", str(tmp_path / "x"),
                                   "--witness-key", "nonsense"])
    assert result.exit_code == 2 and "--witness-key" in result.output
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    for args in (["show", "--database-url", empty], ["export", "--database-url", empty, "--out", str(tmp_path / "y")],
                 ["checkpoint", "--database-url", empty, "--key", str(key)]):
        result = runner.invoke(audit, args)
        assert result.exit_code in (1, 2) and result.output.count("\n") == 1, result.output
        assert "Traceback" not in result.output and "audit" in result.output
