"""The drop folder: each file is ingested once (even with several scanners racing), moved to done/ or quarantine/,
files being written are left alone, and a file claimed by a process that died is processed again. A crash during
ingestion or before the version is recorded leaves the previous version published."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from connector.collection import DropFolderWatcher, process_drop_folder, process_drop_folders, submissions


def _current(live: Any, ident: str) -> int | None:
    ds = live.app.config["CATALOG"].catalogue().datasets.get(ident)
    return ds.version if ds else None


def _drop(live: Any, kit: Any) -> Path:
    d = live.node.config.base / "depot" / kit.DATASET
    d.mkdir(parents=True, exist_ok=True)
    return d


def _week(kit: Any, tmp: Path, n: int) -> bytes:
    rows = kit.good_rows()
    rows[-1]["amount_eur"] = f"{30 + n}.5"
    return kit.write_csv(tmp / f"w{n}.csv", rows).read_bytes()


def test_two_scanners_racing_process_each_file_once(provider: Any, kit: Any, tmp_path: Path) -> None:
    drop = _drop(provider, kit)
    for n in range(4):
        (drop / f"semaine-{n}.csv").write_bytes(_week(kit, tmp_path, n))
    start = threading.Barrier(3)
    results: list[list[Any]] = [[], [], []]

    def scan(i: int) -> None:
        start.wait()
        results[i] = process_drop_folder(provider.node, kit.DATASET, min_age=0)

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(s.original_name for r in results for s in r)
    assert names == [f"semaine-{n}.csv" for n in range(4)]  # each file once, by exactly one scanner
    assert sorted(s.version for r in results for s in r) == [1, 2, 3, 4]
    assert _current(provider, kit.DATASET) == 4
    assert len(list((drop / "done").iterdir())) == 4
    assert [p.name for p in drop.iterdir() if p.is_file()] == [] and not list((drop / ".claimed").iterdir())
    assert process_drop_folder(provider.node, kit.DATASET, min_age=0) == []  # nothing left: nothing twice


def test_rejected_file_goes_to_quarantine_with_its_report(provider: Any, kit: Any, tmp_path: Path) -> None:
    drop = _drop(provider, kit)
    rows = kit.good_rows()
    rows[0]["dep_code"] = "99"
    rows[5]["status"] = "PENDING"
    kit.write_csv(drop / "export.csv", rows)
    (subs,) = [process_drop_folders(provider.node, min_age=0)]
    assert [s.status for s in subs] == ["rejected"] and _current(provider, kit.DATASET) is None
    (kept,) = [p for p in (drop / "quarantine").iterdir() if not p.name.endswith(".report.json")]
    report = json.loads((drop / "quarantine" / (kept.name + ".report.json")).read_text())
    assert report["counts"] == {"enum": 1, "insee_code": 1}
    problems = {(p["row"], p["column"], p["rule"]) for p in report["report"]["problems"]}
    assert problems == {(2, "dep_code", "insee_code"), (7, "status", "enum")}
    assert not (drop / "done").exists() or not list((drop / "done").iterdir())


def test_files_being_written_are_left_alone(provider: Any, kit: Any, tmp_path: Path) -> None:
    drop = _drop(provider, kit)
    data = _week(kit, tmp_path, 1)
    (drop / "export.csv.part").write_bytes(data)
    (drop / ".export.csv").write_bytes(data)
    (drop / "fresh.csv").write_bytes(data)
    (drop / "lien.csv").symlink_to(provider.node.config.path)  # never followed
    clock = provider.node.clock
    clock.t = (drop / "fresh.csv").stat().st_mtime + 1  # written one second ago
    assert process_drop_folder(provider.node, kit.DATASET, min_age=5) == []
    clock.advance(10)
    subs = process_drop_folder(provider.node, kit.DATASET, min_age=5)
    assert [s.original_name for s in subs] == ["fresh.csv"]
    assert (drop / "export.csv.part").exists() and (drop / ".export.csv").exists() and (drop / "lien.csv").is_symlink()


def test_a_claim_left_by_a_dead_process_is_processed_again(provider: Any, kit: Any, tmp_path: Path) -> None:
    """A scanner SIGKILLed after claiming a file: the next scan puts the file back and publishes it once."""
    drop = _drop(provider, kit)
    process_drop_folder(provider.node, kit.DATASET, min_age=0)  # creates .claimed/
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    token = f"{pid}-{'0' * 32}"
    (drop / ".claimed" / f"{token}.csv").write_bytes(_week(kit, tmp_path, 7))
    (drop / ".claimed" / f"{token}.json").write_text(json.dumps({"name": "semaine-27.csv"}))
    subs = process_drop_folder(provider.node, kit.DATASET, min_age=0)
    assert [(s.original_name, s.status, s.version) for s in subs] == [("semaine-27.csv", "published", 1)]
    assert not list((drop / ".claimed").iterdir())


def test_watcher_tick_processes_the_folders(provider: Any, kit: Any, tmp_path: Path) -> None:
    drop = _drop(provider, kit)
    (drop / "w.csv").write_bytes(_week(kit, tmp_path, 2))
    watcher = DropFolderWatcher(provider.node, min_age=0)
    assert [s.status for s in watcher.tick()] == ["published"]
    assert watcher.tick() == []


def test_crash_while_ingesting_or_recording_keeps_the_previous_version(provider: Any, kit: Any, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    drop = _drop(provider, kit)
    (drop / "v1.csv").write_bytes(_week(kit, tmp_path, 1))
    assert [s.version for s in process_drop_folder(provider.node, kit.DATASET, min_age=0)] == [1]
    published = provider.node.data_dir / "published" / kit.DATASET
    before = sorted(p.name for p in published.iterdir())

    # a failure in the middle of the pipeline (the disk, not the file): the file stays in the folder for the
    # next scan, and nothing new is published
    from hub.collection import validate

    def failing(self, *a, **kw):  # type: ignore[no-untyped-def]
        raise OSError("disk gone")
    monkeypatch.setattr(validate.Validator, "check", failing)
    from connector.collection import collect
    (drop / "v2.csv").write_bytes(_week(kit, tmp_path, 2))
    with pytest.raises(OSError):
        process_drop_folder(provider.node, kit.DATASET, min_age=0)
    monkeypatch.undo()
    assert _current(provider, kit.DATASET) == 1 and sorted(p.name for p in published.iterdir()) == before
    assert (drop / "v2.csv").exists() and not list((drop / ".claimed").iterdir())
    assert [s.version for s in process_drop_folder(provider.node, kit.DATASET, min_age=0)] == [2]
    before = sorted(p.name for p in published.iterdir())

    # a file that makes processing fail every time is set aside after MAX_TRIES scans, with the error
    from connector.collection.dropfolder import MAX_TRIES
    monkeypatch.setattr(validate.Validator, "check", failing)
    (drop / "v9.csv").write_bytes(_week(kit, tmp_path, 9))
    for _ in range(MAX_TRIES):
        with pytest.raises(OSError):
            process_drop_folder(provider.node, kit.DATASET, min_age=0)
    monkeypatch.undo()
    assert not (drop / "v9.csv").exists()
    (report,) = (drop / "quarantine").glob("*-v9.csv.report.json")
    assert "failed 3 times: OSError: disk gone" in json.loads(report.read_text())["message"]

    # a failure after the Parquet file landed, before the version row is written
    service = provider.app.config["CATALOG"]
    def no_db(*a, **kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("database unavailable")
    monkeypatch.setattr(service, "publish", no_db)
    with pytest.raises(RuntimeError):
        collect(provider.node, kit.DATASET, kit.write_csv(tmp_path / "v3.csv", kit.good_rows()), via="depot",
                service=service)
    monkeypatch.undo()
    assert _current(provider, kit.DATASET) == 2 and sorted(p.name for p in published.iterdir()) == before
    staging = provider.node.data_dir / "collection" / kit.DATASET / "staging"
    assert [p for p in staging.iterdir() if not p.name.startswith(".")] == []
    # and once things are back, the same file publishes
    sub = collect(provider.node, kit.DATASET, tmp_path / "v3.csv", via="depot")
    assert sub.status == "published" and sub.version == 3
    assert [s.status for s in submissions(provider.node, kit.DATASET)][:2] == ["published", "published"]


def test_each_worker_starts_its_watcher_on_its_first_request(provider: Any) -> None:
    import httpx
    app = provider.app
    app.config["COLLECTION_WATCH"] = True
    assert "COLLECTION_WATCHER" not in app.config
    httpx.get(provider.url + "/.well-known/dspace-version")
    watcher = app.config["COLLECTION_WATCHER"]
    try:
        assert isinstance(watcher, DropFolderWatcher) and watcher._thread is not None and watcher._thread.is_alive()
        httpx.get(provider.url + "/.well-known/dspace-version")
        assert app.config["COLLECTION_WATCHER"] is watcher  # once per process
    finally:
        watcher.stop()
    assert not watcher._thread.is_alive()


_KILLED_SCANNER = """
import os, signal, sys
from dataclasses import replace
from connector.config import load_config
from connector.node import Node
from connector.collection import settings, process_drop_folder
from hub.collection import validate
settings.CollectionSettings.limits = lambda self: replace(settings.Limits(), csv_block_bytes=65536)
real, calls = validate.Validator.check, [0]
def check(self, *a, **k):
    calls[0] += 1
    if calls[0] == 3:  # two blocks validated: the power goes
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, *a, **k)
validate.Validator.check = check
process_drop_folder(Node(load_config(sys.argv[1])), sys.argv[2], min_age=0)
"""


def test_sigkill_mid_ingestion_keeps_the_previous_version_and_the_file_is_published_later(
        provider: Any, kit: Any, tmp_path: Path) -> None:
    import datetime as dt
    from hub.generate import generate_campsites
    ident = "resa-grande"  # the fixture's dataset takes 256 KiB at most; this one 64 MiB
    kit.add_datasets(provider, kit.SECTION.replace("{max_bytes}", str(64 << 20)).replace(kit.DATASET, ident))
    drop = provider.node.config.base / "depot" / ident
    drop.mkdir(parents=True)
    (drop / "v1.csv").write_bytes(_week(kit, tmp_path, 1))
    assert [s.version for s in process_drop_folder(provider.node, ident, min_age=0)] == [1]
    gen = tmp_path / "gen"
    generate_campsites(gen, campsites=2, season=2026, snapshot=dt.date(2026, 6, 15), seed=5, fmt="csv")
    (gen / "bookings.csv").rename(drop / "semaine-25.csv")
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run([sys.executable, "-c", _KILLED_SCANNER, str(provider.node.config.path), ident],
                           cwd=root, capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    # killed with the file claimed, two blocks validated: nothing new is visible
    assert _current(provider, ident) == 1
    assert len(list((drop / ".claimed").glob("*.csv"))) == 1
    staging = provider.node.data_dir / "collection" / ident / "staging"
    assert not staging.exists() or not [p for p in staging.iterdir() if not p.name.startswith(".")]
    # the next scan puts the file back, removes the dead writer's leftovers and publishes it, once
    subs = process_drop_folder(provider.node, ident, min_age=0)
    assert [(s.original_name, s.status, s.version) for s in subs] == [("semaine-25.csv", "published", 2)], subs[0].message
    assert [p.suffix for p in staging.iterdir()] == [] and not list((drop / ".claimed").iterdir())
