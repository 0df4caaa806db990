"""Tables of the transfer process and its data plane (migration 0008).

``transfer`` holds one DSP transfer process on either side (the sans-IO :class:`Transfer` as JSON in ``record``)
and, on the provider, its data-plane flow: the current access token's id (last token wins) and the hash of the
current refresh token (``spent`` keeps the hashes of rotated ones: presenting one again ends the transfer).
``transfer_outbox`` is the outbox of transfer messages, ``agreement_usage`` the provider's pull counter per
agreement, ``transfer_ingest`` the consumer's landed files (once per agreement, slot and sha256),
``pull_schedule`` / ``pull_run`` the hub's recurring pulls, ``scheduler_lease`` the one-scheduler-per-node lease.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Float, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["TransferRow", "TransferOutboxRow", "UsageRow", "IngestRow", "ScheduleRow", "PullRunRow",
           "SchedulerLease"]

_BIGINT = BigInteger().with_variant(Integer(), "sqlite")


class TransferRow(SQLModel, table=True):
    __tablename__ = "transfer"
    __table_args__ = (UniqueConstraint("role", "counterparty", "peer_pid", name="uq_transfer_peer"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    role: str = Field(max_length=16)
    own_pid: str = Field(max_length=256, unique=True)
    peer_pid: Optional[str] = Field(default=None, max_length=256, index=True)
    counterparty: str = Field(max_length=512, index=True)
    peer_address: Optional[str] = Field(default=None, max_length=1024)
    agreement_id: str = Field(max_length=512, index=True)
    dataset_id: Optional[str] = Field(default=None, max_length=1024)
    format: str = Field(max_length=64)
    state: str = Field(max_length=16, index=True)
    script: Optional[str] = Field(default=None, max_length=64)
    record: str = Field(sa_column=Column("record", Text, nullable=False))
    received: Optional[str] = Field(default=None, sa_column=Column("received", Text, nullable=True))
    reason: Optional[str] = Field(default=None, sa_column=Column("reason", Text, nullable=True))
    claims: Optional[str] = Field(default=None, sa_column=Column("claims", Text, nullable=True))
    token_jti: Optional[str] = Field(default=None, max_length=64)
    token_exp: Optional[float] = Field(default=None, sa_column=Column("token_exp", Float, nullable=True))
    refresh_hash: Optional[str] = Field(default=None, max_length=64)
    spent: Optional[str] = Field(default=None, sa_column=Column("spent", Text, nullable=True))
    outcome: Optional[str] = Field(default=None, sa_column=Column("outcome", Text, nullable=True))
    created_at: datetime = Field(sa_column=Column("created_at", DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column("updated_at", DateTime(timezone=True), nullable=False))


class TransferOutboxRow(SQLModel, table=True):
    __tablename__ = "transfer_outbox"

    id: Optional[int] = Field(default=None, sa_column=Column("id", _BIGINT, primary_key=True, autoincrement=True))
    transfer_id: int = Field(index=True)
    kind: str = Field(max_length=64)
    url: str = Field(max_length=2048)
    body: str = Field(sa_column=Column("body", Text, nullable=False))
    initial: bool = Field(sa_column=Column("initial", Boolean, nullable=False, default=False))
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=7)
    next_at: float = Field(sa_column=Column("next_at", Float, nullable=False))
    lease_owner: Optional[str] = Field(default=None, max_length=128)
    lease_until: Optional[float] = Field(default=None, sa_column=Column("lease_until", Float, nullable=True))
    last_error: Optional[str] = Field(default=None, sa_column=Column("last_error", Text, nullable=True))
    created_at: datetime = Field(sa_column=Column("created_at", DateTime(timezone=True), nullable=False))


class UsageRow(SQLModel, table=True):
    """Pulls served under an agreement (provider): the ``count`` the policy is judged with."""

    __tablename__ = "agreement_usage"

    agreement_id: str = Field(primary_key=True, max_length=512)
    used: int = Field(default=0)


class IngestRow(SQLModel, table=True):
    """A file the consumer landed: one per (agreement, slot, sha256)."""

    __tablename__ = "transfer_ingest"
    __table_args__ = (UniqueConstraint("agreement_id", "slot", "sha256", name="uq_ingest_slot"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    agreement_id: str = Field(max_length=512, index=True)
    dataset_id: str = Field(max_length=1024)
    slot: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    byte_size: int = Field(sa_column=Column("byte_size", _BIGINT, nullable=False))
    rows: Optional[int] = Field(default=None, sa_column=Column("rows", _BIGINT, nullable=True))
    format: str = Field(max_length=16)
    path: str = Field(max_length=2048)
    transfer_pid: Optional[str] = Field(default=None, max_length=256)
    created_at: datetime = Field(sa_column=Column("created_at", DateTime(timezone=True), nullable=False))


class ScheduleRow(SQLModel, table=True):
    """A recurring pull of an agreement (hub): cron fields in the node's time zone (UTC)."""

    __tablename__ = "pull_schedule"

    agreement_id: str = Field(primary_key=True, max_length=512)
    cron: str = Field(max_length=128)          # "day_of_week=mon hour=6 minute=0"
    format: str = Field(default="parquet", max_length=16)
    enabled: bool = Field(sa_column=Column("enabled", Boolean, nullable=False, default=True))
    last_slot: Optional[str] = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column("created_at", DateTime(timezone=True), nullable=False))


class PullRunRow(SQLModel, table=True):
    """One slot of a schedule: its attempts and outcome."""

    __tablename__ = "pull_run"
    __table_args__ = (UniqueConstraint("agreement_id", "slot", name="uq_pull_run_slot"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    agreement_id: str = Field(max_length=512, index=True)
    slot: str = Field(max_length=64)
    status: str = Field(max_length=16)          # running | done | duplicate | retrying | failed
    attempts: int = Field(default=0)
    next_at: Optional[float] = Field(default=None, sa_column=Column("next_at", Float, nullable=True))
    sha256: Optional[str] = Field(default=None, max_length=64)
    error: Optional[str] = Field(default=None, sa_column=Column("error", Text, nullable=True))
    started_at: datetime = Field(sa_column=Column("started_at", DateTime(timezone=True), nullable=False))
    finished_at: Optional[datetime] = Field(default=None, sa_column=Column("finished_at", DateTime(timezone=True),
                                                                           nullable=True))


class SchedulerLease(SQLModel, table=True):
    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=128)
    until: float = Field(sa_column=Column("until", Float, nullable=False))
