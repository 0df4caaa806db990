"""Campsite barometer indicators (tourism.md §1.3) as ibis expressions run on DuckDB or Spark."""

from hub.indicators.barometer import (SPECS, TABLES, compute_barometer, compute_raw, parse_week, protect_all,
                                      write_csvs)
from hub.indicators.engine import ENGINES, InputError, spark_session

__all__ = ["SPECS", "TABLES", "compute_barometer", "compute_raw", "parse_week", "protect_all", "write_csvs",
           "ENGINES", "InputError", "spark_session"]
