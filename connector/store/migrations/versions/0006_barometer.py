"""The hub's barometer computations (one row per landed snapshot computed).

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "barometer_run",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("input_key", sa.String(64), nullable=False),
        sa.Column("snapshot_date", sa.Date, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("result_dir", sa.String(1024), nullable=True),
        sa.Column("tables", sa.JSON, nullable=True),
        sa.Column("published", sa.JSON, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("input_key", name="uq_barometer_run_input_key"),
    )
    op.create_index("ix_barometer_run_snapshot_date", "barometer_run", ["snapshot_date"])
    op.create_index("ix_barometer_run_status", "barometer_run", ["status"])


def downgrade() -> None:
    op.drop_index("ix_barometer_run_status", "barometer_run")
    op.drop_index("ix_barometer_run_snapshot_date", "barometer_run")
    op.drop_table("barometer_run")
