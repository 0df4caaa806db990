"""The hub's recurring pulls: APScheduler jobs persisted in the node's database, one scheduler per node.

Each agreement may carry a schedule (``mon 06:00``, ``daily 06:00`` or a crontab line ``0 6 * * mon``, UTC). A run
is one *slot* (the schedule's fire time): it pulls the dataset's latest version under the agreement with
``slot`` = the fire time, so a slot pulled twice (a crash between pull and commit, two workers) lands once — the
ingestion is unique per (agreement, slot, sha256) — and its outcome (``pull_run``: done, duplicate, retrying,
failed, attempts, error) is kept. A failed run is retried after ``retry_base × 2^(attempt−1)`` seconds, up to
``max_attempts``. When the node was down at a fire time, the next start runs the latest missed slot once
(``catch_up``: missed slots are coalesced) — APScheduler's own misfire handling is set the same way
(``coalesce=True``, no grace limit).

Several worker processes: the scheduler runs in whichever process holds the ``scheduler_lease`` row (taken and renewed
in the database, 60 s), so one node runs one scheduler; the others stand by and take over when the lease lapses.
Tests drive ``catch_up``/``run_slot`` with an injected clock instead of waiting for real fire times.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
from typing import Any, Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from connector.transfer.records import PullRunRow, ScheduleRow, SchedulerLease

__all__ = ["ScheduleError", "PullScheduler", "parse_schedule", "scheduler_of"]

log = logging.getLogger("passerelle.scheduler")
LEASE = 60.0
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_REGISTRY: dict[str, "PullScheduler"] = {}


class ScheduleError(ValueError):
    pass


def parse_schedule(text: str) -> Any:
    """``mon 06:00`` | ``daily 06:00`` | ``weekly mon 06:00`` | a 5-field crontab line → an APScheduler trigger."""
    from apscheduler.triggers.cron import CronTrigger
    words = (text or "").strip().lower().split()
    try:
        if len(words) == 5:
            return CronTrigger.from_crontab(" ".join(words), timezone="UTC")
        if words and words[0] == "weekly":
            words = words[1:]
        if len(words) == 2 and ":" in words[1]:
            hour, minute = (int(x) for x in words[1].split(":"))
            if words[0] == "daily":
                return CronTrigger(hour=hour, minute=minute, timezone="UTC")
            days = words[0].split(",")
            if all(d in _DAYS for d in days):
                return CronTrigger(day_of_week=words[0], hour=hour, minute=minute, timezone="UTC")
    except ValueError as e:
        raise ScheduleError(f"schedule {text!r}: {e}") from None
    raise ScheduleError(f"schedule {text!r}: expected 'mon 06:00', 'daily 06:00' or a crontab line '0 6 * * mon'")


def scheduler_of(app: Any) -> "PullScheduler":
    return app.config["SCHEDULER"]


def _fire(config_path: str, agreement_id: str) -> None:
    """The job APScheduler stores (a module-level function and plain arguments, so it pickles)."""
    sched = _REGISTRY.get(config_path)
    if sched is not None:
        sched.catch_up(agreement_id=agreement_id)


class PullScheduler:
    def __init__(self, node: Any, pull: Callable[[str, str, str], dict[str, Any]], *, retry_base: float = 60.0,
                 max_attempts: int = 5):
        """``pull(agreement_id, fmt, slot)`` does one pull and returns the landing (``duplicate`` says if the file
        was already there)."""
        self.node = node
        self.pull = pull
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._aps: Any = None
        self._renew: threading.Timer | None = None
        self._stopped = False   # stop() ends the renewals too; a stand-by scheduler keeps trying for the lease
        self._lock = threading.Lock()

    # -- schedules -----------------------------------------------------------------------------------------------
    def set_schedule(self, agreement_id: str, cron: str, fmt: str = "parquet") -> dict[str, Any]:
        parse_schedule(cron)
        from connector.transfer.formats import FORMATS
        if fmt not in FORMATS:
            raise ScheduleError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
        with self.node.session() as s:
            row = s.get(ScheduleRow, agreement_id)
            if row is None:
                row = ScheduleRow(agreement_id=agreement_id, cron=cron, format=fmt, enabled=True,
                                  created_at=self.node.clock.utcnow())
            else:
                row.cron, row.format, row.enabled = cron, fmt, True
            s.add(row)
            s.commit()
            view = self._view(row)
        self._add_job(agreement_id, cron)
        return view

    def remove(self, agreement_id: str) -> bool:
        with self.node.session() as s:
            row = s.get(ScheduleRow, agreement_id)
            if row is None:
                return False
            s.delete(row)
            s.commit()
        if self._aps is not None:
            try:
                self._aps.remove_job(f"pull:{agreement_id}")
            except Exception:  # noqa: BLE001 - no such job
                pass
        return True

    def _view(self, row: ScheduleRow) -> dict[str, Any]:
        now = self.node.clock.utcnow()
        nxt = parse_schedule(row.cron).get_next_fire_time(None, now)
        return {"agreement": row.agreement_id, "schedule": row.cron, "format": row.format, "enabled": row.enabled,
                "last_slot": row.last_slot, "next_slot": nxt.isoformat() if nxt else None}

    def schedules(self) -> list[dict[str, Any]]:
        with self.node.session() as s:
            return [self._view(r) for r in s.exec(select(ScheduleRow)).all()]

    def runs(self, agreement_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        with self.node.session() as s:
            q = select(PullRunRow)
            if agreement_id:
                q = q.where(PullRunRow.agreement_id == agreement_id)
            rows = s.exec(q.order_by(PullRunRow.id.desc()).limit(limit)).all()  # type: ignore[union-attr]
            return [_run_json(r) for r in rows]

    # -- slots ---------------------------------------------------------------------------------------------------
    def due_slot(self, row: ScheduleRow, now: dt.datetime) -> dt.datetime | None:
        """The latest fire time ≤ now after the last slot run (None when nothing is due)."""
        trigger = parse_schedule(row.cron)
        start = dt.datetime.fromisoformat(row.last_slot) if row.last_slot else row.created_at
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.timezone.utc)
        due, t = None, trigger.get_next_fire_time(None, start + dt.timedelta(seconds=1))
        for _ in range(10_000):
            if t is None or t > now:
                break
            due = t
            t = trigger.get_next_fire_time(t, t + dt.timedelta(seconds=1))
        return due

    def catch_up(self, now: dt.datetime | None = None, agreement_id: str | None = None) -> list[dict[str, Any]]:
        """Run what is due: the latest missed slot of each schedule (once), and retries whose time has come."""
        now = now or self.node.clock.utcnow()
        out = []
        with self.node.session() as s:
            q = select(ScheduleRow).where(ScheduleRow.enabled == True)  # noqa: E712
            if agreement_id:
                q = q.where(ScheduleRow.agreement_id == agreement_id)
            schedules = list(s.exec(q).all())
            retries = list(s.exec(select(PullRunRow).where(PullRunRow.status == "retrying")).all())
        for row in schedules:
            slot = self.due_slot(row, now)
            if slot is not None:
                out.append(self.run_slot(row.agreement_id, slot.isoformat(), fmt=row.format, now=now))
        for run in retries:
            if (run.next_at or 0) <= now.timestamp() and (agreement_id is None or run.agreement_id == agreement_id):
                fmt = next((r.format for r in schedules if r.agreement_id == run.agreement_id), "parquet")
                out.append(self.run_slot(run.agreement_id, run.slot, fmt=fmt, now=now))
        return out

    def run_slot(self, agreement_id: str, slot: str, *, fmt: str = "parquet",
                 now: dt.datetime | None = None) -> dict[str, Any]:
        """Run one slot; a slot already done (or being retried later) is not pulled again."""
        now = now or self.node.clock.utcnow()
        with self.node.session() as s:
            run = s.exec(select(PullRunRow).where(PullRunRow.agreement_id == agreement_id, PullRunRow.slot == slot)
                         .with_for_update()).first()
            if run is None:
                run = PullRunRow(agreement_id=agreement_id, slot=slot, status="running", attempts=0, started_at=now)
                s.add(run)
                try:
                    s.flush()
                except IntegrityError:
                    s.rollback()
                    return self.runs(agreement_id, 1)[0]
            elif run.status in ("done", "duplicate", "failed") or (run.status == "retrying"
                                                                     and (run.next_at or 0) > now.timestamp()):
                return _run_json(run)
            run.status, run.attempts = "running", run.attempts + 1
            sched = s.get(ScheduleRow, agreement_id)
            if sched is not None and (sched.last_slot is None or sched.last_slot < slot):
                sched.last_slot = slot
                s.add(sched)
            s.add(run)
            s.commit()
            run_id = run.id
        try:
            landed = self.pull(agreement_id, fmt, slot)
            status, error, sha = ("duplicate" if landed.get("duplicate") else "done"), None, landed.get("sha256")
        except Exception as e:  # noqa: BLE001 - every failure is recorded with the run and retried
            status, error, sha = "retrying", f"{type(e).__name__}: {e}"[:2000], None
        with self.node.session() as s:
            run = s.get(PullRunRow, run_id)
            assert run is not None
            run.error, run.sha256 = error, sha or run.sha256
            if status == "retrying":
                if run.attempts >= self.max_attempts:
                    run.status, run.finished_at = "failed", self.node.clock.utcnow()
                else:
                    run.status = "retrying"
                    run.next_at = now.timestamp() + self.retry_base * 2 ** (run.attempts - 1)
            else:
                run.status, run.finished_at, run.next_at = status, self.node.clock.utcnow(), None
            s.add(run)
            s.commit()
            return _run_json(run)

    # -- the APScheduler side -------------------------------------------------------------------------------------
    def _take_lease(self) -> bool:
        now = self.node.clock.now()
        with self.node.session() as s:
            row = s.exec(select(SchedulerLease).where(SchedulerLease.name == "pulls").with_for_update()).first()
            if row is None:
                s.add(SchedulerLease(name="pulls", owner=self.owner, until=now + LEASE))
            elif row.owner == self.owner or row.until < now:
                row.owner, row.until = self.owner, now + LEASE
                s.add(row)
            else:
                return False
            try:
                s.commit()
            except IntegrityError:
                return False
        return True

    def start(self) -> bool:
        """Run the scheduler in this process if it holds the node's lease (else stand by and try again)."""
        with self._lock:
            self._stopped = False
            if not self._take_lease():
                self._arm(LEASE / 2)
                return False
            if self._aps is None:
                from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
                from apscheduler.schedulers.background import BackgroundScheduler
                _REGISTRY[str(self.node.config.path)] = self
                self._aps = BackgroundScheduler(
                    jobstores={"default": SQLAlchemyJobStore(engine=self.node.engine, tablename="apscheduler_jobs")},
                    job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1}, timezone="UTC")
                self._aps.start()
                for s in self.schedules():
                    self._add_job(s["agreement"], s["schedule"])
                threading.Thread(target=self._safe_catch_up, name="pull-catch-up", daemon=True).start()
            self._arm(LEASE / 3)
            return True

    def _safe_catch_up(self) -> None:
        try:
            self.catch_up()
        except Exception:  # noqa: BLE001
            log.exception("catching up missed pulls failed")

    def _arm(self, delay: float) -> None:
        if self._stopped:   # a tick that was running when stop() came must not start the timer again
            return
        if self._renew is not None:
            self._renew.cancel()
        self._renew = threading.Timer(delay, self._tick)
        self._renew.daemon = True
        self._renew.start()

    def _tick(self) -> None:
        try:
            if self._stopped:
                return
            if self._aps is not None and not self._take_lease():
                self._release()   # stand by: the jobs stop here, the timer goes on
                self._arm(LEASE / 2)
            elif self._aps is None:
                self.start()
            else:
                self._arm(LEASE / 3)
                self.catch_up()   # retries whose time has come
        except Exception:  # noqa: BLE001
            log.exception("scheduler lease renewal failed")
            self._arm(LEASE / 2)

    def _add_job(self, agreement_id: str, cron: str) -> None:
        if self._aps is None:
            return
        self._aps.add_job(_fire, parse_schedule(cron), args=[str(self.node.config.path), agreement_id],
                          id=f"pull:{agreement_id}", replace_existing=True)

    def stop(self) -> None:
        """Stop running jobs and trying for the lease (until ``start`` again)."""
        self._stopped = True
        self._release()

    def _release(self) -> None:
        if self._renew is not None:
            self._renew.cancel()
            self._renew = None
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None


def _run_json(r: PullRunRow) -> dict[str, Any]:
    return {"agreement": r.agreement_id, "slot": r.slot, "status": r.status, "attempts": r.attempts,
            "sha256": r.sha256, "error": r.error, "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "next_attempt": dt.datetime.fromtimestamp(r.next_at, dt.timezone.utc).isoformat() if r.next_at else None}
