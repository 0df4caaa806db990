"""SIGKILL in the middle of an ingestion: the previous version stays published, nothing partial is visible, and
running the ingestion again publishes the new file (real subprocess, killed while it writes)."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from hub.collection import ingest
from hub.collection.atomic import sha256_file

KEY = bytes(range(32))
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import sys
    import pyarrow.parquet as pq
    from hub.collection import Limits, ingest

    real = pq.ParquetWriter.write_table
    calls = []

    def write_table(self, *a, **kw):
        real(self, *a, **kw)
        calls.append(1)
        if len(calls) == 2:  # two row groups on disk, in the hidden temp file
            print("WRITING", flush=True)
            sys.stdin.read()  # hold here until killed

    pq.ParquetWriter.write_table = write_table
    src, out, q = sys.argv[1:4]
    ingest(src, "campsite-bookings", out, q, bytes(range(32)), 1, limits=Limits(csv_block_bytes=16384),
           row_group_rows=500)
    print("FINISHED", flush=True)
""")


def test_sigkill_mid_ingestion_leaves_previous_version_and_is_resumable(kit, tmp_path):
    out, q = tmp_path / "out", tmp_path / "q"
    first = ingest(kit.write_csv(tmp_path / "week24.csv", kit.good_rows()), "campsite-bookings", out, q, KEY, 1)
    assert first.ok
    before = sha256_file(first.output_path)

    template = kit.good_rows()[5]
    rows = [dict(template, booking_pid=f"BK{i:06d}") for i in range(3000)]
    week25 = kit.write_csv(tmp_path / "week25.csv", rows)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(week25), str(out), str(q)], cwd=ROOT, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = child.stdout.readline().decode().strip()
        assert line == "WRITING", child.stderr.read().decode()
        partial = [p for p in out.iterdir() if p.name.startswith(".")]
        assert len(partial) == 1 and partial[0].stat().st_size > 0  # the new file exists, hidden
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
        child.stdin.close()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    assert kit.visible(out) == [first.output_path.name]  # only the previous version is visible
    assert sha256_file(first.output_path) == before
    assert kit.visible(q) == []  # a crash is not a rejection

    again = ingest(week25, "campsite-bookings", out, q, KEY, 1)  # resumed from the start
    assert again.ok and again.rows == 3000
    assert kit.visible(out) == sorted([first.output_path.name, again.output_path.name])
    assert [p for p in out.iterdir() if p.name.startswith(".")] == []  # the dead writer's temp was removed
