"""The hub recomputes the sustainable-tourism indicators when a pulled input lands.

``connector.transfer.landing.after_landing`` hands each file the hub lands to :func:`on_input_landed` when its
columns are those of an input of ``compute_sustainable`` (energy, employment, arrivals or trips). With the newest
landed file of every other kind, that is a set of four inputs: the run is claimed at once in the run table (one
insert, unique per set of files: a pull that lands unchanged files, or a second worker, finds the run there and
starts nothing) and computed on the node's recompute thread, so the pull that landed the file — the scheduler's, or a
``POST /api/transfers/pull`` — does not wait for the indicators. Until every kind has landed, the outcome says which
inputs are missing. The computation checks the four files against their declared schemas first; a file that does not
conform fails the run (recorded with the validator's row and column) and is kept in quarantine.
"""

from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from hub.sustainable.catalogue import REQUIRED

__all__ = ["input_kind", "latest_inputs", "on_input_landed", "Recomputer", "recomputer"]

log = logging.getLogger(__name__)

_KEPT = 100  # computations a recomputer remembers for wait()


def input_kind(path: str | Path) -> str | None:
    """``energy``, ``employment``, ``arrivals``, ``trips`` or None, from a landed Parquet file's columns."""
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
    except Exception:  # noqa: BLE001 - not a Parquet file we can read: not an input
        return None
    return next((kind for kind, columns in REQUIRED.items() if set(columns) <= names), None)


def latest_inputs(node: Any) -> dict[str, Path]:
    """The newest file the node landed of each input kind (those not landed yet are absent)."""
    from connector.transfer.ingest import landed
    found: dict[str, Path] = {}
    for item in landed(node):  # newest first
        kind = input_kind(item["path"])
        if kind is not None and kind not in found and Path(item["path"]).is_file():
            found[kind] = Path(item["path"])
            if len(found) == len(REQUIRED):
                break
    return found


class Recomputer:
    """One per node process: claims the run of each completed set of inputs, computes it on one background thread.

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
                from hub.sustainable.service import SustainableService
                self._service = SustainableService(self.node, catalog=CatalogService(self.node))
            return self._service

    def on_landed(self, path: str | Path, kind: str) -> dict[str, Any]:
        """The outcome of a landed input: waiting for other inputs, a run started, or the run these files had."""
        inputs = {**latest_inputs(self.node), kind: Path(path)}
        missing = [k for k in REQUIRED if k not in inputs]
        if missing:
            return {"sustainable": f"waiting: no {', '.join(missing)} file has landed yet"}
        claim = self.service.claim(inputs)
        run = claim.run
        if not claim.claimed:
            return {"sustainable": f"run {run.id} {run.status} (these files were seen before)",
                    "sustainable_run": run.id}
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sustainable-recompute")
            self._futures = self._futures[-(_KEPT - 1):] + [self._executor.submit(self._compute, claim)]
        log.info("sustainable run %s: %s landed, computing from %s", run.id, kind,
                 ", ".join(f"{k}={p.name}" for k, p in sorted(inputs.items())))
        return {"sustainable": f"run {run.id} started", "sustainable_run": run.id}

    def _compute(self, claim: Any) -> Any:
        try:
            return self.service.run_claimed(claim)
        except Exception as e:  # noqa: BLE001 - recorded on the run as failed; the landing stands
            log.warning("sustainable run %s failed: %s", claim.run.id, e)
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


_RECOMPUTERS: "weakref.WeakKeyDictionary[Any, Recomputer]" = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def recomputer(node: Any) -> Recomputer:
    """The node's recomputer in this process (one per node object)."""
    with _REGISTRY_LOCK:
        found = _RECOMPUTERS.get(node)
        if found is None:
            found = _RECOMPUTERS[node] = Recomputer(node)
        return found


def on_input_landed(node: Any, path: str | Path, kind: str | None = None) -> dict[str, Any] | None:
    """Hook for the transfer's landing on the hub: ``path`` is a landed file; None when it is not an input."""
    kind = kind or input_kind(path)
    if kind is None:
        return None
    return recomputer(node).on_landed(path, kind)
