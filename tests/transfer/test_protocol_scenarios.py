"""Every TP and TP_C scenario of the conformance kit (dsp.md §11) and the §13 cases, over HTTP between real nodes.

Provider scenarios: the test plays the consumer (Bretagne's identity, a recording callback endpoint) against the
campsite federation's node; agreements carry the kit's ids (``ATP0101``…) so the node follows the kit's scripts.
Consumer scenarios: the test plays the provider against Occitanie's node (agreements ``ATPC0101``…). Every message
a node sends is checked against the 2025-1 schemas.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connector.transfer import DataAddress, transfer_completion, transfer_start, transfer_suspension, \
    transfer_termination
from contracts.schemas import validation_errors
from transfer_kit import DSP, Recorder, Space, seed_agreement, state_of, transfers, wait_state

PULL = "HttpData-PULL"
ADDRESS = DataAddress.http_pull("http://example.com", "token-1")


@pytest.fixture(scope="module")
def recorder() -> Any:
    r = Recorder()
    yield r
    r.stop()


def _new() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


# -- CUT = provider -----------------------------------------------------------------------------------------------
def _request(space: Space, recorder: Recorder, agreement: str, cpid: str, **extra: Any) -> Any:
    seed_agreement(space.provider, agreement, role="PROVIDER", provider=space.provider.did,
                   consumer=space.other.did, dataset=space.dataset)
    body = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "TransferRequestMessage",
            "consumerPid": cpid, "agreementId": agreement, "format": PULL, "callbackAddress": recorder.url, **extra}
    return space.post(space.other, space.provider.url + DSP, space.provider, "/transfers/request", body)


def _mine(cpid: str) -> Any:
    return lambda path, body: body.get("consumerPid") == cpid


# kit id: provider's scripted messages, in order
PROVIDER_SCRIPTED = {
    "ATP0101": ["start", "termination"], "ATP0102": ["start", "completion"],
    "ATP0103": ["start", "suspension", "termination"], "ATP0104": ["start", "suspension", "start", "completion"],
    "ATP0105": ["termination"],
}
FINAL = {"termination": "TERMINATED", "completion": "COMPLETED", "start": "STARTED", "suspension": "SUSPENDED"}


@pytest.mark.parametrize("kit_id", sorted(PROVIDER_SCRIPTED))
def test_tp_01_provider_driven(space: Space, recorder: Recorder, kit_id: str) -> None:
    cpid = _new()
    r = _request(space, recorder, kit_id, cpid)
    assert r.status_code == 201, r.text
    ack = r.json()
    assert ack["@type"] == "TransferProcess" and ack["state"] == "REQUESTED" and ack["consumerPid"] == cpid
    assert not validation_errors(ack)
    steps = PROVIDER_SCRIPTED[kit_id]
    for i, step in enumerate(steps, 1):
        path, body = recorder.wait_for(_mine(cpid), i)
        assert path == f"/transfers/{cpid}/{step}", (path, body)
        assert body["providerPid"] == ack["providerPid"] and not validation_errors(body)
    first = recorder.wait_for(_mine(cpid), 1)[1]
    if steps[0] == "start":       # TPP-11: typed address with endpoint and token
        assert first["dataAddress"]["@type"] == "DataAddress" and first["dataAddress"]["endpointType"]
        assert {p["name"] for p in first["dataAddress"]["endpointProperties"]} >= {"authorization", "refreshToken"}
    got = space.get(space.other, space.provider, f"/transfers/{ack['providerPid']}")
    assert got.status_code == 200 and got.json()["state"] == FINAL[steps[-1]]


# kit id: consumer messages sent by the test after the provider's start (or at once), expected status each
CONSUMER_DRIVEN = {
    "ATP0201": (["termination"], [200], "TERMINATED"),
    "ATP0202": (["completion"], [200], "COMPLETED"),
    "ATP0203": (["suspension", "termination"], [200, 200], "TERMINATED"),
    "ATP0204": (["suspension", "start", "completion"], [200, 200, 200], "COMPLETED"),   # TPP-13 (kit-disabled)
    "ATP0205": (["termination"], [200], "TERMINATED"),
    "ATP0301": (["completion"], [400], "REQUESTED"),
    "ATP0302": (["suspension"], [400], "REQUESTED"),
    "ATP0303": (["suspension", "completion"], [200, 400], "SUSPENDED"),
    "ATP0304": (["termination", "start"], [200, 400], "TERMINATED"),
    "ATP0305": (["termination", "suspension"], [200, 400], "TERMINATED"),
    "ATP0306": (["termination", "completion"], [200, 400], "TERMINATED"),
}
_BUILD = {"termination": lambda p, c: transfer_termination(p, c, "1", ["test"]),
          "completion": transfer_completion, "suspension": lambda p, c: transfer_suspension(p, c, "1", ["pause"]),
          "start": lambda p, c: transfer_start(p, c)}


@pytest.mark.parametrize("kit_id", sorted(CONSUMER_DRIVEN))
def test_tp_02_03_consumer_driven(space: Space, recorder: Recorder, kit_id: str) -> None:
    cpid = _new()
    r = _request(space, recorder, kit_id, cpid)
    assert r.status_code == 201, r.text
    ppid = r.json()["providerPid"]
    if kit_id not in ("ATP0205", "ATP0301", "ATP0302"):
        recorder.wait_for(_mine(cpid), 1)    # the provider's start
        assert wait_state(space.provider, ppid, "STARTED") == "STARTED"
    messages, statuses, final = CONSUMER_DRIVEN[kit_id]
    for step, status in zip(messages, statuses):
        r = space.post(space.other, space.provider.url + DSP, space.provider, f"/transfers/{ppid}/{step}",
                       _BUILD[step](ppid, cpid))
        assert r.status_code == status, (step, r.text)
        if status == 400:
            assert r.json()["@type"] == "TransferError" and r.json()["reason"]
            assert not validation_errors(r.json())
    assert space.get(space.other, space.provider, f"/transfers/{ppid}").json()["state"] == final


def test_tpp_10_12_and_refusals(space: Space, recorder: Recorder) -> None:
    cpid = _new()
    first = _request(space, recorder, "ATP0201", cpid)
    assert first.status_code == 201
    recorder.wait_for(_mine(cpid), 1)
    again = _request(space, recorder, "ATP0201", cpid)                    # TPP-12: same request, same process
    assert again.status_code == 201 and again.json()["providerPid"] == first.json()["providerPid"]
    recorder.wait_for(_mine(cpid), 2)                                     # the start, sent again
    # TPN-07: unknown or foreign agreement
    seed_agreement(space.provider, "urn:agreement:foreign", role="PROVIDER", provider=space.provider.did,
                   consumer=space.consumer.did, dataset=space.dataset)
    body = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "TransferRequestMessage",
            "consumerPid": _new(), "agreementId": "urn:agreement:foreign", "format": PULL,
            "callbackAddress": recorder.url}
    r2 = space.post(space.other, space.provider.url + DSP, space.provider, "/transfers/request", body)
    r = space.post(space.other, space.provider.url + DSP, space.provider, "/transfers/request",
                   {**body, "consumerPid": _new(), "agreementId": _new()})
    for resp in (r, r2):
        assert resp.status_code == 400 and resp.json()["@type"] == "TransferError", resp.text
    # TPN-09: a format the dataset is not distributed in
    r3 = _request(space, recorder, "ATP0201", _new(), format="HttpData-PUSH")
    assert r3.status_code == 400 and "format" in r3.text
    # TPN-10: unknown pid; another member's process; no token → 404
    assert space.get(space.other, space.provider, f"/transfers/{_new()}").status_code == 404
    ppid = first.json()["providerPid"]
    assert space.get(space.consumer, space.provider, f"/transfers/{ppid}").status_code == 404
    import httpx
    assert httpx.get(space.provider.url + DSP + f"/transfers/{ppid}").status_code == 404
    # TPN-11: a consumer's start in REQUESTED
    cpid2 = _new()
    r4 = _request(space, recorder, "ATP0301", cpid2)
    ppid2 = r4.json()["providerPid"]
    r5 = space.post(space.other, space.provider.url + DSP, space.provider, f"/transfers/{ppid2}/start",
                    transfer_start(ppid2, cpid2))
    assert r5.status_code == 400 and r5.json()["code"] == "INVALID_TRANSITION"
    # not schema-valid: no format, no callbackAddress
    bad = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "TransferRequestMessage",
           "consumerPid": _new(), "agreementId": "ATP0201"}
    r6 = space.post(space.other, space.provider.url + DSP, space.provider, "/transfers/request", bad)
    assert r6.status_code == 400 and r6.json()["@type"] == "TransferError"


# -- CUT = consumer -----------------------------------------------------------------------------------------------
def _consumer_request(space: Space, recorder: Recorder, kit_id: str) -> tuple[str, str]:
    seed_agreement(space.consumer, kit_id, role="CONSUMER", provider=space.other.did, consumer=space.consumer.did,
                   dataset="urn:dataset:kit")
    view = transfers(space.consumer).request(kit_id, provider_base=recorder.url, provider=space.other.did)
    cpid = view["pid"]
    path, body = recorder.wait_for(_mine(cpid), 1)
    assert path == "/transfers/request" and not validation_errors(body)
    assert "dataAddress" not in body and body["callbackAddress"] == space.consumer.node.dsp_base   # TPC-16
    ppid = recorder.ppids[cpid]
    assert transfers(space.consumer).wait_until(lambda: transfers(space.consumer).get(cpid)["provider_pid"])
    return cpid, ppid


def _to_consumer(space: Space, cpid: str, step: str, body: dict[str, Any]) -> Any:
    return space.post(space.other, space.consumer.url + DSP, space.consumer, f"/transfers/{cpid}/{step}", body)


# kit id: provider messages sent by the test, expected statuses, consumer messages expected, final state
PROVIDER_SIDE = {
    "ATPC0101": (["start", "termination"], [200, 200], [], "TERMINATED"),
    "ATPC0102": (["start", "completion"], [200, 200], [], "COMPLETED"),
    "ATPC0103": (["start", "suspension", "termination"], [200, 200, 200], [], "TERMINATED"),
    "ATPC0104": (["start", "suspension", "start", "completion"], [200] * 4, [], "COMPLETED"),
    "ATPC0105": (["termination"], [200], [], "TERMINATED"),
    "ATPC0201": (["start"], [200], ["termination"], "TERMINATED"),
    "ATPC0202": (["start"], [200], ["completion"], "COMPLETED"),
    "ATPC0203": (["start"], [200], ["suspension", "termination"], "TERMINATED"),
    "ATPC0205": ([], [], ["termination"], "TERMINATED"),
    "ATPC0301": (["completion"], [400], [], "REQUESTED"),
    "ATPC0302": (["suspension"], [400], [], "REQUESTED"),
    "ATPC0303": (["start", "suspension", "completion"], [200, 200, 400], [], "SUSPENDED"),
    "ATPC0304": (["start", "termination", "start"], [200, 200, 400], [], "TERMINATED"),
    "ATPC0305": (["start", "termination", "suspension"], [200, 200, 400], [], "TERMINATED"),
    "ATPC0306": (["start", "termination", "completion"], [200, 200, 400], [], "TERMINATED"),
}


@pytest.mark.parametrize("kit_id", sorted(PROVIDER_SIDE))
def test_tp_c_scenarios(space: Space, recorder: Recorder, kit_id: str) -> None:
    cpid, ppid = _consumer_request(space, recorder, kit_id)
    sends, statuses, replies, final = PROVIDER_SIDE[kit_id]
    starts = 0
    for step, status in zip(sends, statuses):
        if step == "start":
            starts += 1
            body = transfer_start(ppid, cpid, DataAddress.http_pull("http://example.com", f"token-{starts}"))
        else:
            body = _BUILD[step](ppid, cpid)
        r = _to_consumer(space, cpid, step, body)
        assert r.status_code == status, (step, r.text)
        if status == 400:
            assert r.json()["@type"] == "TransferError" and not validation_errors(r.json())
    for i, step in enumerate(replies, 2):
        path, body = recorder.wait_for(_mine(cpid), i)
        assert path == f"/transfers/{ppid}/{step}" and not validation_errors(body), (path, body)
    assert wait_state(space.consumer, cpid, final) == final
    got = space.get(space.other, space.consumer, f"/transfers/{cpid}")          # TPC-17 (T11)
    assert got.status_code == 200 and got.json()["state"] == final


def test_tpc_18_start_without_address_and_unknown_pid(space: Space, recorder: Recorder) -> None:
    cpid, ppid = _consumer_request(space, recorder, "ATPC0102")
    r = _to_consumer(space, cpid, "start", transfer_start(ppid, cpid))
    assert r.status_code == 400 and "dataAddress" in r.text
    assert state_of(space.consumer, cpid) == "REQUESTED"
    assert _to_consumer(space, _new(), "completion", transfer_completion(ppid, _new())).status_code == 404
    # a valid member who is not the counter-party
    r = space.post(space.provider, space.consumer.url + DSP, space.consumer, f"/transfers/{cpid}/termination",
                   transfer_termination(ppid, cpid))
    assert r.status_code == 404 and state_of(space.consumer, cpid) == "REQUESTED"


def test_messages_sent_are_schema_valid(space: Space) -> None:
    assert space.sent.messages and space.sent.problems() == []
