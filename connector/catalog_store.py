"""The node's published datasets, persisted: every publication is a row, the catalogue is rebuilt from them.

Rows are never updated: a new version is a new row, so the history an auditor or a peer saw stays reconstructible.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["DatasetVersion", "FederatedCatalogueRow"]


class DatasetVersion(SQLModel, table=True):
    __tablename__ = "dataset_version"
    __table_args__ = (UniqueConstraint("identifier", "version", name="uq_dataset_version"),)

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(index=True, max_length=256)
    version: int
    mapping: str = Field(sa_column=Column(Text, nullable=False))  # JSON metadata + distributions as published
    published_at: datetime


class FederatedCatalogueRow(SQLModel, table=True):
    """The hub's last copy of one participant's catalogue (``catalog.NodeRecord``), entries as JSON.

    ``revision`` grows on every write, so each worker notices another one's crawl with one cheap query.
    """

    __tablename__ = "federated_catalogue"

    node: str = Field(primary_key=True, max_length=512)
    participant_id: str | None = Field(default=None, max_length=512)
    digest: str | None = Field(default=None, max_length=64)
    etag: str | None = Field(default=None, max_length=256)
    fetched_at: datetime | None = None
    checked_at: datetime | None = None
    stale: bool = False
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    entries: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = 0
