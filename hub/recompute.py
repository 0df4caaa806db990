"""Computations the hub starts when a pulled input lands, run off the pull's thread.

A landing hook (``connector.transfer.landing.after_landing``) hands each landed file to a recomputer: with the newest
landed file of every other kind its computation needs, the run is claimed at once in the service's run table (one
insert, unique per set of files: a pull that lands unchanged files, or a second worker, finds the run there and
starts nothing) and computed on one background thread, so the pull — the scheduler's or ``POST
/api/transfers/pull`` — never waits for the indicators. Until every kind has landed, the outcome says what is missing.
A run that fails is recorded as ``failed`` with its error. The barometer (``hub.service.landing``) and the
sustainable-tourism indicators (``hub.sustainable.landing``) are the two recomputers.
"""

from __future__ import annotations

import logging
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["LandingRecomputer", "recomputer_of", "kind_by_columns", "newest_landed"]

log = logging.getLogger(__name__)

_KEPT = 100  # computations a recomputer remembers for wait()
R = TypeVar("R", bound="LandingRecomputer")


def kind_by_columns(path: str | Path, kinds: Mapping[str, Iterable[str]]) -> str | None:
    """The first kind whose columns a landed Parquet file has, or None (not Parquet, unreadable, or no kind)."""
    p = Path(path)
    if p.suffix != ".parquet":
        return None
    try:
        st = p.stat()
    except OSError:
        return None
    names = _columns(str(p), st.st_size, st.st_mtime_ns)
    if names is None:
        return None
    return next((kind for kind, columns in kinds.items() if set(columns) <= names), None)


@lru_cache(maxsize=4096)
def _columns(path: str, size: int, mtime_ns: int) -> frozenset[str] | None:
    """Landed files are named by their sha256: a path, size and time seen once keep their columns."""
    try:
        import pyarrow.parquet as pq
        return frozenset(pq.read_schema(path).names)
    except Exception:  # noqa: BLE001 - not a Parquet file we can read: no kind
        return None


def newest_landed(node: Any, kind_of: Callable[[str], str | None], kinds: int) -> dict[str, Path]:
    """The newest file the node landed of each kind (``kind_of`` of its path; kinds not landed yet are absent)."""
    from connector.transfer.ingest import landed
    found: dict[str, Path] = {}
    for item in landed(node):  # newest first
        kind = kind_of(item["path"])
        if kind is not None and kind not in found and Path(item["path"]).is_file():
            found[kind] = Path(item["path"])
            if len(found) == kinds:
                break
    return found


class LandingRecomputer(ABC):
    """One per node process and computation: claims the run of each complete set of landed files, computes it on
    one background thread. ``wait()`` returns once every computation started so far (the last hundred) has ended:
    tests, and a process that must not exit first."""

    #: the computation's name: the key of the landing's outcome (and ``<name>_run``), and the thread's name
    name: str = ""

    def __init__(self, node: Any, service: Any = None):
        self.node = node
        self._service = service
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._futures: list[Future[Any]] = []

    @abstractmethod
    def make_service(self) -> Any:
        """The service that claims and computes runs (``claim``, ``run_claimed``, ``run``)."""

    @abstractmethod
    def latest(self) -> dict[str, Path]:
        """The newest landed file of each kind the computation takes (kinds not landed yet are absent)."""

    @abstractmethod
    def waiting(self, files: dict[str, Path]) -> str | None:
        """What is still missing from ``files`` (the outcome's text), or None when the set is complete."""

    @abstractmethod
    def claim(self, files: dict[str, Path]) -> Any:
        """Claim the run of a complete set of files (``.run``, ``.claimed``)."""

    @property
    def service(self) -> Any:
        with self._lock:
            if self._service is None:
                self._service = self.make_service()
            return self._service

    def on_landed(self, path: str | Path, kind: str) -> dict[str, Any]:
        """The outcome of a landed file: waiting for another kind, a run started, or the run these files had."""
        files = {**self.latest(), kind: Path(path)}
        missing = self.waiting(files)
        if missing:
            return {self.name: f"waiting: {missing}"}
        claim = self.claim(files)
        run = claim.run
        if not claim.claimed:
            return {self.name: f"run {run.id} {run.status} (these files were seen before)", f"{self.name}_run": run.id}
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-recompute")
            self._futures = self._futures[-(_KEPT - 1):] + [self._executor.submit(self._compute, claim)]
        log.info("%s run %s: %s landed, computing from %s", self.name, run.id, kind,
                 ", ".join(f"{k}={p.name}" for k, p in sorted(files.items())))
        return {self.name: f"run {run.id} started", f"{self.name}_run": run.id}

    def _compute(self, claim: Any) -> Any:
        try:
            return self.service.run_claimed(claim)
        except Exception as e:  # noqa: BLE001 - recorded on the run as failed; the landing stands
            log.warning("%s run %s failed: %s", self.name, claim.run.id, e)
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


_RECOMPUTERS: "weakref.WeakKeyDictionary[Any, dict[type, LandingRecomputer]]" = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def recomputer_of(cls: type[R], node: Any, service: Any = None) -> R:
    """The node's recomputer of class ``cls`` in this process (one per node object); ``service`` is used when this
    call creates it."""
    with _REGISTRY_LOCK:
        mine = _RECOMPUTERS.setdefault(node, {})
        found = mine.get(cls)
        if found is None:
            found = mine[cls] = cls(node, service)
        return found  # type: ignore[return-value]
