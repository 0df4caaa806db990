"""What the hub does once a file has landed: a campsite bookings snapshot or capacity table goes to
``hub.service.landing.on_file_landed``, which starts the barometer off the pull's thread once both have landed; an
input of the sustainable-tourism indicators (energy, employment, arrivals, trips) goes to
``hub.sustainable.landing.on_input_landed``, which starts a computation off the pull's thread once every input has
landed. The pull's outcome says what happened: waiting (and for what), a run started, or the run these files had."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["kind_of", "after_landing"]

log = logging.getLogger("passerelle.transfer.landing")


def kind_of(path: Path) -> str | None:
    """``bookings``, ``capacity`` or None, from the landed file's columns (Parquet only)."""
    from hub.service.landing import snapshot_kind
    return snapshot_kind(path)


def after_landing(node: Any, path: Path) -> dict[str, Any] | None:
    """On the hub: start the barometer when a bookings snapshot or its capacity table lands and the other is there,
    and the sustainable-tourism indicators when their last missing input (or a new one) lands; neither is computed
    in the pull."""
    if not getattr(node, "is_authority", False):
        return None
    from hub.service.landing import on_file_landed, snapshot_kind
    from hub.sustainable.landing import input_kind, on_input_landed
    for name, kind_fn, start in (("barometer", snapshot_kind, on_file_landed),
                                 ("sustainable", input_kind, on_input_landed)):
        kind = kind_fn(path)
        if kind is None:
            continue
        try:
            return start(node, path, kind)
        except Exception as e:  # noqa: BLE001 - the landing stands; the failure is reported
            log.warning("%s run not started: %s", name, e)
            return {name: f"failed: {e}"}
    return None
