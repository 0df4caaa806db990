"""A process killed (SIGKILL) between a change and its audit entry leaves neither (trust.md C5, DESIGN §5).

A real child process opens the database, writes a state change, appends its audit entry and commits, killing itself
at the named point. After it dies the parent reopens the database: before the commit there is neither the change nor
the entry, after it both, and the log still verifies and keeps appending without a gap.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from connector.audit import append, export_bundle, head, verify_bundle

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime, timezone
    from sqlalchemy import text
    from sqlmodel import Session
    from connector.audit import append
    from connector.store import make_engine

    url, point = sys.argv[1], sys.argv[2]
    die = lambda where: os.kill(os.getpid(), signal.SIGKILL) if where == point else None
    engine = make_engine(url)
    with Session(engine) as s:
        s.execute(text("UPDATE demo_transfer SET state = 'STARTED' WHERE id = 1"))
        s.flush()
        die("after_change")
        append(s, "transfer.state_changed", {
            "actor": {"did": "did:web:occitanie.example.fr", "role": "provider"},
            "process": {"kind": "transfer", "provider_pid": "urn:uuid:tp-1", "state_from": "REQUESTED",
                        "state_to": "STARTED"}}, datetime(2026, 3, 2, 10, tzinfo=timezone.utc))
        s.flush()
        die("after_log")
        s.commit()
        die("after_commit")
    print("not killed")
""")


@pytest.mark.parametrize("point, committed", [("after_change", False), ("after_log", False),
                                             ("after_commit", True)])
def test_a_killed_process_leaves_both_or_neither(engine, signer, kit, db_url: str, tmp_path: Path, point: str,
                                                 committed: bool) -> None:  # type: ignore[no-untyped-def]
    kit.fill(engine, signer, 3, every=3)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE demo_transfer (id INTEGER PRIMARY KEY, state VARCHAR(32))"))
        c.execute(text("INSERT INTO demo_transfer VALUES (1, 'REQUESTED')"))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script), db_url, point], env=env, capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]

    with Session(engine) as s:
        state = s.execute(text("SELECT state FROM demo_transfer WHERE id = 1")).scalar_one()
        entries = s.execute(text("SELECT count(*) FROM audit_entry WHERE kind = 'transfer.state_changed'")).scalar_one()
        assert (state, entries) == (("STARTED", 1) if committed else ("REQUESTED", 0))
        size = head(s).size
        assert size == (4 if committed else 3)
        assert append(s, "data.pull", kit.pull_body(9), kit.T0 + timedelta(hours=2)) == size  # no gap after the crash
        s.commit()
        bundle = export_bundle(s, tmp_path / "bundle", signer=signer, now=kit.T0)
    assert verify_bundle(bundle.path, [signer.vkey]).exit_code == 0
