"""The conformance kit's CN scenarios (dsp.md §11) against a provider node over HTTP: the test plays the consumer
(a member's identity, callbacks to a recording endpoint), the provider follows the kit's scripted reactions.

Each step: ``C:x`` we send x (``!400`` = must be refused with a ContractNegotiationError, state unchanged), ``P:x``
the provider's next message must arrive at our callback path x.
"""

from __future__ import annotations

import pytest

from negotiation_kit import ConsumerPlayer, Recorder, Space, service
from contracts.schemas import validation_errors

SCENARIOS = {
    "CN:01-01": ("ACN0101", ["P:offers", "C:terminate"], "TERMINATED"),
    "CN:01-02": ("ACN0102", ["P:offers", "C:counter", "P:termination"], "TERMINATED"),
    "CN:01-03": ("ACN0103", ["P:offers", "C:accept", "P:agreement", "C:verify", "P:events"], "FINALIZED"),
    "CN:01-04": ("ACN0104", ["P:agreement", "C:verify", "P:events"], "FINALIZED"),
    "CN:02-01": ("ACN0201", ["P:termination"], "TERMINATED"),
    "CN:02-02": ("ACN0202", ["C:terminate"], "TERMINATED"),
    "CN:02-03": ("ACN0203", ["P:agreement", "C:terminate"], "TERMINATED"),
    "CN:02-04": ("ACN0204", ["P:offers", "C:terminate"], "TERMINATED"),
    "CN:02-05": ("ACN0205", ["P:offers", "P:termination"], "TERMINATED"),
    "CN:02-06": ("ACN0206", ["P:offers", "C:accept", "P:termination"], "TERMINATED"),
    "CN:02-07": ("ACN0207", ["P:agreement", "C:verify", "P:termination"], "TERMINATED"),
    "CN:03-01": ("ACN0301", ["P:agreement", "C:verify", "P:events", "C:terminate!400"], "FINALIZED"),
    "CN:03-02": ("ACN0302", ["P:offers", "C:verify!400"], "OFFERED"),
    "CN:03-03": ("ACN0303", ["P:offers", "C:accept", "C:verify!400"], "ACCEPTED"),
    "CN:03-04": ("ACN0304", ["P:offers", "C:counter", "C:counter!400"], "REQUESTED"),
}


@pytest.fixture(scope="module")
def rec():  # type: ignore[no-untyped-def]
    r = Recorder()
    yield r
    r.stop()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_cn_scenario(shared: Space, rec: Recorder, scenario: str) -> None:
    dataset, steps, final = SCENARIOS[scenario]
    c = ConsumerPlayer(shared, rec, dataset)
    r = c.request()
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "REQUESTED" and r.json()["consumerPid"] == c.cpid
    assert validation_errors(r.json(), "ContractNegotiation") == []
    for step in steps:
        side, what = step.split(":")
        if side == "P":
            body = c.expect(what)
            assert body["providerPid"] == c.ppid
            if what == "agreement":
                a = body["agreement"]
                assert a["target"] == dataset and a["assigner"] == shared.provider.did
                assert a["assignee"] == shared.consumer.did and "timestamp" in a
            continue
        refused = what.endswith("!400")
        before = c.state()
        resp = c.send(what.removesuffix("!400"))
        if refused:
            assert resp.status_code == 400, resp.text
            assert resp.json()["@type"] == "ContractNegotiationError"
            assert validation_errors(resp.json(), "ContractNegotiationError") == []
            assert c.state() == before
        else:
            assert resp.status_code == 200, resp.text
    provider_view = service(shared.provider).get(c.ppid)
    service(shared.provider).wait_until(lambda: service(shared.provider).get(c.ppid)["state"] == final, 5)
    assert c.state() == final, provider_view
    # nothing further arrives for this negotiation once the script has run
    assert len(rec.matching(lambda p, b: b.get("consumerPid") == c.cpid)) == c.seen
