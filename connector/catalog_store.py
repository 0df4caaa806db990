"""The node's published datasets, persisted: every publication is a row, the catalogue is rebuilt from them.

Rows are never updated: a new version is a new row, so the history an auditor or a peer saw stays reconstructible.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["DatasetVersion"]


class DatasetVersion(SQLModel, table=True):
    __tablename__ = "dataset_version"
    __table_args__ = (UniqueConstraint("identifier", "version", name="uq_dataset_version"),)

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(index=True, max_length=256)
    version: int
    mapping: str = Field(sa_column=Column(Text, nullable=False))  # JSON metadata + distributions as published
    published_at: datetime
