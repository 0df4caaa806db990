"""Threads for the pipeline: Arrow's CSV parser, its compute kernels and the Parquet writer release the GIL, so
blocks are parsed and checked by a pool of threads (``ordered_map``) and written by another (``BackgroundWriter``)
while the main thread pseudonymises them in file order."""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["prefetch", "ordered_map", "BackgroundWriter", "WORKERS"]

WORKERS = max(2, min(4, os.cpu_count() or 2))  # threads that parse and check blocks

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int = WORKERS, ahead: int | None = None) -> Iterator[R]:
    """``fn(item)`` for each item in a pool of ``workers`` threads, results in the order of ``items``.

    At most ``ahead`` items (default ``workers + 1``) are submitted and not yet yielded, which bounds memory; the
    items are taken from ``items`` in the calling thread. An exception in ``fn`` is raised here, at its item's turn.
    When the consumer stops early, items not started are cancelled and running ones are waited for.
    """
    ahead = ahead or workers + 1
    pending: deque[Future[R]] = deque()
    pool = ThreadPoolExecutor(workers, thread_name_prefix="ingest-check")
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True)


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a thread, ``depth`` ahead; its exceptions are raised in the consumer."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((True, _END))
        except BaseException as e:  # handed to the consumer
            q.put((False, e))

    t = threading.Thread(target=run, name="ingest-read", daemon=True)
    t.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass
        t.join()


class BackgroundWriter:
    """Calls ``write`` in a thread for each submitted item; ``close`` waits and re-raises the first error."""

    def __init__(self, write: Callable[[Any], None], depth: int = 2) -> None:
        self._write = write
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._t = threading.Thread(target=self._run, name="ingest-write", daemon=True)
        self._t.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _END:
                return
            if self._error is None:
                try:
                    self._write(item)
                except BaseException as e:
                    self._error = e

    def submit(self, item: Any) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(item)

    def close(self) -> None:
        self._q.put(_END)
        self._t.join()
        if self._error is not None:
            raise self._error
