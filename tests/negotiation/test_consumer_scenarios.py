"""The conformance kit's CN_C scenarios (dsp.md §11) against a consumer node over HTTP: the consumer is started by
the kit's trigger hook, the test plays the provider (a member's identity; the consumer's messages reach a recording
endpoint), and the consumer follows the kit's scripted reactions.

``C:x``: the consumer's next message must arrive at x (``initial`` = ``/negotiations/request``); ``P:x`` we send x
(``!400``: must be refused, state unchanged).
"""

from __future__ import annotations

import pytest

from contracts.schemas import validation_errors
from negotiation_kit import ProviderPlayer, Recorder, Space, service

SCENARIOS = {
    "CN_C:01-01": ("ACNC0101", ["P:offer", "C:events", "P:agree", "C:agreement/verification", "P:finalize"],
                   "FINALIZED"),
    "CN_C:01-02": ("ACNC0102", ["P:offer", "C:request", "P:terminate"], "TERMINATED"),
    "CN_C:01-03": ("ACNC0103", ["P:offer", "C:termination"], "TERMINATED"),
    "CN_C:01-04": ("ACNC0104", ["P:agree", "C:agreement/verification", "P:finalize"], "FINALIZED"),
    "CN_C:02-01": ("ACNC0201", ["P:terminate"], "TERMINATED"),
    "CN_C:02-02": ("ACNC0202", ["C:termination"], "TERMINATED"),
    "CN_C:02-03": ("ACNC0203", ["P:agree", "C:termination"], "TERMINATED"),
    "CN_C:02-04": ("ACNC0204", ["P:offer", "P:terminate"], "TERMINATED"),
    "CN_C:02-05": ("ACNC0205", ["P:offer", "C:events", "P:terminate"], "TERMINATED"),
    "CN_C:02-06": ("ACNC0206", ["P:agree", "C:agreement/verification", "P:terminate"], "TERMINATED"),
    "CN_C:03-01": ("ACNC0301", ["P:finalize!400"], "REQUESTED"),
    "CN_C:03-02": ("ACNC0302", ["P:offer", "P:agree!400"], "OFFERED"),
    "CN_C:03-03": ("ACNC0303", ["P:offer", "P:finalize!400"], "OFFERED"),
    "CN_C:03-04": ("ACNC0304", ["P:offer", "C:events", "P:finalize!400"], "ACCEPTED"),
    "CN_C:03-05": ("ACNC0305", ["P:offer", "C:events", "P:offer!400"], "ACCEPTED"),
    "CN_C:03-06": ("ACNC0306", ["P:offer", "C:events", "P:agree", "P:finalize!400"], "AGREED"),
}


@pytest.fixture(scope="module")
def rec():  # type: ignore[no-untyped-def]
    r = Recorder()
    yield r
    r.stop()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_cn_c_scenario(shared: Space, rec: Recorder, scenario: str) -> None:
    dataset, steps, final = SCENARIOS[scenario]
    p = ProviderPlayer(shared, rec, dataset)
    p.trigger()
    initial = p.expect("initial")
    assert "callbackAddress" in initial and "providerPid" not in initial
    assert initial["offer"]["@id"] == p.offer["@id"] and initial["offer"]["target"] == dataset
    consumer = service(shared.consumer)
    consumer.wait_until(lambda: consumer.get(p.cpid)["provider_pid"] is not None, 5)
    for step in steps:
        side, what = step.split(":")
        if side == "C":
            body = p.expect(what)
            assert body["providerPid"] == p.ppid
            continue
        refused = what.endswith("!400")
        before = p.state()
        resp = p.send(what.removesuffix("!400"))
        if refused:
            assert resp.status_code == 400, resp.text
            assert validation_errors(resp.json(), "ContractNegotiationError") == []
            assert p.state() == before
        else:
            assert resp.status_code == 200, resp.text
    consumer.wait_until(lambda: consumer.get(p.cpid)["state"] == final, 5)
    assert p.state() == final
    assert len(rec.matching(lambda path, b: b.get("consumerPid") == p.cpid)) == p.seen
    if final == "FINALIZED":
        agreement = consumer.get(p.cpid)["agreement"]
        assert consumer.agreement(agreement["@id"])["provider"] == shared.provider.did
