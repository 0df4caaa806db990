"""Alembic environment: the connection is handed in by ``connector.store.migrate`` (no alembic.ini needed)."""

from alembic import context
from sqlmodel import SQLModel

import connector.store.all_models  # noqa: F401  (registers every table on the metadata)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")

if connection is None:
    raise RuntimeError("run migrations through connector.store.migrate.upgrade()")

context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
