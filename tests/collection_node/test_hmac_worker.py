"""The HMACs of a large file may run in a second process: the published file is byte for byte the one computed
in-process, and the worker is gone when ingestion ends (also after a refusal)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hub.collection import ingest, pseudonymise
from hub.generate import generate_campsites

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate_campsites(out, campsites=2, season=2026, snapshot=dt.date(2026, 6, 15), seed=3, fmt="csv")
    return out / "bookings.csv"


def test_worker_gives_the_same_file(export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pseudonymise, "WORKER_MIN_VALUES", 16)
    started: list[object] = []
    real = pseudonymise.Pseudonymiser.start_worker

    def spy(self):  # type: ignore[no-untyped-def]
        real(self)
        started.append(self._worker)
    monkeypatch.setattr(pseudonymise.Pseudonymiser, "start_worker", spy)
    a = ingest(export, "campsite-bookings", tmp_path / "a", tmp_path / "q", KEY, 1, hmac_worker=True)
    b = ingest(export, "campsite-bookings", tmp_path / "b", tmp_path / "q", KEY, 1, hmac_worker=False)
    assert a.ok and b.ok and a.rows == b.rows > 20_000
    assert a.output_sha256 == b.output_sha256 and a.pseudonyms == b.pseudonyms
    assert len(started) == 1 and started[0]._proc.poll() is not None  # type: ignore[attr-defined]


def test_worker_stops_after_a_refusal(export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pseudonymise, "WORKER_MIN_VALUES", 16)
    lines = export.read_text(encoding="utf-8").splitlines()
    lines[500] = lines[500].replace(",67,", ",99,", 1) if ",67," in lines[500] else lines[500] + ",extra"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[object] = []
    real = pseudonymise.Pseudonymiser.close

    def spy(self):  # type: ignore[no-untyped-def]
        seen.append(self._worker)
        real(self)
    monkeypatch.setattr(pseudonymise.Pseudonymiser, "close", spy)
    r = ingest(bad, "campsite-bookings", tmp_path / "o", tmp_path / "q", KEY, 1, hmac_worker=True)
    assert not r.ok and seen and seen[0] is not None and seen[0]._proc.poll() is not None  # type: ignore[attr-defined]
