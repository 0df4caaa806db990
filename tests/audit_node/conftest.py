"""Fixtures of the node-side audit tests: a loopback data space (hub, two régions, auditors) on a frozen clock,
shared by the tests of a module (starting nodes is the slow part; each test works from the state it finds).

Helpers live in ``audit_node_kit`` (this folder is put on ``sys.path``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_node_kit import PgSchemas, add_auditor, engines  # noqa: E402
from connector.clock import FixedClock  # noqa: E402
from connector.testing import LiveSpace  # noqa: E402


@pytest.fixture(scope="module", params=engines())
def space(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSpace]:
    """hub (authority and witness), occitanie and bretagne (régions), ``auditeur`` (may audit occitanie only)."""
    schemas = PgSchemas() if request.param == "pg" else None
    live = LiveSpace(tmp_path_factory.mktemp("space"), FixedClock(time.time()),
                     schemas.make if schemas else (lambda: ""))
    try:
        live.add("hub", role="hub", enrol=False)
        live.enrol("hub")
        live.add("occitanie", territory=["REG-76"])
        live.add("bretagne", territory=["REG-53"])
        add_auditor(live, "auditeur", [live.nodes["occitanie"].did])
        yield live
    finally:
        live.stop()
        if schemas:
            schemas.drop()
