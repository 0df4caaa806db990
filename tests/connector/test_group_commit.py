"""Group commit: members of one group share a COMMIT, each is durable when it returns, a failing member is rolled
back alone, a failed COMMIT fails every member; the same interface holds for lone transactions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from connector.store import GroupCommit, GroupCommitError, make_engine


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    with eng.begin() as c:
        c.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
    yield eng
    eng.dispose()


def _rows(engine) -> list[tuple[int, str]]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text("SELECT id, who FROM item ORDER BY id"))]


def _wait_for_waiters(group: GroupCommit, n: int) -> None:
    """Block until ``n`` threads queue for the shared connection: the group's turn queue is watched, so that each
    thread joining it wakes this one (a condition, not a timer)."""
    with group._lock:
        assert group._turn.arrived.wait_for(lambda: group._waiting >= n, timeout=30), group._waiting


class _WatchedTurn(threading.Condition):
    """The group's turn queue, telling ``arrived`` each time a thread starts waiting in it."""

    def __init__(self, lock) -> None:  # type: ignore[no-untyped-def]
        super().__init__(lock)
        self.arrived = threading.Condition(lock)

    def wait(self, timeout=None):  # type: ignore[no-untyped-def]
        self.arrived.notify_all()   # the lock is held here, as a wait requires
        return super().wait(timeout)


def _watched(group: GroupCommit) -> GroupCommit:
    group._turn = _WatchedTurn(group._lock)
    return group


def _queued_behind(group: GroupCommit, hold, others) -> None:
    """Run ``hold(inside, release)`` in a thread until it sets ``inside`` within its transaction, start ``others``
    so that they queue behind it, then ``release`` it: they run in its group. Returns once every thread ended."""
    _watched(group)
    inside, release = threading.Event(), threading.Event()
    t0 = threading.Thread(target=hold, args=(inside, release))
    t0.start()
    assert inside.wait(30)
    rest = [threading.Thread(target=f) for f in others]
    for t in rest:
        t.start()
    _wait_for_waiters(group, len(rest))
    release.set()
    for t in [t0, *rest]:
        t.join(30)


def test_concurrent_members_share_one_commit(engine):
    group = GroupCommit(lambda: engine)
    errors: list[BaseException] = []

    def first(inside: threading.Event, release: threading.Event) -> None:
        with group.transaction() as conn:
            conn.execute(text("INSERT INTO item VALUES (1, 'first')"))
            inside.set()
            release.wait(30)   # hold the connection until the others queue behind

    def member(i: int) -> None:
        try:
            with group.transaction() as conn:
                conn.execute(text("INSERT INTO item VALUES (:i, 'member')"), {"i": i})
            assert (i, "member") in _rows(engine), "a member returns only once its row is committed"
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    _queued_behind(group, first, [lambda i=i: member(i) for i in range(2, 6)])
    assert not errors
    assert [r[0] for r in _rows(engine)] == [1, 2, 3, 4, 5]
    assert group.members == 5 and group.groups < 5   # several members shared a commit


def test_a_failing_member_is_rolled_back_alone(engine):
    group = GroupCommit(lambda: engine)
    outcome: dict[str, object] = {}

    def first(inside: threading.Event, release: threading.Event) -> None:
        with group.transaction() as conn:
            conn.execute(text("INSERT INTO item VALUES (1, 'kept')"))
            inside.set()
            release.wait(30)

    def failing() -> None:
        try:
            with group.transaction() as conn:
                conn.execute(text("INSERT INTO item VALUES (2, 'dropped')"))
                raise ValueError("refused")
        except ValueError as e:
            outcome["failing"] = e

    def duplicate() -> None:
        try:
            with group.transaction() as conn:
                conn.execute(text("INSERT INTO item VALUES (1, 'twin')"))   # primary key taken in this group
        except Exception as e:  # noqa: BLE001 - the driver's IntegrityError
            outcome["duplicate"] = e

    def last() -> None:
        with group.transaction() as conn:
            conn.execute(text("INSERT INTO item VALUES (3, 'kept')"))

    _queued_behind(group, first, [failing, duplicate, last])
    assert isinstance(outcome["failing"], ValueError)
    assert "duplicate" in outcome and not isinstance(outcome["duplicate"], GroupCommitError)
    assert _rows(engine) == [(1, "kept"), (3, "kept")]


def test_a_failed_commit_fails_every_member_and_keeps_nothing(engine):
    group = GroupCommit(lambda: engine)
    results: dict[int, BaseException | None] = {}

    def boom(_conn, _items) -> None:
        raise RuntimeError("disk full")

    def member(i: int, inside: threading.Event | None = None, release: threading.Event | None = None) -> None:
        try:
            with group.transaction() as conn:
                conn.execute(text("INSERT INTO item VALUES (:i, 'x')"), {"i": i})
                if i == 2:
                    group.at_commit_batch(boom, [i])
                if inside is not None and release is not None:
                    inside.set()
                    release.wait(30)
            results[i] = None
        except BaseException as e:  # noqa: BLE001
            results[i] = e

    _queued_behind(group, lambda inside, release: member(1, inside, release), [lambda: member(2), lambda: member(3)])
    assert all(isinstance(results[i], GroupCommitError) for i in (1, 2, 3)), results
    assert _rows(engine) == []
    with group.transaction() as conn:      # the next group starts afresh
        conn.execute(text("INSERT INTO item VALUES (9, 'after')"))
    assert _rows(engine) == [(9, "after")]


