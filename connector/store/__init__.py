"""The node's database: engines, tables and migrations."""

from connector.store.engine import is_sqlite, make_engine, normalise_url
from connector.store.group_commit import GroupCommit, GroupCommitError
from connector.store.migrate import current_revision, head_revision, upgrade
from connector.store.models import DenialRecord, Member, OwnCredential, SeenJti, TrustDocument
from connector.store.raw import Statement

__all__ = ["make_engine", "normalise_url", "is_sqlite", "upgrade", "current_revision", "head_revision",
           "SeenJti", "TrustDocument", "Member", "OwnCredential", "DenialRecord", "GroupCommit", "GroupCommitError",
           "Statement"]
