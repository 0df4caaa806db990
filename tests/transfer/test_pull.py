"""Pulls between real nodes: formats, verification, landing once, refusals with reasons and nothing served."""

from __future__ import annotations

import hashlib

import httpx
import pyarrow.parquet as pq
import pytest

from connector.transfer.ingest import LocalControl, PullError, pull
from transfer_kit import Space, transfers


def _pull(space: Space, key: str, fmt: str = "parquet", **kw):  # type: ignore[no-untyped-def]
    c = space.consumer
    return pull(c.node, c.trust, LocalControl(transfers(c)), space.agreements[key], fmt=fmt, **kw)


def test_parquet_pull_lands_the_published_file_once(space: Space) -> None:
    first = _pull(space, "open")
    assert first.path.read_bytes() == space.source.read_bytes()
    assert first.sha256 == hashlib.sha256(space.source.read_bytes()).hexdigest()
    assert not first.duplicate and first.rows == 6000
    again = _pull(space, "open")
    assert again.duplicate and again.path == first.path
    views = transfers(space.consumer).list(agreement=space.agreements["open"])
    assert views[0]["state"] == "COMPLETED"
    assert space.sent.problems() == []
