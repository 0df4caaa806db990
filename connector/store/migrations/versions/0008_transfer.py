"""Transfer processes (both roles) with their data-plane flow, the transfer outbox, pull counters per agreement,
landed files, recurring pulls and their runs, and the scheduler's lease.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("own_pid", sa.String(256), nullable=False, unique=True),
        sa.Column("peer_pid", sa.String(256), nullable=True, index=True),
        sa.Column("counterparty", sa.String(512), nullable=False, index=True),
        sa.Column("peer_address", sa.String(1024), nullable=True),
        sa.Column("agreement_id", sa.String(512), nullable=False, index=True),
        sa.Column("dataset_id", sa.String(1024), nullable=True),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("script", sa.String(64), nullable=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("received", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("claims", sa.Text, nullable=True),
        sa.Column("token_jti", sa.String(64), nullable=True),
        sa.Column("token_exp", sa.Float, nullable=True),
        sa.Column("refresh_hash", sa.String(64), nullable=True),
        sa.Column("spent", sa.Text, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("role", "counterparty", "peer_pid", name="uq_transfer_peer"),
    )
    op.create_table(
        "transfer_outbox",
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("transfer_id", sa.Integer, nullable=False, index=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("initial", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "agreement_usage",
        sa.Column("agreement_id", sa.String(512), primary_key=True),
        sa.Column("used", sa.Integer, nullable=False),
    )
    op.create_table(
        "transfer_ingest",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agreement_id", sa.String(512), nullable=False, index=True),
        sa.Column("dataset_id", sa.String(1024), nullable=False),
        sa.Column("slot", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("byte_size", _BIGINT, nullable=False),
        sa.Column("rows", _BIGINT, nullable=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("path", sa.String(2048), nullable=False),
        sa.Column("transfer_pid", sa.String(256), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("agreement_id", "slot", "sha256", name="uq_ingest_slot"),
    )
    op.create_table(
        "pull_schedule",
        sa.Column("agreement_id", sa.String(512), primary_key=True),
        sa.Column("cron", sa.String(128), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("last_slot", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "pull_run",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agreement_id", sa.String(512), nullable=False, index=True),
        sa.Column("slot", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Float, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.UniqueConstraint("agreement_id", "slot", name="uq_pull_run_slot"),
    )
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("until", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in ("scheduler_lease", "pull_run", "pull_schedule", "transfer_ingest", "agreement_usage",
                 "transfer_outbox", "transfer"):
        op.drop_table(name)
