"""Sustainable-tourism indicators on three pillars (tourism.md §3): ibis expressions on DuckDB or Spark,
disclosure control on establishment-level sources, a stored-results service and regional re-publication."""

from hub.sustainable.catalogue import INDICATORS, PILLARS, TABLES, Indicator, indicator_json
from hub.sustainable.compute import ENERGY_SPEC, REQUIRED, compute_raw, compute_sustainable, snapshot_of

__all__ = ["INDICATORS", "PILLARS", "TABLES", "Indicator", "indicator_json", "ENERGY_SPEC", "REQUIRED",
           "compute_raw", "compute_sustainable", "snapshot_of"]
