"""Tables of the node's own state (identity, trust caches, membership registry).

Other packages keep their tables next to their code (e.g. ``connector.audit.records``); Alembic migrations in
``connector/store/migrations`` create them all, and tests check the migrated schema matches these models.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, JSON, Text
from sqlmodel import Field, SQLModel

__all__ = ["SeenJti", "TrustDocument", "Member", "OwnCredential", "DenialRecord"]


class SeenJti(SQLModel, table=True):
    """Token ids already accepted: the primary key makes the replay check one atomic insert."""

    __tablename__ = "seen_jti"
    iss: str = Field(primary_key=True, max_length=512)
    jti: str = Field(primary_key=True, max_length=128)
    expires_at: int = Field(index=True)


class TrustDocument(SQLModel, table=True):
    """Last good copy of a signed trust document (participant list, status list), shared by all workers."""

    __tablename__ = "trust_document"
    name: str = Field(primary_key=True, max_length=256)
    body: str = Field(sa_column=Column(Text, nullable=False))
    fetched_at: int


class Member(SQLModel, table=True):
    """The authority's registry of participants: the source of the signed participant list and of credentials."""

    __tablename__ = "member"
    did: str = Field(primary_key=True, max_length=512)
    legal_name: str
    siren: str = Field(max_length=9)
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    territory: list[str] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=16)  # active | revoked
    status_index: int = Field(unique=True)
    credential_id: str | None = Field(default=None, max_length=128)
    enrolled_at: datetime
    revoked_at: datetime | None = None


class OwnCredential(SQLModel, table=True):
    """Credentials this node holds (its membership VC-JWT), presented by its credential service."""

    __tablename__ = "own_credential"
    id: str = Field(primary_key=True, max_length=128)
    kind: str = Field(max_length=128)
    jwt: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime
    valid_until: datetime


class DenialRecord(SQLModel, table=True):
    """A refused request (token, credential): kept so that operators see why, without personal data."""

    __tablename__ = "denial"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    caller: str | None = Field(default=None, max_length=512)
    path: str = Field(max_length=512)
    code: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
