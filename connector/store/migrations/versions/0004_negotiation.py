"""Contract negotiations (both roles), their outbox, and finalized agreements.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "negotiation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("own_pid", sa.String(256), nullable=False),
        sa.Column("peer_pid", sa.String(256), nullable=True),
        sa.Column("counterparty", sa.String(512), nullable=False),
        sa.Column("peer_address", sa.String(1024), nullable=True),
        sa.Column("dataset_id", sa.String(1024), nullable=True),
        sa.Column("offer_id", sa.String(1024), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("pending", sa.String(32), nullable=True),
        sa.Column("script", sa.String(64), nullable=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("received", sa.Text, nullable=True),
        sa.Column("decision", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("agreement_id", sa.String(512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("role", "counterparty", "peer_pid", name="uq_negotiation_peer"),
    )
    op.create_index("ix_negotiation_own_pid", "negotiation", ["own_pid"], unique=True)
    op.create_index("ix_negotiation_peer_pid", "negotiation", ["peer_pid"])
    op.create_index("ix_negotiation_counterparty", "negotiation", ["counterparty"])
    op.create_index("ix_negotiation_state", "negotiation", ["state"])
    op.create_table(
        "negotiation_outbox",
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("negotiation_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("initial", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_negotiation_outbox_negotiation_id", "negotiation_outbox", ["negotiation_id"])
    op.create_index("ix_negotiation_outbox_status", "negotiation_outbox", ["status"])
    op.create_table(
        "agreement",
        sa.Column("id", sa.String(512), primary_key=True),
        sa.Column("negotiation_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(512), nullable=False),
        sa.Column("consumer", sa.String(512), nullable=False),
        sa.Column("dataset_id", sa.String(1024), nullable=False),
        sa.Column("offer_id", sa.String(1024), nullable=True),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_agreement_negotiation_id", "agreement", ["negotiation_id"])
    op.create_index("ix_agreement_provider", "agreement", ["provider"])
    op.create_index("ix_agreement_consumer", "agreement", ["consumer"])


def downgrade() -> None:
    for t in ("agreement", "negotiation_outbox", "negotiation"):
        op.drop_table(t)
