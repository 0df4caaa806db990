"""Indicator runs of every kind in one table: barometer_run gains ``kind`` (barometer | sustainable), so the
sustainable-tourism dashboard records its computations beside the barometer's.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the runs recorded so far are all the barometer's
    op.add_column("barometer_run", sa.Column("kind", sa.String(16), nullable=False, server_default="barometer"))
    op.create_index("ix_barometer_run_kind", "barometer_run", ["kind"])


def downgrade() -> None:
    op.execute("DELETE FROM barometer_run WHERE kind <> 'barometer'")
    op.drop_index("ix_barometer_run_kind", "barometer_run")
    with op.batch_alter_table("barometer_run") as batch:
        batch.drop_column("kind")
