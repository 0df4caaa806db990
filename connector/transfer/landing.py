"""What the hub does once a file has landed: a campsite bookings snapshot (with a capacity table landed
beside it) goes to the barometer service (``hub.service.on_snapshot_landed``); an input of the sustainable-tourism
indicators (energy, employment, arrivals, trips) goes to ``hub.sustainable.landing.on_input_landed``, which starts
a computation off the pull's thread once every input has landed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["kind_of", "after_landing"]

log = logging.getLogger("passerelle.transfer.landing")

BOOKINGS = {"booking_pid", "campsite_pid", "stay_date", "nights"}
CAPACITY = {"campsite_pid", "date", "unit_type", "units_available"}


def kind_of(path: Path) -> str | None:
    """``bookings``, ``capacity`` or None, from the landed file's columns (Parquet only)."""
    if path.suffix != ".parquet":
        return None
    try:
        import pyarrow.parquet as pq
        names = set(pq.read_schema(path).names)
    except Exception:  # noqa: BLE001 - not a Parquet file we can read: nothing to do
        return None
    if BOOKINGS <= names:
        return "bookings"
    if CAPACITY <= names:
        return "capacity"
    return None


def _latest(node: Any, kind: str) -> Path | None:
    from connector.transfer.ingest import landed
    for item in landed(node):
        p = Path(item["path"])
        if p.exists() and kind_of(p) == kind:
            return p
    return None


def _sustainable(node: Any, path: Path) -> dict[str, Any] | None:
    from hub.sustainable.landing import input_kind, on_input_landed
    kind = input_kind(path)
    if kind is None:
        return None
    try:
        return on_input_landed(node, path, kind)
    except Exception as e:  # noqa: BLE001 - the landing stands; the failure is reported
        log.warning("sustainable recompute not started: %s", e)
        return {"sustainable": f"failed: {e}"}


def after_landing(node: Any, path: Path) -> dict[str, Any] | None:
    """On the hub: recompute the barometer when a bookings snapshot (or its capacity table) lands, and the
    sustainable-tourism indicators when their last missing input (or a new one) lands."""
    if not getattr(node, "is_authority", False):
        return None
    kind = kind_of(path)
    if kind is None:
        return _sustainable(node, path)
    bookings = path if kind == "bookings" else _latest(node, "bookings")
    capacity = path if kind == "capacity" else _latest(node, "capacity")
    if bookings is None or capacity is None:
        return {"barometer": f"waiting: a {'capacity table' if capacity is None else 'bookings snapshot'} has not "
                             "landed yet"}
    from hub.service import on_snapshot_landed
    try:
        run = on_snapshot_landed(node, bookings, capacity)
    except Exception as e:  # noqa: BLE001 - the landing stands; the barometer's failure is reported
        log.warning("barometer run failed: %s", e)
        return {"barometer": f"failed: {e}"}
    return {"barometer": f"run {run.id} {run.status}"}
