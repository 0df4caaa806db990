"""The outbox sender: delivers committed negotiation messages, retries with back-off, recovers after a crash.

A state change and the row of the message it causes commit together (``store.Work``). The process that committed
holds the row's lease and hands it to this sender at once (``wake``), so the hot path never waits on a polling
loop. Rows of one negotiation go out in order: the next one is taken by whoever completes the previous one, under
the negotiation's row lock. A failed delivery is retried after ``base × 2^(attempt-1)`` seconds; after
``max_attempts`` the negotiation is TERMINATED with the reason. At start-up, and every ``SCAN_SECONDS``, the sender
claims rows nobody holds: never leased, lease expired, or leased by a process of this host that no longer exists
(PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several workers or nodes never take the same row; SQLite: the engine's
``BEGIN IMMEDIATE`` serialises writers).
"""

from __future__ import annotations

import heapq
import logging
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from sqlalchemy import and_, exists, update
from sqlalchemy.orm import aliased
from sqlmodel import select

from .records import OutboxRow
from .store import LEASE_SECONDS

__all__ = ["Sender", "RETRYABLE", "SCAN_SECONDS"]

log = logging.getLogger("passerelle.negotiation.outbox")

#: statuses worth another try: the peer may be restarting, or may not have committed what we refer to yet
RETRYABLE = frozenset({404, 408, 409, 425, 429})
SCAN_SECONDS = 30.0


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _owner_gone(owner: str | None, me: str) -> bool:
    """A lease held by a process of this host that no longer runs can be taken at once."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return owner != me
    import psutil
    try:
        return psutil.Process(int(pid)).status() == psutil.STATUS_ZOMBIE   # killed, not yet reaped
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


class Sender:
    """One per process: a dispatcher thread, a small pool of delivery threads, a heap of scheduled retries."""

    def __init__(self, deliver: Callable[[int], float | None], engine: Callable[[], Any],
                 clock: Callable[[], float], *, workers: int = 8):
        self._deliver_fn = deliver
        self._engine = engine
        self._clock = clock
        self._workers = workers
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._queued: set[int] = set()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pid: int | None = None
        self._stop = False
        self.owner = owner_id()

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start in this process (again after a fork: threads do not survive one)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._cond:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            if self._pid != os.getpid():
                self.owner = owner_id()
                self._heap, self._queued = [], set()
                self._cond = threading.Condition()
            self._pid = os.getpid()
            self._stop = False
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="neg-outbox")
            self._thread = threading.Thread(target=self._run, name="neg-outbox-dispatch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._thread = None

    # -- scheduling ---------------------------------------------------------------------------------------------
    def wake(self, row_ids: list[int], delay: float = 0.0) -> None:
        """Deliver these rows (whose lease we hold) after ``delay`` seconds; starts the sender if needed."""
        self.start()
        if delay <= 0:   # the hot path: straight to a delivery thread, no hop through the dispatcher
            for rid in row_ids:
                if rid:
                    self._submit(rid)
            return
        due = time.monotonic() + delay
        with self._cond:
            for rid in row_ids:
                if rid and rid not in self._queued:
                    self._queued.add(rid)
                    heapq.heappush(self._heap, (due, rid))
            self._cond.notify()

    def _run(self) -> None:
        next_scan = 0.0  # the first pass recovers what an earlier process left
        while True:
            with self._cond:
                while True:
                    if self._stop:
                        return
                    now = time.monotonic()
                    while self._heap and self._heap[0][0] <= now:
                        _, rid = heapq.heappop(self._heap)
                        self._queued.discard(rid)
                        self._submit(rid)
                    if now >= next_scan:
                        break
                    self._cond.wait(min(next_scan, self._heap[0][0] if self._heap else next_scan) - now)
            try:
                claimed, held_until = self.claim()
            except Exception:  # the database may be briefly unavailable: try again at the next scan
                log.exception("outbox scan failed")
                claimed, held_until = [], None
            # look again when a lease held by someone else runs out, at the latest after SCAN_SECONDS
            wait = SCAN_SECONDS if held_until is None else min(SCAN_SECONDS, max(0.5, held_until - self._clock()))
            next_scan = time.monotonic() + wait
            for rid, at in claimed:
                self.wake([rid], delay=max(0.0, at - self._clock()))

    def _submit(self, rid: int) -> None:
        assert self._pool is not None
        self._pool.submit(self._safe_deliver, rid)

    def _safe_deliver(self, rid: int) -> None:
        try:
            again = self._deliver_fn(rid)
        except Exception:
            log.exception("delivery of outbox row %s failed", rid)
            again = 5.0
        if again is not None:
            self.wake([rid], delay=again)

    # -- claiming -----------------------------------------------------------------------------------------------
    def claim(self, limit: int = 100) -> tuple[list[tuple[int, float]], float | None]:
        """Take pending rows nobody holds (the first pending row of each negotiation only).

        Returns the rows taken as (id, due time) and the earliest expiry of the leases others still hold."""
        engine = self._engine()
        now = self._clock()
        earlier = aliased(OutboxRow)
        first_of_negotiation = ~exists().where(and_(earlier.negotiation_id == OutboxRow.negotiation_id,
                                                    earlier.status == "pending", earlier.id < OutboxRow.id))
        q = (select(OutboxRow.id, OutboxRow.lease_owner, OutboxRow.lease_until, OutboxRow.next_at)
             .where(OutboxRow.status == "pending", first_of_negotiation)
             .order_by(OutboxRow.id).limit(limit))  # type: ignore[arg-type]
        if engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=OutboxRow)  # type: ignore[call-arg]
        taken: list[tuple[int, float]] = []
        held: float | None = None
        with engine.begin() as conn:
            for rid, owner, until, next_at in conn.execute(q).all():
                if owner == self.owner:
                    taken.append((rid, next_at))
                    continue
                if owner is not None and until is not None and until > now and not _owner_gone(owner, self.owner):
                    held = until if held is None else min(held, until)
                    continue
                conn.execute(update(OutboxRow).where(OutboxRow.id == rid).values(  # type: ignore[arg-type]
                    lease_owner=self.owner, lease_until=max(now, next_at) + LEASE_SECONDS))
                taken.append((rid, next_at))
        return taken, held
