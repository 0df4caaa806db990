"""Tables of contract negotiations: the negotiation itself, its outbox, and the agreements it produced.

A negotiation's row holds the sans-IO :class:`contracts.Negotiation` as JSON (``record``) next to the columns the
node searches by (pids, counter-party, state). Every change to it is made under a row lock, in one transaction with
the outbox rows of the messages it causes and its audit entry (DESIGN §5).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["NegotiationRow", "OutboxRow", "AgreementRow"]

_BIGINT = BigInteger().with_variant(Integer(), "sqlite")


class NegotiationRow(SQLModel, table=True):
    """One negotiation on either side; ``own_pid`` is our pid (the path id peers use to reach it)."""

    __tablename__ = "negotiation"
    __table_args__ = (UniqueConstraint("role", "counterparty", "peer_pid", name="uq_negotiation_peer"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    role: str = Field(max_length=16)
    own_pid: str = Field(max_length=256, unique=True)
    peer_pid: Optional[str] = Field(default=None, max_length=256, index=True)
    counterparty: str = Field(max_length=512, index=True)
    peer_address: Optional[str] = Field(default=None, max_length=1024)
    dataset_id: Optional[str] = Field(default=None, max_length=1024)
    offer_id: Optional[str] = Field(default=None, max_length=1024)
    state: str = Field(max_length=16, index=True)
    pending: Optional[str] = Field(default=None, max_length=32)   # "approval": waits for the operator
    script: Optional[str] = Field(default=None, max_length=64)    # conformance-kit script id (test nodes only)
    record: str = Field(sa_column=Column("record", Text, nullable=False))        # Negotiation.to_dict() as JSON
    received: Optional[str] = Field(default=None, sa_column=Column("received", Text, nullable=True))  # fingerprints
    decision: Optional[str] = Field(default=None, sa_column=Column("decision", Text, nullable=True))
    reason: Optional[str] = Field(default=None, sa_column=Column("reason", Text, nullable=True))
    agreement_id: Optional[str] = Field(default=None, max_length=512)
    created_at: datetime = Field(sa_column=Column("created_at", DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column("updated_at", DateTime(timezone=True), nullable=False))


class OutboxRow(SQLModel, table=True):
    """A message to deliver to the counter-party, committed with the state change that causes it.

    Rows of one negotiation are delivered in ``id`` order; a row is held by one sender at a time (``lease_owner``
    until ``lease_until``), retried with exponential back-off until ``max_attempts``.
    """

    __tablename__ = "negotiation_outbox"

    id: Optional[int] = Field(default=None, sa_column=Column("id", _BIGINT, primary_key=True, autoincrement=True))
    negotiation_id: int = Field(index=True)
    kind: str = Field(max_length=64)
    url: str = Field(max_length=2048)
    body: str = Field(sa_column=Column("body", Text, nullable=False))
    initial: bool = Field(sa_column=Column("initial", Boolean, nullable=False, default=False))
    status: str = Field(default="pending", max_length=16, index=True)   # pending | sent | failed | cancelled
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=7)
    next_at: float = Field(sa_column=Column("next_at", Float, nullable=False))
    lease_owner: Optional[str] = Field(default=None, max_length=128)
    lease_until: Optional[float] = Field(default=None, sa_column=Column("lease_until", Float, nullable=True))
    last_error: Optional[str] = Field(default=None, sa_column=Column("last_error", Text, nullable=True))
    created_at: datetime = Field(sa_column=Column("created_at", DateTime(timezone=True), nullable=False))


class AgreementRow(SQLModel, table=True):
    """A finalized agreement, on the side that granted it (PROVIDER) or received it (CONSUMER).

    The legal anchor of every transfer: queried by id with its policy, parties and dataset; ``revoked`` cuts access.
    """

    __tablename__ = "agreement"

    id: str = Field(primary_key=True, max_length=512)
    negotiation_id: int = Field(index=True)
    role: str = Field(max_length=16)
    provider: str = Field(max_length=512, index=True)     # assigner
    consumer: str = Field(max_length=512, index=True)     # assignee
    dataset_id: str = Field(max_length=1024)
    offer_id: Optional[str] = Field(default=None, max_length=1024)
    policy: str = Field(sa_column=Column("policy", Text, nullable=False))   # the Agreement JSON as agreed
    signed_at: datetime = Field(sa_column=Column("signed_at", DateTime(timezone=True), nullable=False))
    finalized_at: datetime = Field(sa_column=Column("finalized_at", DateTime(timezone=True), nullable=False))
    revoked: bool = Field(sa_column=Column("revoked", Boolean, nullable=False, default=False))
    revoked_at: Optional[datetime] = Field(default=None, sa_column=Column("revoked_at", DateTime(timezone=True),
                                                                          nullable=True))
    revoked_reason: Optional[str] = Field(default=None, sa_column=Column("revoked_reason", Text, nullable=True))
