"""The hub's record of each indicator computation: which kind, which snapshot and which input files it rests on.

Both the campsite barometer (kind ``barometer``) and the sustainable-tourism dashboard (kind ``sustainable``) keep
their runs in this one table; each service reads only its own kind.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import JSON, Column, Text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select

__all__ = ["BarometerRun", "KINDS", "LEASE_SECONDS", "claim_run", "finish_run"]

KINDS = ("barometer", "sustainable")
#: a run still "running" after this long is taken to have died with its worker and may be claimed again
LEASE_SECONDS = 15 * 60


class BarometerRun(SQLModel, table=True):
    """One computation of one kind of indicators for one set of input files.

    ``input_key`` (sha256 over what the computation depends on: the input files' sha256s, the engine and, per kind,
    the snapshot date or the base year) is unique: a file that lands twice, or in two workers at once, is computed
    once. ``status``: running | done | failed (``error`` then says why). ``inputs`` names each file with its sha256.
    """

    __tablename__ = "barometer_run"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="barometer", max_length=16, index=True)
    input_key: str = Field(max_length=64, unique=True)
    snapshot_date: date | None = Field(default=None, index=True)
    status: str = Field(max_length=16, index=True)
    engine: str = Field(max_length=16)
    inputs: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    result_dir: str | None = Field(default=None, max_length=1024)
    tables: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    published: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    seconds: float | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_at: datetime
    finished_at: datetime | None = None


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def claim_run(node: Any, kind: str, key: str, inputs: dict[str, Any], engine: str,
              snapshot: date | None = None) -> tuple[BarometerRun, bool]:
    """Insert the run, or take over a failed or abandoned one; False when someone else has it (or it is done)."""
    if kind not in KINDS:
        raise ValueError(f"unknown run kind {kind!r}; expected one of {', '.join(KINDS)}")
    now = node.clock.utcnow()
    with node.session() as s:
        run = BarometerRun(kind=kind, input_key=key, snapshot_date=snapshot, status="running", engine=engine,
                           inputs=inputs, started_at=now)
        s.add(run)
        try:
            s.commit()
            s.refresh(run)
            return run, True
        except IntegrityError:
            s.rollback()
    with node.session() as s:
        run = s.exec(select(BarometerRun).where(BarometerRun.input_key == key)).one()
        stale = run.status == "running" and (now - _aware(run.started_at)).total_seconds() > LEASE_SECONDS
        if run.status == "failed" or stale:
            # take it over only if nobody else did since we read it
            res = s.execute(update(BarometerRun).where(BarometerRun.id == run.id,
                                                       BarometerRun.status == run.status,
                                                       BarometerRun.started_at == run.started_at)
                            .values(status="running", started_at=now, error=None, inputs=inputs, published=None))
            s.commit()
            if res.rowcount == 1:
                s.refresh(run)
                return run, True
        return run, False


def finish_run(node: Any, run_id: int, **values: Any) -> BarometerRun:
    """Record the outcome (or any later change, such as the publications) of a run; stamps ``finished_at``."""
    values["finished_at"] = node.clock.utcnow()
    with node.session() as s:
        row = s.get(BarometerRun, run_id)
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)
        s.add(row)
        s.commit()
        s.refresh(row)
        return row
