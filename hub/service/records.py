"""The hub's record of each barometer computation: which snapshot and which input files it rests on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

__all__ = ["BarometerRun"]


class BarometerRun(SQLModel, table=True):
    """One computation of the barometer for one snapshot of the campsite export.

    ``input_key`` (sha256 over the snapshot date, the engine and the input files' sha256s) is unique: a file
    that lands twice, or in two workers at once, is computed once. ``status``: running | done | failed.
    """

    __tablename__ = "barometer_run"
    id: int | None = Field(default=None, primary_key=True)
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
