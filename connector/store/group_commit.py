"""Group commit: short write transactions of one process share physical transactions, one COMMIT for several.

A protocol message is a few small statements, but its commit waits for the disk (SQLite: an fsync of the WAL;
PostgreSQL: a WAL flush) while holding the write lock (SQLite's database lock; the audit log's head row). Run one
at a time, commits cap a node at a few hundred changes per second whatever the CPU. Here each logical transaction
runs under its own SAVEPOINT on the process's shared connection; when it ends, it either commits the whole group
(nobody else is waiting, or the group is full) or hands the connection to the next thread and waits for that
group's COMMIT. Every member returns only once its changes are durable, a member that fails is rolled back to its
savepoint alone, and a failed COMMIT fails every member of the group. Execution order is commit order, so the
result is that of running the members one after another.

Work that takes a lock every writer needs (the audit log's head row) is deferred with
:meth:`GroupCommit.at_commit_batch` and run by the group's leader just before COMMIT: the items of every member for
one function are handed to it together, once, in member order (the audit entries of a whole group are appended in
two statements, not two per member). The group then takes that lock last and holds it only through the commit, as
a lone transaction would.

Grouping is for SQLite, where one lock covers the whole database, and for PostgreSQL when one process serves the
node. With several processes on PostgreSQL a group's row locks would be held until its COMMIT while members of
another process's group wait for them and hold their own: groups of several processes would wait on each other.
There each transaction stands alone (``grouped=False``: same interface, its own connection, deferred work run just
before its own COMMIT), and the server's own group commit joins the WAL flushes of concurrent commits. A lone
process on PostgreSQL that groups sends about a quarter of the COMMITs it would alone, and its server spent a third
less CPU per negotiation (docs/negotiation.md).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from connector.store.raw import Statement

__all__ = ["GroupCommit", "GroupCommitError"]


_SAVEPOINT = Statement("SAVEPOINT group_member")
_ROLLBACK_TO = Statement("ROLLBACK TO SAVEPOINT group_member")


class _Deferred:
    """Work deferred to just before COMMIT: one batch per function, in the order of each function's first items,
    gathering the items given for it."""

    def __init__(self) -> None:
        self._batches: dict[Callable[[Any, list[Any]], None], list[Any]] = {}   # insertion order is run order

    def __bool__(self) -> bool:
        return bool(self._batches)

    def add(self, fn: Callable[[Any, list[Any]], None], items: list[Any]) -> None:
        self._batches.setdefault(fn, []).extend(items)

    def extend(self, other: "_Deferred") -> None:
        for fn, items in other._batches.items():
            self.add(fn, items)

    def run(self, conn: Any) -> None:
        for fn, items in self._batches.items():
            fn(conn, items)


class GroupCommitError(RuntimeError):
    """The shared COMMIT failed: this member's changes are not in the database."""


