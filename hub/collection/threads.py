"""Overlap I/O with validation: the CSV reader and the Parquet writer release the GIL, so a reading thread and a
writing thread keep both cores busy while the main thread validates and pseudonymises."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["prefetch", "BackgroundWriter"]

T = TypeVar("T")
_END = object()


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
