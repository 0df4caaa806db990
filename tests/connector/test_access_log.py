"""A served node writes one Apache combined-format line per request to its access log."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from connector.config import load_config
from connector.demo import DemoSpace

LINE = re.compile(r'^127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] '
                  r'"GET /\.well-known/dspace-version\?probe=1 HTTP/1\.1" 200 \d+ "https://ref\.example/" '
                  r'"passerelle-test/1\.0"$')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_each_request_is_one_combined_format_line(tmp_path: Path) -> None:
    space = DemoSpace(tmp_path)
    space.create(_free_port(), names=["hub"])
    space.start()   # `passerelle serve`, answering once this returns
    hub = space.nodes["hub"]
    log = load_config(hub.directory / "node.toml").log_dir / "access.log"
    try:
        r = space.client.get(hub.url + "/.well-known/dspace-version?probe=1",
                             headers={"User-Agent": "passerelle-test/1.0", "Referer": "https://ref.example/"})
        assert r.status_code == 200
    finally:
        space.stop()
    lines = [line for line in log.read_text().splitlines() if "probe=1" in line]   # not start's own probes
    assert len(lines) == 1 and LINE.match(lines[0]), lines
    assert lines[0].split('" 200 ')[1].split(" ")[0] == str(len(r.content))
