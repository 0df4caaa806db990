"""Imports every module that declares tables, so the metadata is complete for migrations and checks."""

from connector.store import models  # noqa: F401
