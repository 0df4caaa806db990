"""Fixtures of the negotiation tests: a loopback data space (hub, provider, consumer, another région) and a
recording counter-party. Helpers live in ``negotiation_kit`` (importable: this folder is put on ``sys.path``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from connector.clock import FixedClock  # noqa: E402
from connector.testing import LiveSpace  # noqa: E402
from negotiation_kit import (HUB_ONLY_OFFER, OPEN_OFFER, REGION_OFFER, Sent, Space, publish,  # noqa: E402
                             service)


def _engines() -> list[Any]:
    from connector.testing import engines_under_test
    return [pytest.param(e, marks=pytest.mark.pg) for e in engines_under_test()]


@pytest.fixture(scope="module", params=_engines())
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Space]:
    """One data space for a whole module of scenario tests (each scenario uses fresh pids): set-up is the slow part."""
    from negotiation_kit import PgSchemas
    schemas = PgSchemas() if request.param == "pg" else None
    live = LiveSpace(tmp_path_factory.mktemp("space"), FixedClock(time.time()),
                     schemas.make if schemas else (lambda: ""))
    live.add("hub", role="hub", enrol=False)
    live.enrol("hub")
    provider = live.add("campings", roles=["private_provider"])
    consumer = live.add("occitanie", territory=["REG-76"])
    other = live.add("bretagne", territory=["REG-53"])
    sent = Sent()
    for node in (provider, consumer, other):
        svc = service(node)
        svc.settings.update(conformance=True, retry_base=0.02)
        svc.on_sent = sent
        svc.start_sender()
    datasets = {"open": publish(provider, "frequentation", [OPEN_OFFER, HUB_ONLY_OFFER, REGION_OFFER])}
    try:
        yield Space(live, provider, consumer, other, sent, datasets)
    finally:
        for node in live.nodes.values():
            service(node).sender.stop()
        live.stop()
        if schemas:
            schemas.drop()
