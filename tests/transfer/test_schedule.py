"""Recurring pulls: a missed slot runs once on restart, a repeated slot ingests once, failures are retried with
back-off, and the outcome shows in the API, the CLI and the page. The clock is passed in: nothing waits."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlmodel import select

from connector.commands.transfer import transfers as transfers_cmd
from connector.scheduler import PullScheduler, ScheduleError, parse_schedule
from connector.transfer.records import IngestRow
from transfer_kit import OPEN_OFFER, Space, negotiate


def _ingests(space: Space, agreement: str) -> list[IngestRow]:
    with space.consumer.node.session() as s:
        return list(s.exec(select(IngestRow).where(IngestRow.agreement_id == agreement)).all())


def test_parse_schedule() -> None:
    assert parse_schedule("mon 06:00").fields
    assert parse_schedule("daily 23:30") and parse_schedule("0 6 * * mon") and parse_schedule("weekly tue 07:15")
    for bad in ("", "someday 06:00", "mon 25:00", "every week"):
        with pytest.raises(ScheduleError):
            parse_schedule(bad)


def test_missed_slot_runs_once_and_a_repeated_slot_ingests_once(space: Space) -> None:
    agreement = negotiate(space.consumer, space.provider, space.dataset, OPEN_OFFER["@id"])
    sched = space.consumer.app.config["SCHEDULER"]
    r = space.consumer.api("PUT", f"/api/agreements/{agreement}/schedule", {"schedule": "mon 06:00"})
    assert r.status_code == 200, r.text
    assert space.consumer.api("PUT", f"/api/agreements/{agreement}/schedule",
                              {"schedule": "someday"}).status_code == 400
    created = space.live.clock.utcnow()
    later = created + dt.timedelta(days=15)            # the node was down for two fire times
    runs = sched.catch_up(now=later)
    mine = [x for x in runs if x["agreement"] == agreement]
    assert len(mine) == 1 and mine[0]["status"] == "done", mine
    slot = dt.datetime.fromisoformat(mine[0]["slot"])
    assert slot.weekday() == 0 and slot.hour == 6 and later - dt.timedelta(days=7) < slot <= later
    assert len(_ingests(space, agreement)) == 1
    # restarted: a new scheduler over the same database has nothing to catch up
    again = PullScheduler(space.consumer.node, sched.pull)
    assert [x for x in again.catch_up(now=later) if x["agreement"] == agreement] == []
    # the same slot asked again, and the pull itself repeated for that slot: still one ingestion
    assert again.run_slot(agreement, mine[0]["slot"])["status"] == "done"
    assert sched.pull(agreement, "parquet", mine[0]["slot"])["duplicate"] is True
    assert len(_ingests(space, agreement)) == 1
    # the next week's slot lands again under its own slot key (same file: a new slot, one row each)
    nxt = sched.catch_up(now=later + dt.timedelta(days=7))
    assert [x["status"] for x in nxt if x["agreement"] == agreement] == ["done"]
    assert len(_ingests(space, agreement)) == 2
    # visible in the API, the CLI and the page
    body = space.consumer.api("GET", f"/api/transfers?agreement={agreement}").json()
    assert {x["status"] for x in body["runs"]} == {"done"} and body["schedules"]
    out = CliRunner().invoke(transfers_cmd, ["--dir", str(space.consumer.node.config.path.parent)])
    assert out.exit_code == 0 and "run        done" in out.output and "schedule   mon 06:00" in out.output
    import httpx
    page = httpx.get(space.consumer.url + "/transferts", cookies={"passerelle_admin": space.consumer.node.admin_token})
    assert page.status_code == 200 and "Collectes planifiées" in page.text and "reçu" in page.text


def test_failed_run_is_retried_with_back_off(space: Space) -> None:
    agreement = negotiate(space.consumer, space.provider, space.dataset, OPEN_OFFER["@id"])
    calls: list[str] = []

    def flaky(agreement_id: str, fmt: str, slot: str) -> dict:
        calls.append(slot)
        if len(calls) < 3:
            raise RuntimeError("provider unreachable")
        return {"duplicate": False, "sha256": "ab" * 32}
    sched = PullScheduler(space.consumer.node, flaky, retry_base=30.0, max_attempts=5)
    sched.set_schedule(agreement, "daily 06:00")
    now = space.live.clock.utcnow() + dt.timedelta(days=1, hours=1)
    first = [x for x in sched.catch_up(now=now) if x["agreement"] == agreement]
    assert first[0]["status"] == "retrying" and first[0]["attempts"] == 1 and "unreachable" in first[0]["error"]
    # not due yet: nothing runs
    assert [x for x in sched.catch_up(now=now) if x["agreement"] == agreement] == []
    second = [x for x in sched.catch_up(now=now + dt.timedelta(seconds=31)) if x["agreement"] == agreement]
    assert second[0]["status"] == "retrying" and second[0]["attempts"] == 2      # next after 60 s
    assert sched.run_slot(agreement, first[0]["slot"], now=now + dt.timedelta(seconds=60))["attempts"] == 2
    third = sched.run_slot(agreement, first[0]["slot"], now=now + dt.timedelta(seconds=92))
    assert third["status"] == "done" and third["attempts"] == 3
    assert len(set(calls)) == 1 and len(calls) == 3
    sched.remove(agreement)


def test_a_stopped_scheduler_stays_stopped(space: Space) -> None:
    """stop() ends the lease renewals too: a tick that fires or was running when stop() came (a renewal that
    failed included) does not start the timer again; a stand-by scheduler, by contrast, keeps trying."""
    sched = PullScheduler(space.consumer.node, lambda *a: {}, retry_base=60.0, max_attempts=3)
    sched.start()                 # holds the lease or stands by: either way a renewal timer runs
    assert sched._renew is not None
    sched.stop()
    assert sched._renew is None and sched._aps is None
    sched._tick()                 # as a timer that fired just as stop() came
    sched._arm(1.0)               # as a failed renewal's retry
    assert sched._renew is None and sched._aps is None
    sched.start()                 # start() resumes
    assert sched._renew is not None
    sched.stop()
