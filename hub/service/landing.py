"""The hub recomputes the campsite barometer when a pulled bookings snapshot or capacity table lands.

``connector.transfer.landing.after_landing`` hands each file the hub lands to :func:`on_file_landed` when its
columns are those of a campsite bookings snapshot or of a capacity table. With the newest landed file of the other
kind, that is the pair the barometer rests on: the run is claimed at once in the run table (one insert, unique per
pair of files: a pull that lands unchanged files, or a second worker, finds the run there and starts nothing) and
computed on the node's barometer thread, so the pull that landed the file — the scheduler's, or a
``POST /api/transfers/pull`` — does not wait for the indicators. Until both kinds have landed, the outcome says which
one is missing. A run that fails is recorded as ``failed`` with its error (``GET /api/barometre/runs``), as when a
snapshot is landed through ``POST /api/barometre/snapshots``.
"""

from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["BOOKINGS_COLUMNS", "CAPACITY_COLUMNS", "snapshot_kind", "latest_snapshot", "on_file_landed",
           "BarometerRecomputer", "barometer_recomputer"]

log = logging.getLogger(__name__)

BOOKINGS_COLUMNS = frozenset({"booking_pid", "campsite_pid", "stay_date", "nights"})
CAPACITY_COLUMNS = frozenset({"campsite_pid", "date", "unit_type", "units_available"})
_KEPT = 100  # computations a recomputer remembers for wait()


def snapshot_kind(path: str | Path) -> str | None:
    """``bookings``, ``capacity`` or None, from a landed Parquet file's columns."""
    p = Path(path)
    if p.suffix != ".parquet":
        return None
    try:
        st = p.stat()
    except OSError:
        return None
    return _kind(str(p), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=4096)
def _kind(path: str, size: int, mtime_ns: int) -> str | None:
    """Landed files are named by their sha256: a path, size and time seen once keep their kind."""
    try:
        import pyarrow.parquet as pq
        names = set(pq.read_schema(path).names)
    except Exception:  # noqa: BLE001 - not a Parquet file we can read: nothing to do
        return None
    if BOOKINGS_COLUMNS <= names:
        return "bookings"
    if CAPACITY_COLUMNS <= names:
        return "capacity"
    return None


def latest_snapshot(node: Any) -> dict[str, Path]:
    """The newest bookings snapshot and capacity table the node landed (those not landed yet are absent)."""
    from connector.transfer.ingest import landed
    found: dict[str, Path] = {}
    for item in landed(node):  # newest first
        kind = snapshot_kind(item["path"])
        if kind is not None and kind not in found and Path(item["path"]).is_file():
            found[kind] = Path(item["path"])
            if len(found) == 2:
                break
    return found


class BarometerRecomputer:
    """One per node process: claims the run of each landed pair of files, computes it on one background thread.

    ``wait()`` returns once every computation started so far (the last hundred) has ended: tests, and a process that
    must not exit first.
    """

    def __init__(self, node: Any, service: Any = None):
        self.node = node
        self._service = service
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._futures: list[Future[Any]] = []

    @property
    def service(self) -> Any:
        with self._lock:
            if self._service is None:
                from connector.catalog_service import CatalogService
                from hub.service.barometer import BarometerService
                self._service = BarometerService(self.node, catalog=CatalogService(self.node))
            return self._service

    def on_landed(self, path: str | Path, kind: str) -> dict[str, Any]:
        """The outcome of a landed file: waiting for the other kind, a run started, or the run these files had."""
        files = {**latest_snapshot(self.node), kind: Path(path)}
        if "capacity" not in files:
            return {"barometer": "waiting: a capacity table has not landed yet"}
        if "bookings" not in files:
            return {"barometer": "waiting: a bookings snapshot has not landed yet"}
        claim = self.service.claim(files["bookings"], files["capacity"])
        run = claim.run
        if not claim.claimed:
            return {"barometer": f"run {run.id} {run.status} (these files were seen before)", "barometer_run": run.id}
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="barometer-recompute")
            self._futures = self._futures[-(_KEPT - 1):] + [self._executor.submit(self._compute, claim)]
        log.info("barometer run %s: %s landed, computing from bookings=%s capacity=%s", run.id, kind,
                 files["bookings"].name, files["capacity"].name)
        return {"barometer": f"run {run.id} started", "barometer_run": run.id}

    def _compute(self, claim: Any) -> Any:
        try:
            return self.service.run_claimed(claim)
        except Exception as e:  # noqa: BLE001 - recorded on the run as failed; the landing stands
            log.warning("barometer run %s failed: %s", claim.run.id, e)
            return self.service.run(claim.run.id)

    def wait(self, timeout: float | None = None) -> list[Any]:
        """The runs computed so far (as recorded at their end), once each has ended."""
        with self._lock:
            futures = list(self._futures)
        return [f.result(timeout) for f in futures]

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


_RECOMPUTERS: "weakref.WeakKeyDictionary[Any, BarometerRecomputer]" = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def barometer_recomputer(node: Any, service: Any = None) -> BarometerRecomputer:
    """The node's barometer recomputer in this process (one per node object); ``service``, the barometer service it
    computes with when this call creates it (by default the hub's ``BarometerService``)."""
    with _REGISTRY_LOCK:
        found = _RECOMPUTERS.get(node)
        if found is None:
            found = _RECOMPUTERS[node] = BarometerRecomputer(node, service)
        return found


def on_file_landed(node: Any, path: str | Path, kind: str | None = None) -> dict[str, Any] | None:
    """Hook for the transfer's landing on the hub: ``path`` is a landed file; None when it is neither a bookings
    snapshot nor a capacity table."""
    kind = kind or snapshot_kind(path)
    if kind is None:
        return None
    return barometer_recomputer(node).on_landed(path, kind)
