"""A served node writes one Apache combined-format line per request to its access log."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from connector.config import load_config
from connector.init_node import init_node

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r'^127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] '
                  r'"GET /\.well-known/dspace-version\?probe=1 HTTP/1\.1" 200 \d+ "https://ref\.example/" '
                  r'"passerelle-test/1\.0"$')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_each_request_is_one_combined_format_line(tmp_path: Path) -> None:
    directory = init_node(tmp_path / "hub", name="hub", role="hub", port=_free_port(), legal_name="Hub",
                          roles=["national_hub"]).parent
    cfg = load_config(directory / "node.toml")
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--dir", str(directory)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:   # a real server process: poll until it answers
            try:
                r = httpx.get(cfg.node.public_url + "/.well-known/dspace-version?probe=1", timeout=1,
                              headers={"User-Agent": "passerelle-test/1.0", "Referer": "https://ref.example/"})
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the node did not start"
                time.sleep(0.05)
        assert r.status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    lines = (cfg.log_dir / "access.log").read_text().splitlines()
    assert len(lines) == 1 and LINE.match(lines[0]), lines
    assert lines[0].split('" 200 ')[1].split(" ")[0] == str(len(r.content))
