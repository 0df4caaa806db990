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

__all__ = ["ordered_map", "Relay", "BackgroundWriter", "WORKERS"]

WORKERS = max(2, min(4, os.cpu_count() or 2))  # threads that parse and check blocks

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None,
                ahead: int | None = None) -> Iterator[R]:
    """``fn(item)`` for each item in a pool of ``workers`` threads, results in the order of ``items``.

    At most ``ahead`` items (default ``workers + 1``) are submitted and not yet yielded, which bounds memory; the
    items are taken from ``items`` in the calling thread. An exception in ``fn`` is raised here, at its item's turn.
    When the consumer stops early, items not started are cancelled and running ones are waited for.
    """
    workers = workers or WORKERS
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


class Relay:
    """Hands each item's result to the task of the next item: ``put(k, value)`` once per item (None if it failed),
    ``take(k)`` waits for item ``k``'s value and forgets it. With ``ordered_map`` the task of item ``k - 1`` started
    before the task of item ``k``, so waiting for it cannot deadlock; ``close`` releases any waiter with None."""

    def __init__(self) -> None:
        self._values: dict[int, Any] = {}
        self._cond = threading.Condition()
        self._closed = False

    def put(self, k: int, value: Any) -> None:
        with self._cond:
            self._values[k] = value
            self._cond.notify_all()

    def take(self, k: int) -> Any:
        with self._cond:
            self._cond.wait_for(lambda: k in self._values or self._closed)
            return self._values.pop(k, None)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._values.clear()
            self._cond.notify_all()


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
