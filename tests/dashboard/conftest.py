"""A small calibrated campsite export and one live data space (hub, two régions, a département) shared by the
dashboard tests: the barometer is computed once on the hub, through its API, and read by every test."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from connector.clock import FixedClock
from connector.testing import LiveSpace
from contracts.schemas import DSP_CONTEXT

CATALOG_REQUEST = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}
SNAPSHOT = dt.date(2026, 6, 15)
CAMPSITES = 30


def generate(out: Path, snapshot: dt.date = SNAPSHOT, seed: int = 7, campsites: int = CAMPSITES) -> dict[str, Path]:
    from hub.generate import generate_campsites
    generate_campsites(out, campsites=campsites, season=2026, snapshot=snapshot, seed=seed)
    return {"bookings": out / "bookings.parquet", "capacity": out / "capacity.parquet",
            "campsites": out / "campsites.parquet"}


@pytest.fixture(scope="session")
def export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """30 campsites, seasons 2025 and 2026, snapshot Monday 15 June 2026 (about 0.3 M booking-night rows)."""
    return generate(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="session")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSpace]:
    s = LiveSpace(tmp_path_factory.mktemp("space"), FixedClock(time.time()))
    s.add("hub", role="hub", enrol=False)
    s.enrol("hub")
    s.add("occitanie", territory=["REG-76"])
    s.add("bretagne", territory=["REG-53"])
    s.add("herault", roles=["departmental_node"], territory=["DEP-34"])
    yield s
    s.stop()


@pytest.fixture(scope="session")
def landed(space: LiveSpace, export: dict[str, Path]) -> dict[str, Any]:
    """The hub's run for the export, landed through ``POST /api/barometre/snapshots``."""
    import httpx
    hub = space.nodes["hub"]
    # the computation runs inside the request: give a loaded machine time (LiveNode.api waits 30 s)
    r = httpx.post(hub.url + "/api/barometre/snapshots", json={k: str(v) for k, v in export.items()},
                   headers={"Authorization": f"Bearer {hub.node.admin_token}"}, timeout=600)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="session")
def make_export() -> Any:
    """``generate`` for test modules (importlib mode does not import conftest by name)."""
    return generate
