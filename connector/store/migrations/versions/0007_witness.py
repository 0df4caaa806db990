"""The hub's witness state per node log, the authority's auditor scopes, and the node's audit-tick lease.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_witness",
        sa.Column("origin", sa.String(512), primary_key=True),
        sa.Column("did", sa.String(512), nullable=False),
        sa.Column("size", _BIGINT, nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("cosigned_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "audit_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("until", sa.Float, nullable=False),
    )
    op.create_table(
        "member_audit_scope",
        sa.Column("did", sa.String(512), primary_key=True),
        sa.Column("scope", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("member_audit_scope")
    op.drop_table("audit_lease")
    op.drop_table("audit_witness")
