"""Fixtures of the transfer tests: one loopback data space per module (hub, provider, consumer, another région),
the provider's real Parquet dataset with one offer per policy under test, agreements negotiated for real."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from connector.clock import FixedClock  # noqa: E402
from connector.testing import LiveSpace  # noqa: E402
from transfer_kit import (OFFERS, Sent, Space, negotiate, negotiations,  # noqa: E402
                          seed_aggregate, transfers, write_dataset)


def _engines() -> list[Any]:
    from connector.testing import engines_under_test
    return [pytest.param(e, marks=pytest.mark.pg) for e in engines_under_test()]


class _PgSchemas:
    def __init__(self) -> None:
        self.base = os.environ["PASSERELLE_TEST_PG"]
        self.made: list[str] = []

    def make(self) -> str:
        import uuid
        from sqlalchemy import create_engine, text
        from connector.store import normalise_url
        schema = "t_" + uuid.uuid4().hex[:12]
        eng = create_engine(normalise_url(self.base))
        with eng.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        eng.dispose()
        self.made.append(schema)
        sep = "&" if "?" in self.base else "?"
        return f"{self.base}{sep}options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        from sqlalchemy import create_engine, text
        from connector.store import normalise_url
        eng = create_engine(normalise_url(self.base))
        with eng.begin() as c:
            for schema in self.made:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


@pytest.fixture(scope="module", params=_engines())
def space(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Space]:
    schemas = _PgSchemas() if request.param == "pg" else None
    root = tmp_path_factory.mktemp("tspace")
    live = LiveSpace(root, FixedClock(time.time()), schemas.make if schemas else (lambda: ""))
    hub = live.add("hub", role="hub", enrol=False)
    live.enrol("hub")
    provider = live.add("campings", roles=["private_provider"])
    consumer = live.add("occitanie", territory=["REG-76"])
    other = live.add("bretagne", territory=["REG-53"])
    sent = Sent()
    for node in (hub, provider, consumer, other):
        live_sched = node.app.config["SCHEDULER"]
        node.app.config["SCHEDULER_STARTED"] = True   # tests drive the scheduler with the clock
        live_sched.stop()
        for svc in (negotiations(node), transfers(node)):
            svc.settings.update(conformance=True, retry_base=0.02)
            svc.on_sent = sent
            svc.start_sender()
    source = write_dataset(root / "src" / "bookings.parquet")
    dataset = provider.publish("reservations", source, offers=OFFERS)
    agreements = {}
    try:
        for offer in OFFERS:
            key = offer["@id"].rsplit(":", 1)[-1]
            if key == "aggregate":
                agreements[key] = seed_aggregate(provider, consumer, dataset, offer)
            else:
                agreements[key] = negotiate(consumer, provider, dataset, offer["@id"])
        yield Space(live, hub, provider, consumer, other, sent, dataset, source, agreements)
    finally:
        for node in live.nodes.values():
            negotiations(node).sender.stop()
            transfers(node).sender.stop()
        live.stop()
        if schemas:
            schemas.drop()
