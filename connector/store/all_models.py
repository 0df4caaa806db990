"""Imports every module that declares tables, so the metadata is complete for migrations and checks."""

from connector import catalog_store  # noqa: F401
from connector.audit import records  # noqa: F401
from connector.store import models  # noqa: F401
from connector.negotiation import records as negotiation_records  # noqa: F401
from hub.service import records as barometer_records  # noqa: F401
from connector import audit_node  # noqa: F401
from connector.transfer import records as transfer_records  # noqa: F401
