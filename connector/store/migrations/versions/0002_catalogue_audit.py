"""Published dataset versions; the tamper-evident audit log (append-only tables guarded by triggers).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_APPEND_ONLY = ("audit_entry", "audit_checkpoint", "audit_cosignature")


def upgrade() -> None:
    op.create_table(
        "dataset_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("identifier", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("mapping", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("identifier", "version", name="uq_dataset_version"),
    )
    op.create_index("ix_dataset_version_identifier", "dataset_version", ["identifier"])
    op.create_table(
        "audit_entry",
        sa.Column("seq", _BIGINT, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("entry_json", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column("agreement_id", sa.String(512), nullable=True),
        sa.Column("participant", sa.String(512), nullable=True),
        sa.Column("dataset_id", sa.String(512), nullable=True),
    )
    for col in ("ts", "kind", "agreement_id", "participant", "dataset_id"):
        op.create_index(f"ix_audit_entry_{col}", "audit_entry", [col])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("origin", sa.String(512), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("last_leaf_hash", sa.String(64), nullable=True),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("size", _BIGINT, primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("frontier", sa.Text, nullable=False),
        sa.Column("last_leaf_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "audit_cosignature",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("witness", sa.String(512), nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_audit_cosignature_size", "audit_cosignature", ["size"])
    from connector.audit.records import POSTGRES_TRIGGERS, SQLITE_TRIGGERS
    triggers = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for table in _APPEND_ONLY:
        for stmt in triggers[table]:
            op.execute(stmt)


def downgrade() -> None:
    for t in ("audit_cosignature", "audit_checkpoint", "audit_head", "audit_entry", "dataset_version"):
        op.drop_table(t)
