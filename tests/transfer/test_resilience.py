"""A pull survives a broken connection (Range resume) and a consumer killed mid-transfer (lands exactly once)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from connector.transfer.ingest import LocalControl, fetch, record_landing
from connector.transfer.records import IngestRow
from transfer_kit import OPEN_OFFER, Space, negotiate, transfers

ROOT = Path(__file__).resolve().parents[2]


class _Cut(httpx.SyncByteStream):
    def __init__(self, inner: Any, limit: int):
        self.inner, self.limit = inner, limit

    def __iter__(self):  # type: ignore[no-untyped-def]
        sent = 0
        for chunk in self.inner:
            if sent + len(chunk) > self.limit:
                yield chunk[: self.limit - sent]
                raise httpx.ReadError("connection reset by peer (test)")
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class CuttingTransport(httpx.HTTPTransport):
    """Breaks the first data response after ``limit`` bytes; records the Range headers sent."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.cut, self.ranges = limit, False, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.ranges.append(request.headers.get("Range"))
        response = super().handle_request(request)
        if not self.cut and response.status_code == 200 and "/public/data/" in str(request.url):
            self.cut = True
            return httpx.Response(response.status_code, headers=response.headers,
                                  stream=_Cut(response.stream, self.limit), request=request)
        return response


def _landings(space: Space, agreement: str) -> list[IngestRow]:
    with space.consumer.node.session() as s:
        return list(s.exec(select(IngestRow).where(IngestRow.agreement_id == agreement)).all())


def test_cut_connection_resumes_with_range(space: Space) -> None:
    c = space.consumer
    ctl = LocalControl(transfers(c))
    pid = ctl.request(space.agreements["window"])
    address = ctl.wait_started(pid, 10)
    transport = CuttingTransport(limit=40_000)
    part = c.node.data_dir / ".tmp" / "cut-test.parquet.part"
    with httpx.Client(transport=transport) as client:
        declared = fetch(c.node, c.trust, address, "parquet", part, provider_did=space.provider.did, client=client)
    assert transport.cut and transport.ranges[-1] == "bytes=40000-", transport.ranges
    from connector.negotiation.records import AgreementRow
    with c.node.session() as s:
        agreement = s.get(AgreementRow, space.agreements["window"])
    landed = record_landing(c.node, agreement=agreement, pid=pid, part=part, declared=declared, fmt="parquet",
                            slot="range-test")
    ctl.finish(pid, landed.to_json(), None)
    assert landed.path.read_bytes() == space.source.read_bytes()


def _cli_pull(space: Space, agreement: str, failpoints: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PASSERELLE_FAILPOINTS": failpoints, "PYTHONPATH": str(ROOT)}
    code = "import sys; from connector.commands.transfer import pull; pull(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, "--agreement", agreement, "--dir",
                           str(space.consumer.node.config.path.parent)], env=env, capture_output=True, text=True,
                          timeout=120, start_new_session=True)


def test_consumer_killed_mid_transfer_lands_exactly_once(space: Space) -> None:
    agreement = negotiate(space.consumer, space.provider, space.dataset, OPEN_OFFER["@id"])
    killed = _cli_pull(space, agreement, "ingest.mid_stream=kill")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _landings(space, agreement) == []
    killed = _cli_pull(space, agreement, "ingest.after_rename=kill")     # landed on disk, not yet recorded
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _landings(space, agreement) == []
    done = _cli_pull(space, agreement)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "landed:" in done.stdout
    again = _cli_pull(space, agreement)
    assert again.returncode == 0 and "already landed" in again.stdout
    rows = _landings(space, agreement)
    assert len(rows) == 1 and Path(rows[0].path).read_bytes() == space.source.read_bytes()
