from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from catalog.samples import campsite_federation, region_indicators

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec"
NOW = datetime(2025, 7, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def campsite():
    return campsite_federation(NOW)


@pytest.fixture(scope="session")
def region():
    return region_indicators(NOW)


@pytest.fixture(scope="session")
def spec() -> Path:
    return SPEC
