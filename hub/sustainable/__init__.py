"""Sustainable-tourism indicators on three pillars (tourism.md §3): ibis expressions on DuckDB or Spark,
disclosure control on establishment-level sources, declared input schemas checked by the hub, a service that
records every run, recomputation when the providers' files land at the hub, and regional re-publication.

The computing names load on first use, so that the CLI (``hub.sustainable.cli``) starts without the analytics stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hub.sustainable.catalogue import INDICATORS, PILLARS, REQUIRED, TABLES, Indicator, indicator_json

if TYPE_CHECKING:
    from hub.sustainable.compute import ENERGY_SPEC, compute_raw, compute_sustainable, snapshot_of  # noqa: F401
    from hub.sustainable.inputs import INPUT_SCHEMAS, InputRefused, check_inputs  # noqa: F401
    from hub.sustainable.landing import input_kind, on_input_landed, recomputer  # noqa: F401
    from hub.sustainable.service import SustainableService  # noqa: F401

_LAZY = {"ENERGY_SPEC": "compute", "compute_raw": "compute", "compute_sustainable": "compute",
         "snapshot_of": "compute", "INPUT_SCHEMAS": "inputs", "InputRefused": "inputs", "check_inputs": "inputs",
         "SustainableService": "service", "input_kind": "landing", "on_input_landed": "landing",
         "recomputer": "landing"}

__all__ = ["INDICATORS", "PILLARS", "REQUIRED", "TABLES", "Indicator", "indicator_json", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"hub.sustainable.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'hub.sustainable' has no attribute {name!r}")
