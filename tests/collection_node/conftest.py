"""A provider node (the campsite federation) with a booking dataset that declares its table schema, served on a free
loopback port; the booking files are those of tests/collection (a hand-built valid export and writers)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from connector.clock import FixedClock
from connector.config import load_config
from connector.testing import LiveSpace

_spec = importlib.util.spec_from_file_location(
    "collection_fixtures", Path(__file__).resolve().parents[1] / "collection" / "conftest.py")
fixtures = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures)  # type: ignore[union-attr]

DATASET = "reservations-campings"
SECTION = f'''
[datasets.{DATASET}]
title = {{ fr = "Réservations hebdomadaires des campings", en = "Weekly campsite bookings" }}
description = {{ fr = "Export hebdomadaire des réservations, pseudonymisé à la source.", en = "Weekly booking export, pseudonymised at source." }}
themes = ["ECON"]
keywords = {{ fr = ["camping", "réservations"], en = ["campsite", "bookings"] }}
spatial = ["FR"]
frequency = "WEEKLY"
licence = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
access_rights = "RESTRICTED"
publisher = {{ name = {{ fr = "Fédération des campings (test)", en = "Campsite federation (test)" }}, iri = "https://campings.example/#org", type = "NonProfitOrganisation" }}
contact = {{ name = "Service données", email = "donnees@campings.example" }}
schema = "campsite-bookings"
max_upload_bytes = {{max_bytes}}
offer_templates = [{{ template = "members-statistical-use", id = "urn:passerelle:offer:{DATASET}:stats" }}]
'''


def add_datasets(live: Any, text: str) -> None:
    """Append dataset sections to the node's TOML and reload its config (the running app sees it at once)."""
    path = live.node.config.path
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    live.node.config = load_config(path)


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[Any]:
    space = LiveSpace(tmp_path / "space", FixedClock(time.time()))
    space.add("hub", role="hub", enrol=False)
    live = space.add("campings", roles=["private_provider"], enrol=False)
    live.app.config["COLLECTION_WATCH"] = False  # tests drive the drop folder themselves
    add_datasets(live, SECTION.replace("{max_bytes}", str(256 * 1024)))
    try:
        yield live
    finally:
        space.stop()


@pytest.fixture
def kit() -> Any:
    return SimpleNamespace(good_rows=fixtures.good_rows, write_csv=fixtures.write_csv, write_xlsx=fixtures.write_xlsx,
                           COLUMNS=fixtures.COLUMNS, DATASET=DATASET, SECTION=SECTION, add_datasets=add_datasets)
