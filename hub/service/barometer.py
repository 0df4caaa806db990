"""The hub's barometer service: recompute when a campsite snapshot lands, keep every result, re-publish slices.

A landed snapshot (bookings, capacity, campsite dimension) is fingerprinted by the sha256 of its files. The first
caller with a new fingerprint claims it with one insert (the key is unique, so two workers or a retried pull never
compute twice), computes the barometer, writes the run's folder atomically and records it as ``done``. The current
result is the completed run with the newest snapshot; only it is re-published, so a late, older snapshot is kept
without replacing newer indicators.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import select

from hub.collection.atomic import sha256_file
from hub.service.records import LEASE_SECONDS, BarometerRun, claim_run, finish_run
from hub.service.results import read_tables, write_run

__all__ = ["BarometerService", "Claim", "on_snapshot_landed", "run_json", "LandedSnapshot", "LEASE_SECONDS"]

log = logging.getLogger(__name__)

KIND = "barometer"  # this service's runs in the shared run table


@dataclass(frozen=True)
class LandedSnapshot:
    """What a run rests on: the input files (with sha256) and the snapshot date asked for (None: the latest)."""

    bookings: Path
    capacity: Path
    campsites: Path | None = None
    snapshot: dt.date | None = None


@dataclass(frozen=True)
class Claim:
    """A recorded run and whether the caller holds it (then it computes it), with the files it rests on."""

    run: BarometerRun
    claimed: bool
    landed: LandedSnapshot


def _fingerprint(path: Path) -> dict[str, Any]:
    """sha256 and size of a file, or of a folder of export files (over the sorted names and their digests)."""
    path = Path(path).resolve()
    if path.is_file():
        return {"path": str(path), "sha256": sha256_file(path), "bytes": path.stat().st_size}
    if path.is_dir():
        h = hashlib.sha256()
        size = 0
        for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
            h.update(f"{f.relative_to(path)}\0{sha256_file(f)}\n".encode())
            size += f.stat().st_size
        return {"path": str(path), "sha256": h.hexdigest(), "bytes": size}
    raise FileNotFoundError(f"no such input: {path}")


def run_json(run: BarometerRun) -> dict[str, Any]:
    """A run as the API and the CLI show it."""
    return {"id": run.id, "kind": run.kind, "status": run.status, "snapshot_date": run.snapshot_date.isoformat()
            if run.snapshot_date else None, "engine": run.engine, "inputs": run.inputs, "tables": run.tables,
            "published": run.published, "seconds": run.seconds, "error": run.error, "result_dir": run.result_dir,
            "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at), "input_key": run.input_key}


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.isoformat()


class BarometerService:
    """One per node process. ``republish``: publish each région's slice after a run that became current."""

    def __init__(self, node: Any, *, engine: str = "duckdb", republish: bool = True, catalog: Any = None):
        self.node = node
        self.engine = engine
        self.republish = republish
        self.catalog = catalog
        self._cache: dict[int, dict[str, pa.Table]] = {}
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        return self.node.data_dir / "barometer"

    # -- computing ------------------------------------------------------------------------------------------------
    def on_snapshot_landed(self, bookings: str | Path, capacity: str | Path, campsites: str | Path | None = None,
                           snapshot: dt.date | str | None = None) -> BarometerRun:
        """Recompute for a snapshot that just landed; returns its run (an earlier one if these files were seen).

        Input problems (missing file, wrong columns, no such snapshot) end the run as ``failed`` with the message,
        and raise ``hub.indicators.InputError``/``FileNotFoundError`` to the caller.
        """
        return self.land(bookings, capacity, campsites, snapshot)[0]

    def land(self, bookings: str | Path, capacity: str | Path, campsites: str | Path | None = None,
             snapshot: dt.date | str | None = None) -> tuple[BarometerRun, bool]:
        """As :meth:`on_snapshot_landed`, and whether this call computed (False: known files, or being computed)."""
        claim = self.claim(bookings, capacity, campsites, snapshot)
        if not claim.claimed:
            return claim.run, False
        return self.run_claimed(claim), True

    def claim(self, bookings: str | Path, capacity: str | Path, campsites: str | Path | None = None,
              snapshot: dt.date | str | None = None) -> "Claim":
        """Fingerprint the files and record the run: the first caller with these files (and engine, snapshot) holds
        it and computes it with :meth:`run_claimed` (here or on another thread); the others get the run as
        recorded (``claimed`` False)."""
        if isinstance(snapshot, str):
            snapshot = dt.date.fromisoformat(snapshot)
        landed = LandedSnapshot(Path(bookings), Path(capacity), Path(campsites) if campsites else None, snapshot)
        inputs = {"bookings": _fingerprint(landed.bookings), "capacity": _fingerprint(landed.capacity)}
        if landed.campsites is not None:
            inputs["campsites"] = _fingerprint(landed.campsites)
        inputs["snapshot"] = snapshot.isoformat() if snapshot else None  # as asked (None: the latest in the file)
        key = hashlib.sha256(json.dumps({
            "snapshot": snapshot.isoformat() if snapshot else None, "engine": self.engine,
            "inputs": {k: v["sha256"] for k, v in inputs.items() if isinstance(v, dict)}},
            sort_keys=True).encode()).hexdigest()
        run, claimed = self._claim(key, inputs, snapshot)
        return Claim(run, claimed, landed)

    def run_claimed(self, claim: "Claim") -> BarometerRun:
        """Compute, store, record and re-publish a run this caller claimed; raises as :meth:`on_snapshot_landed`."""
        if not claim.claimed:
            raise ValueError(f"run {claim.run.id} is held by another caller")
        return self._compute(claim.run, claim.landed)

    def _claim(self, key: str, inputs: dict[str, Any], snapshot: dt.date | None) -> tuple[BarometerRun, bool]:
        """Insert the run, or take over a failed or abandoned one; False when someone else has it."""
        return claim_run(self.node, KIND, key, inputs, self.engine, snapshot)

    def _compute(self, run: BarometerRun, landed: LandedSnapshot) -> BarometerRun:
        from hub.indicators import compute_barometer
        t0 = time.perf_counter()
        try:
            tables = compute_barometer(landed.bookings, landed.capacity, landed.snapshot, self.engine,
                                       campsites=landed.campsites)
            snap = dt.date.fromisoformat(next(iter(tables.values())).schema.metadata[b"snapshot_date"].decode())
            seconds_compute = time.perf_counter() - t0
            directory = self.root / f"{snap.isoformat()}-run{run.id}"
            summary = {name: {"rows": t.num_rows,
                              "suppressed": int(pc.sum(pc.equal(t.column("status"), "suppressed")).as_py() or 0)}
                       for name, t in tables.items()}
            manifest = {"run": run.id, "snapshot_date": snap.isoformat(), "engine": self.engine,
                        "inputs": run.inputs, "tables": summary}
            if directory.exists():  # left by a worker that died before recording the run, which we now hold
                shutil.rmtree(directory)
            slices = write_run(tables, directory, manifest)
        except Exception as e:
            self._finish(run, status="failed", error=f"{type(e).__name__}: {e}", seconds=time.perf_counter() - t0)
            raise
        run = self._finish(run, status="done", snapshot_date=snap, result_dir=str(directory), tables=summary,
                           seconds=round(time.perf_counter() - t0, 3))
        with self._lock:
            self._cache[run.id] = tables  # type: ignore[index]
        log.info("barometer run %s: snapshot %s computed in %.2f s", run.id, snap, seconds_compute)
        if self.republish and self.current_id() == run.id:
            run = self.publish(run, slices, tables)
        return run

    def _finish(self, run: BarometerRun, **values: Any) -> BarometerRun:
        assert run.id is not None
        return finish_run(self.node, run.id, **values)

    def publish(self, run: BarometerRun, slices: dict[str, Path] | None = None,
                tables: dict[str, pa.Table] | None = None) -> BarometerRun:
        """Publish each région's slice of ``run`` as a dataset version of the hub; recorded on the run."""
        from catalog import MetadataError
        from hub.service.republish import publish_slices
        assert run.result_dir and run.snapshot_date and run.id is not None
        directory = Path(run.result_dir)
        if slices is None:
            slices = {p.stem: p for p in sorted((directory / "regions").glob("REG-*.csv"))}
        tables = tables or self.tables(run)
        weeks = tables["weekly"].column("week_start")
        span = (pc.min(weeks).as_py(), pc.max(weeks).as_py()) if len(weeks) else None
        try:
            published = publish_slices(self.node, slices, run.snapshot_date, run.id, span, service=self.catalog)
        except MetadataError as e:
            published = {"error": str(e), "problems": [p.message for p in e.problems]}
        return self._finish(run, published=published)

    # -- reading --------------------------------------------------------------------------------------------------
    def current(self) -> BarometerRun | None:
        """The completed run with the newest snapshot (the latest computed among equals)."""
        with self.node.session() as s:
            return s.exec(select(BarometerRun).where(BarometerRun.kind == KIND, BarometerRun.status == "done")
                          .order_by(BarometerRun.snapshot_date.desc(), BarometerRun.id.desc()).limit(1)).first()

    def current_id(self) -> int | None:
        run = self.current()
        return run.id if run else None

    def runs(self, limit: int = 50) -> list[BarometerRun]:
        with self.node.session() as s:
            return list(s.exec(select(BarometerRun).where(BarometerRun.kind == KIND)
                               .order_by(BarometerRun.id.desc()).limit(limit)).all())

    def run(self, run_id: int) -> BarometerRun | None:
        with self.node.session() as s:
            run = s.get(BarometerRun, run_id)
            return run if run is not None and run.kind == KIND else None

    def tables(self, run: BarometerRun) -> dict[str, pa.Table]:
        """A run's indicator tables, read once per process."""
        assert run.id is not None and run.result_dir
        with self._lock:
            cached = self._cache.get(run.id)
        if cached is None:
            cached = read_tables(Path(run.result_dir))
            with self._lock:
                self._cache = {run.id: cached, **{k: v for k, v in list(self._cache.items())[-3:]}}
        return cached

    def latest_inputs(self) -> LandedSnapshot | None:
        """The files of the most recent landed snapshot (any status), to recompute from."""
        for run in self.runs(limit=1):
            i = run.inputs
            asked = i.get("snapshot")
            return LandedSnapshot(Path(i["bookings"]["path"]), Path(i["capacity"]["path"]),
                                  Path(i["campsites"]["path"]) if "campsites" in i else None,
                                  dt.date.fromisoformat(asked) if asked else None)
        return None


def on_snapshot_landed(node: Any, bookings_path: str | Path, capacity_path: str | Path,
                       campsites_path: str | Path | None = None, snapshot: dt.date | str | None = None,
                       **kwargs: Any) -> BarometerRun:
    """Hook for collection and transfer: a campsite snapshot's files have landed at the hub; recompute now."""
    return BarometerService(node, **kwargs).on_snapshot_landed(bookings_path, capacity_path, campsites_path,
                                                                snapshot)