@pytest.mark.parametrize("grouped", [True, False])
def test_deferred_work_runs_in_order_before_commit_and_not_for_rolled_back_members(engine, grouped):
    group = GroupCommit(lambda: engine, grouped=grouped)

    def deferred(conn, items: list[int]) -> None:
        for i in items:
            conn.execute(text("INSERT INTO item VALUES (:j, 'deferred')"), {"j": 100 + i})

    for i, fail in ((1, False), (2, True), (3, False)):
        try:
            with group.transaction() as conn:
                conn.execute(text("INSERT INTO item VALUES (:i, 'row')"), {"i": i})
                group.at_commit_batch(deferred, [i])
                if fail:
                    raise KeyError("no")
        except KeyError:
            pass
    assert _rows(engine) == [(1, "row"), (3, "row"), (101, "deferred"), (103, "deferred")]
    with pytest.raises(RuntimeError):
        group.at_commit_batch(deferred, [0])    # outside a transaction
    with group.transaction():
        with pytest.raises(RuntimeError):
            with group.transaction():
                pass


def test_batched_work_of_a_group_runs_once_with_every_members_items_in_order(engine):
    group = _watched(GroupCommit(lambda: engine))
    calls: list[list[int]] = []
    order: list[int] = []     # members run one at a time: the order they ran in

    def write(c, items: list[int]) -> None:
        calls.append(list(items))
        for i in items:
            c.execute(text("INSERT INTO item VALUES (:j, 'batched')"), {"j": 100 + i})

    def first(inside: threading.Event, release: threading.Event) -> None:
        with group.transaction():
            group.at_commit_batch(write, [1, 2])
            inside.set()
            release.wait(30)

    def member(i: int, fail: bool) -> None:
        try:
            with group.transaction() as conn:
                conn.execute(text("INSERT INTO item VALUES (:i, 'member')"), {"i": i})
                order.append(i)
                group.at_commit_batch(write, [i])
                if fail:
                    raise KeyError("no")
        except KeyError:
            pass

    inside, release = threading.Event(), threading.Event()
    t0 = threading.Thread(target=first, args=(inside, release))
    t0.start()
    assert inside.wait(30)
    rest = []
    for n, (i, fail) in enumerate(((3, False), (4, True), (5, False)), start=1):
        rest.append(threading.Thread(target=member, args=(i, fail)))
        rest[-1].start()
        _wait_for_waiters(group, n)
    release.set()
    for t in [t0, *rest]:
        t.join(30)
    assert sorted(order) == [3, 4, 5]
    # one call for the whole group, in the order the members ran, the failed member's item left out
    assert calls == [[1, 2, *(i for i in order if i != 4)]]
    assert _rows(engine) == [(3, "member"), (5, "member"), (101, "batched"), (102, "batched"), (103, "batched"),
                             (105, "batched")]
    with pytest.raises(RuntimeError):
        group.at_commit_batch(write, [9])    # outside a transaction


def test_batched_work_of_a_lone_transaction_runs_with_its_own_items(engine):
    group = GroupCommit(lambda: engine, grouped=False)
    calls: list[list[str]] = []
    with group.transaction() as conn:
        group.at_commit_batch(lambda c, items: calls.append(items), ["a"])
        group.at_commit_batch(lambda c, items: calls.append(items), ["b"])   # another function: its own batch
        conn.execute(text("INSERT INTO item VALUES (1, 'lone')"))
    assert calls == [["a"], ["b"]] and _rows(engine) == [(1, "lone")]


def test_a_failing_first_member_rolls_back_its_transaction_and_the_next_member_opens_anew(engine):
    """The member that opens a group takes no savepoint: when it fails (here on the database's own error, which on
    PostgreSQL aborts the transaction) the whole transaction is rolled back and the members behind it go on."""
    group = GroupCommit(lambda: engine)
    with group.transaction() as conn:
        conn.execute(text("INSERT INTO item VALUES (1, 'kept')"))
    errors: list[BaseException] = []

    def failing_first(inside: threading.Event, release: threading.Event) -> None:
        try:
            with group.transaction() as conn:
                conn.execute(text("INSERT INTO item VALUES (2, 'dropped')"))
                inside.set()
                release.wait(30)
                conn.execute(text("INSERT INTO item VALUES (1, 'twin')"))   # primary key taken
        except Exception as e:  # noqa: BLE001 - the driver's IntegrityError
            errors.append(e)

    def member(i: int) -> None:
        with group.transaction() as conn:
            conn.execute(text("INSERT INTO item VALUES (:i, 'after')"), {"i": i})

    connection = group._conn
    _queued_behind(group, failing_first, [lambda i=i: member(i) for i in (3, 4)])
    assert len(errors) == 1 and "GroupCommitError" not in type(errors[0]).__name__
    assert _rows(engine) == [(1, "kept"), (3, "after"), (4, "after")]
    assert group._conn is connection      # the connection is kept: only its transaction was rolled back
