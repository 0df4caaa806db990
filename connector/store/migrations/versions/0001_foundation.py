"""Foundation: replay guard, trust documents, membership registry, own credentials, denials.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_jti",
        sa.Column("iss", sa.String(512), primary_key=True),
        sa.Column("jti", sa.String(128), primary_key=True),
        sa.Column("expires_at", sa.Integer, nullable=False),
    )
    op.create_index("ix_seen_jti_expires_at", "seen_jti", ["expires_at"])
    op.create_table(
        "trust_document",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("fetched_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "member",
        sa.Column("did", sa.String(512), primary_key=True),
        sa.Column("legal_name", sa.String, nullable=False),
        sa.Column("siren", sa.String(9), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("territory", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_index", sa.Integer, nullable=False, unique=True),
        sa.Column("credential_id", sa.String(128), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "own_credential",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(128), nullable=False),
        sa.Column("jwt", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "denial",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller", sa.String(512), nullable=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_denial_at", "denial", ["at"])


def downgrade() -> None:
    op.drop_table("denial")
    op.drop_table("own_credential")
    op.drop_table("member")
    op.drop_index("ix_seen_jti_expires_at", "seen_jti")
    op.drop_table("seen_jti")
    op.drop_table("trust_document")
