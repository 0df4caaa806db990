"""The hub recomputes the sustainable-tourism indicators when a pulled input lands.

``connector.transfer.landing.after_landing`` hands each file the hub lands to :func:`on_input_landed` when its
columns are those of an input of ``compute_sustainable`` (energy, employment, arrivals or trips); with the newest
landed file of every other kind, the set of four is claimed and computed off the pull's thread
(``hub.recompute``). The computation checks the four files against their declared schemas first; a file that does
not conform fails the run (recorded with the validator's row and column) and is kept in quarantine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.recompute import LandingRecomputer, kind_by_columns, newest_landed, recomputer_of
from hub.sustainable.catalogue import REQUIRED

__all__ = ["input_kind", "latest_inputs", "on_input_landed", "Recomputer", "recomputer"]


def input_kind(path: str | Path) -> str | None:
    """``energy``, ``employment``, ``arrivals``, ``trips`` or None, from a landed Parquet file's columns."""
    return kind_by_columns(path, REQUIRED)


def latest_inputs(node: Any) -> dict[str, Path]:
    """The newest file the node landed of each input kind (those not landed yet are absent)."""
    return newest_landed(node, input_kind, len(REQUIRED))


class Recomputer(LandingRecomputer):
    """The sustainable-tourism indicators' recomputer: one file of each input kind."""

    name = "sustainable"

    def make_service(self) -> Any:
        from connector.catalog_service import CatalogService
        from hub.sustainable.service import SustainableService
        return SustainableService(self.node, catalog=CatalogService(self.node))

    def latest(self) -> dict[str, Path]:
        return latest_inputs(self.node)

    def waiting(self, files: dict[str, Path]) -> str | None:
        missing = [k for k in REQUIRED if k not in files]
        return f"no {', '.join(missing)} file has landed yet" if missing else None

    def claim(self, files: dict[str, Path]) -> Any:
        return self.service.claim(files)


def recomputer(node: Any) -> Recomputer:
    """The node's recomputer in this process (one per node object)."""
    return recomputer_of(Recomputer, node)


def on_input_landed(node: Any, path: str | Path, kind: str | None = None) -> dict[str, Any] | None:
    """Hook for the transfer's landing on the hub: ``path`` is a landed file; None when it is not an input."""
    kind = kind or input_kind(path)
    if kind is None:
        return None
    return recomputer(node).on_landed(path, kind)