class GroupCommit:
    """One per process and engine. ``transaction()`` yields a Core Connection inside the member's savepoint."""

    def __init__(self, engine: Callable[[], Any], *, max_group: int = 16, grouped: bool = True):
        self._engine = engine
        self._max_group = max_group
        self._grouped = grouped
        # one lock, two queues: a thread waiting for the connection is woken alone when it is free, and members
        # waiting for their COMMIT all at once when it is done (one queue for both woke every waiter at each step)
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._busy = False        # a thread is using the shared connection
        self._waiting = 0         # threads waiting for their turn
        self._conn: Any = None    # the shared connection, inside a transaction while a group is open
        self._outer: Any = None   # that transaction
        self._members = 0         # members that ran in the open group
        self._generation = 0      # the open group's number
        self._outcome: dict[int, BaseException | None] = {}   # closed groups → None (committed) or the error
        self._deferred = _Deferred()                            # run by the leader before COMMIT, in order
        self._local = threading.local()
        self._tail = threading.Lock()   # lone transactions: deferred work and COMMIT, one thread at a time
        self._pid = os.getpid()
        self.groups = 0           # committed groups, and members in them (figures for benchmarks)
        self.members = 0

    @property
    def grouped(self) -> bool:
        """Whether transactions share commits (else each stands alone, on its own connection)."""
        return self._grouped

    def _after_fork(self) -> None:
        # a forked worker must not share the parent's connection (nor its half-open group)
        if self._pid != os.getpid():
            self.__init__(self._engine, max_group=self._max_group, grouped=self._grouped)  # type: ignore[misc]

    @contextmanager
    def transaction(self, *, deferred_only: bool = False) -> Iterator[Any]:
        """A logical transaction: committed (durably) when the block ends, rolled back alone if it raises.

        ``deferred_only``: the block runs no statement, it only defers work (:meth:`at_commit_batch`), so it
        needs no savepoint: a failure drops its deferred work and leaves the group's changes as they were."""
        self._after_fork()
        if getattr(self._local, "inside", False):
            raise RuntimeError("group commit transactions do not nest")
        if not self._grouped:
            with self._alone() as conn:
                yield conn
            return
        with self._lock:
            self._waiting += 1
            while self._busy:
                self._turn.wait()
            self._waiting -= 1
            self._busy = True
            generation = self._generation
        self._local.inside = True
        self._local.deferred = _Deferred()
        failure: BaseException | None = None
        opened = self._outer is None   # the group's first member: nothing of others to keep if it fails
        try:
            if opened:
                engine = self._engine()
                if self._conn is None or self._conn.engine is not engine:
                    # one connection serves group after group (a checkout, its reset and checkin cost more than
                    # the statements of a member); dropped after a failure, or when the node's engine changed
                    self._drop_connection()
                    self._conn = engine.connect()
                self._outer = self._conn.begin()
            # members run strictly one after another, so one savepoint name serves them all: each member's
            # savepoint shadows the earlier ones, and ROLLBACK TO reaches the latest, its own. They are never
            # released (the COMMIT ends them all), which saves a round trip per member on PostgreSQL. Issued on
            # the driver (SQLAlchemy's savepoint objects cost more than the statements of a typical member). The
            # first member needs none: if it fails, the whole transaction is rolled back.
            if not opened and not deferred_only:
                _SAVEPOINT.count(self._conn)
            try:
                yield self._conn
            except BaseException as exc:
                failure = exc
                if opened:
                    self._outer.rollback()
                elif not deferred_only:
                    _ROLLBACK_TO.count(self._conn)
            else:
                self._deferred.extend(self._local.deferred)
        except BaseException as exc:   # the savepoint itself failed: the connection is suspect, end the group
            failure = failure or exc
            self._close_group(exc)
            self._local.inside = False
            raise
        finally:
            self._local.inside = False
        if opened and failure is not None:
            self._abandon_group()
            raise failure
        self._finish(generation)
        if failure is not None:
            raise failure

    @contextmanager
    def _alone(self) -> Iterator[Any]:
        self._local.inside = True
        self._local.deferred = _Deferred()
        try:
            with self._engine().connect() as conn:
                outer = conn.begin()
                try:
                    yield conn
                    if self._local.deferred:
                        # the deferred work takes a lock every writer needs: the process's writers queue for it
                        # here, one at a time, rather than all on the server, where each commit would wake every
                        # waiter to find the row locked again by the next
                        with self._tail:
                            self._local.deferred.run(conn)
                            outer.commit()
                    else:
                        outer.commit()
                finally:
                    if outer.is_active:
                        outer.rollback()
        finally:
            self._local.inside = False
        with self._lock:
            self.groups += 1
            self.members += 1

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection is being thrown away
                pass

    def at_commit_batch(self, fn: Callable[[Any, list[Any]], None], items: list[Any]) -> None:
        """Add ``items`` to the group's batch for ``fn``: just before the group commits, ``fn(connection, items)``
        runs once with the items of every member that added to it, in member order (dropped with a member that
        rolls back)."""
        if not getattr(self._local, "inside", False):
            raise RuntimeError("at_commit_batch outside a group commit transaction")
        self._local.deferred.add(fn, items)

    def _finish(self, generation: int) -> None:
        with self._lock:
            if self._outer is not None and self._generation == generation:
                self._members += 1
                lead = self._waiting == 0 or self._members >= self._max_group
            else:
                lead = False     # the group was closed under us (a failed savepoint): its outcome is recorded
            if not lead and self._outer is not None and self._generation == generation:
                self._busy = False          # let the next member run in this group; its leader commits for us
                self._turn.notify()
                while generation not in self._outcome:
                    self._done.wait()
                error = self._outcome[generation]
                if error is not None:
                    raise GroupCommitError(f"the shared commit failed: {error}") from error
                return
        if lead:
            error: BaseException | None = None
            try:
                self._deferred.run(self._conn)
                self._outer.commit()
            except BaseException as exc:  # noqa: BLE001 - reported to every member of the group
                error = exc
            self._close_group(error)
            if error is not None:
                raise GroupCommitError(f"the shared commit failed: {error}") from error
            return
        with self._lock:
            error = self._outcome.get(generation)
        if error is not None:
            raise GroupCommitError(f"the shared commit failed: {error}") from error

    def _abandon_group(self) -> None:
        """The first member failed and its transaction is rolled back: nobody else joined, the next opens anew."""
        with self._lock:
            self._outer = None
            self._deferred = _Deferred()
            self._members = 0
            self._busy = False
            self._turn.notify()

    def _close_group(self, error: BaseException | None) -> None:
        """End the open group (committed, or failed with ``error``) and let the next thread open a new one."""
        outer = self._outer
        if error is not None:
            if outer is not None:
                try:
                    if outer.is_active:
                        outer.rollback()
                except Exception:  # noqa: BLE001 - the connection is discarded below anyway
                    pass
            self._drop_connection()
        with self._lock:
            if error is None:
                self.groups += 1
                self.members += self._members
            self._outcome[self._generation] = error
            for old in [g for g in self._outcome if g < self._generation - 64]:
                del self._outcome[old]
            self._generation += 1
            self._outer = None
            self._deferred = _Deferred()
            self._members = 0
            self._busy = False
            self._turn.notify()
            self._done.notify_all()
