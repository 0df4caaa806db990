"""The hub recomputes the campsite barometer when a pulled bookings snapshot or capacity table lands.

``connector.transfer.landing.after_landing`` hands each file the hub lands to :func:`on_file_landed` when its
columns are those of a campsite bookings snapshot or of a capacity table; with the newest landed file of the other
kind, the pair is claimed and computed off the pull's thread (``hub.recompute``). A run that fails is recorded as
``failed`` with its error (``GET /api/barometre/runs``), as when a snapshot is landed through
``POST /api/barometre/snapshots``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.recompute import LandingRecomputer, kind_by_columns, newest_landed, recomputer_of

__all__ = ["BOOKINGS_COLUMNS", "CAPACITY_COLUMNS", "snapshot_kind", "latest_snapshot", "on_file_landed",
           "BarometerRecomputer", "barometer_recomputer"]

BOOKINGS_COLUMNS = frozenset({"booking_pid", "campsite_pid", "stay_date", "nights"})
CAPACITY_COLUMNS = frozenset({"campsite_pid", "date", "unit_type", "units_available"})


_KINDS = {"bookings": BOOKINGS_COLUMNS, "capacity": CAPACITY_COLUMNS}


def snapshot_kind(path: str | Path) -> str | None:
    """``bookings``, ``capacity`` or None, from a landed Parquet file's columns."""
    return kind_by_columns(path, _KINDS)


def latest_snapshot(node: Any) -> dict[str, Path]:
    """The newest bookings snapshot and capacity table the node landed (those not landed yet are absent)."""
    return newest_landed(node, snapshot_kind, len(_KINDS))


class BarometerRecomputer(LandingRecomputer):
    """The barometer's recomputer: a bookings snapshot and a capacity table."""

    name = "barometer"

    def make_service(self) -> Any:
        from connector.catalog_service import CatalogService
        from hub.service.barometer import BarometerService
        return BarometerService(self.node, catalog=CatalogService(self.node))

    def latest(self) -> dict[str, Path]:
        return latest_snapshot(self.node)

    def waiting(self, files: dict[str, Path]) -> str | None:
        if "capacity" not in files:
            return "a capacity table has not landed yet"
        if "bookings" not in files:
            return "a bookings snapshot has not landed yet"
        return None

    def claim(self, files: dict[str, Path]) -> Any:
        return self.service.claim(files["bookings"], files["capacity"])


def barometer_recomputer(node: Any, service: Any = None) -> BarometerRecomputer:
    """The node's barometer recomputer in this process (one per node object); ``service``, the barometer service it
    computes with when this call creates it (by default the hub's ``BarometerService``)."""
    return recomputer_of(BarometerRecomputer, node, service)


def on_file_landed(node: Any, path: str | Path, kind: str | None = None) -> dict[str, Any] | None:
    """Hook for the transfer's landing on the hub: ``path`` is a landed file; None when it is neither a bookings
    snapshot nor a capacity table."""
    kind = kind or snapshot_kind(path)
    if kind is None:
        return None
    return barometer_recomputer(node).on_landed(path, kind)
