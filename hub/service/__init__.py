"""The hub's barometer service: recomputation on each landed snapshot, stored results, regional re-publication."""

from hub.service.barometer import (LEASE_SECONDS, BarometerService, Claim, LandedSnapshot, on_snapshot_landed,
                                   run_json)
from hub.service.landing import BarometerRecomputer, barometer_recomputer, latest_snapshot, on_file_landed, \
    snapshot_kind
from hub.service.records import BarometerRun
from hub.service.republish import dataset_id, offer_id, publish_slices, slice_metadata
from hub.service.results import read_tables, regional_slice, regions_present, write_run

__all__ = ["BarometerService", "BarometerRun", "Claim", "LandedSnapshot", "LEASE_SECONDS", "on_snapshot_landed",
           "run_json", "BarometerRecomputer", "barometer_recomputer", "latest_snapshot", "on_file_landed",
           "snapshot_kind", "dataset_id", "offer_id", "publish_slices", "slice_metadata", "read_tables",
           "regional_slice", "regions_present", "write_run"]
