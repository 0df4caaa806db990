"""The negative cases of dsp.md §13 (CNN, CNC) and the 400/404 rules, over HTTP: a refused message gets the right
status and a ContractNegotiationError body, and changes nothing in the node's database."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from contracts import contract_request, negotiation_event, negotiation_termination
from contracts.schemas import DSP_CONTEXT, validation_errors
from negotiation_kit import DSP, ConsumerPlayer, OPEN_OFFER, ProviderPlayer, Recorder, Space, kit_offer, new_pid, \
    service


@pytest.fixture(scope="module")
def rec():  # type: ignore[no-untyped-def]
    r = Recorder()
    yield r
    r.stop()


def _rows(live: Any) -> dict[str, list[str]]:
    """The negotiation tables and the audit log: what a refused message must leave as it was (the log of refused
    tokens, ``auth.rejected``, is the one thing a refusal adds)."""
    out = {}
    with live.node.engine.connect() as c:
        for table in ("negotiation", "negotiation_outbox", "agreement"):
            out[table] = sorted(map(repr, c.execute(text(f'SELECT * FROM "{table}"')).all()))
        out["audit_entry"] = sorted(map(repr, c.execute(text(
            "SELECT * FROM audit_entry WHERE kind <> 'auth.rejected'")).all()))
    return out


def _refused(resp: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["@type"] == "ContractNegotiationError"
    assert validation_errors(body, "ContractNegotiationError") == [], body
    return body


def _quiet(space: Space) -> None:
    """Wait until both nodes have delivered what they had to (so a snapshot is stable)."""
    for live in (space.provider, space.consumer):
        svc = service(live)
        svc.wait_until(lambda: _pending(live) == 0, 5)


def _pending(live: Any) -> int:
    with live.node.engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM negotiation_outbox WHERE status = 'pending'")).scalar()


def test_initial_request_refusals_cnn_05_to_08(shared: Space, rec: Recorder) -> None:
    base = contract_request(new_pid(), {**OPEN_OFFER, "target": shared.datasets["open"]}, callback_address=rec.url)
    _quiet(shared)
    before = _rows(shared.provider)
    cases: list[dict[str, Any]] = []
    unknown_offer = copy.deepcopy(base)
    unknown_offer["offer"]["@id"] = "urn:offer:nope"                       # CNN-05
    cases.append(unknown_offer)
    wrong_target = copy.deepcopy(base)
    wrong_target["offer"]["target"] = "urn:dataset:other"                   # CNN-06
    cases.append(wrong_target)
    both = copy.deepcopy(base)
    both["providerPid"] = new_pid()                                         # CNN-07 both
    cases.append(both)
    neither = copy.deepcopy(base)
    del neither["callbackAddress"]                                          # CNN-07 neither
    cases.append(neither)
    not_url = copy.deepcopy(base)
    not_url["callbackAddress"] = "not a url"                                # CNN-08
    cases.append(not_url)
    string_context = copy.deepcopy(base)
    string_context["@context"] = DSP_CONTEXT                                # CNN-11
    cases.append(string_context)
    for body in cases:
        _refused(shared.post(shared.consumer, shared.provider.url, shared.provider, "/negotiations/request", body))
    assert _rows(shared.provider) == before


def test_event_refusals_cnn_09_to_15(shared: Space, rec: Recorder) -> None:
    c = ConsumerPlayer(shared, rec, "ACN0202")          # the provider does nothing: stays REQUESTED
    assert c.request().status_code == 201
    _quiet(shared)
    before = _rows(shared.provider)
    ppid, cpid = c.ppid, c.cpid
    _refused(c.post(f"/negotiations/{ppid}/events", negotiation_event(ppid, cpid, "ACCEPTED")))      # CNN-09
    _refused(c.post(f"/negotiations/{ppid}/events", negotiation_event(ppid, cpid, "FINALIZED")))     # CNN-10
    old_style = {**negotiation_event(ppid, cpid, "ACCEPTED"), "eventType": "dspace:ACCEPTED"}      # CNN-11
    _refused(c.post(f"/negotiations/{ppid}/events", old_style))
    other = new_pid()                                                                               # CNN-12
    _refused(c.post(f"/negotiations/{other}/termination", negotiation_termination(other, cpid)), 404)
    _refused(c.post(f"/negotiations/{ppid}/termination",                                            # CNN-13
                    negotiation_termination(new_pid(), cpid)))
    wrong_type = negotiation_termination(ppid, cpid)
    _refused(c.post(f"/negotiations/{ppid}/events", wrong_type))             # a termination on the events path
    for headers in ({}, {"Authorization": "Bearer nonsense"}):                                     # CNN-14
        r = httpx.post(f"{shared.provider.url}{DSP}/negotiations/{ppid}/termination", headers=headers,
                       json=negotiation_termination(ppid, cpid), timeout=30)
        _refused(r, 404)
    # a valid member who is not the counter-party: 404 on POST and GET
    _refused(shared.post(shared.other, shared.provider.url, shared.provider, f"/negotiations/{ppid}/termination",
                         negotiation_termination(ppid, cpid)), 404)
    _refused(shared.get(shared.other, shared.provider, f"/negotiations/{ppid}"), 404)
    assert _rows(shared.provider) == before
    assert c.send("terminate").status_code == 200
    assert c.state() == "TERMINATED"
    r = c.post(f"/negotiations/{ppid}/termination", negotiation_termination(ppid, cpid, "2", ["again"]))
    _refused(r)                                                                                     # CNN-15
    assert c.state() == "TERMINATED"


def test_consumer_refusals_cnc_19_20(shared: Space, rec: Recorder) -> None:
    p = ProviderPlayer(shared, rec, "ACNC0104")       # verifies an agreement it accepts
    p.trigger()
    p.expect("initial")
    consumer = service(shared.consumer)
    consumer.wait_until(lambda: consumer.get(p.cpid)["provider_pid"] is not None, 5)
    _quiet(shared)
    before = _rows(shared.consumer)
    body = _refused(p.send("agree", target="urn:dataset:another"))                   # CNC-20: target
    assert body["code"] == "INVALID_AGREEMENT" and any("target" in r for r in body["reason"])
    _refused(p.send("agree", assignee=shared.other.did))                             # assignee
    _refused(p.send("agree", permission=[{"action": "odrl:distribute"}]))            # rules
    unknown = new_pid()                                                                # CNC-19
    _refused(p.post(f"/negotiations/{unknown}/termination", negotiation_termination(p.ppid, unknown)), 404)
    _refused(shared.post(shared.other, shared.consumer.url, shared.consumer, f"/negotiations/{p.cpid}/agreement",
                         {}), 400)   # schema first: an empty body is refused before any lookup
    assert _rows(shared.consumer) == before
    assert p.state() == "REQUESTED"                                                     # CNC-21
    assert p.send("agree").status_code == 200
    p.expect("agreement/verification")


def test_provider_initiated_offer_cnc_18(shared: Space) -> None:
    from contracts import contract_offer
    ppid = new_pid()
    offer = kit_offer("urn:offer:pushed", "urn:dataset:pushed")
    msg = contract_offer(ppid, offer, callback_address=shared.provider.url + DSP)
    r = shared.post(shared.provider, shared.consumer.url, shared.consumer, "/negotiations/offers", msg)
    assert r.status_code == 201, r.text
    ack = r.json()
    assert validation_errors(ack, "ContractNegotiation") == []
    assert ack["state"] == "OFFERED" and ack["providerPid"] == ppid and ack["consumerPid"].startswith("urn:uuid:")
    again = shared.post(shared.provider, shared.consumer.url, shared.consumer, "/negotiations/offers", msg)
    assert again.status_code == 201 and again.json()["consumerPid"] == ack["consumerPid"]   # no second negotiation
    view = service(shared.consumer).get(ack["consumerPid"])
    assert view["pending"] == "offer" and view["role"] == "CONSUMER"
    changed = {**msg, "offer": {**offer, "permission": [{"action": "odrl:read"}]}}
    _refused(shared.post(shared.provider, shared.consumer.url, shared.consumer, "/negotiations/offers", changed))
    # the operator turns it down: the provider (a real node here, which never heard of it) answers 404, retried
    r = shared.consumer.api("POST", f"/api/negotiations/{ack['consumerPid']}/terminate", {"reason": "pas utile"})
    assert r.status_code == 200 and r.json()["state"] == "TERMINATED"


def test_a_token_is_spent_by_the_change_it_authorises(shared: Space, rec: Recorder) -> None:
    """A protocol message consumes its token's id in the transaction of its change (trust.md §1.2, step 10): the
    same token again is refused as a replay (404 on a process path, REPLAY in the denial list) and changes nothing;
    a message refused before any change (its schema) leaves its token unspent; of many concurrent copies of one
    request exactly one is applied, although the message itself would be answered as a harmless repeat."""
    from connector.store import DenialRecord
    from sqlmodel import select
    provider = shared.provider
    token = shared.token(shared.consumer, provider)
    headers = {"Authorization": f"Bearer {token}"}
    request = contract_request(new_pid(), {**OPEN_OFFER, "target": shared.datasets["open"]}, callback_address=rec.url)
    url = f"{provider.url}{DSP}/negotiations/request"
    _refused(httpx.post(url, headers=headers, json={**request, "@type": "ContractOfferMessage"}, timeout=30))
    first = httpx.post(url, headers=headers, json=request, timeout=30)       # the same token, still unspent
    assert first.status_code == 201, first.text
    _quiet(shared)
    before = _rows(provider)
    _refused(httpx.post(url, headers=headers, json=request, timeout=30), 404)
    ppid = first.json()["providerPid"]
    _refused(httpx.post(f"{provider.url}{DSP}/negotiations/{ppid}/termination", headers=headers,
                        json=negotiation_termination(ppid, request["consumerPid"]), timeout=30), 404)
    assert _rows(provider) == before
    with provider.node.session() as s:
        assert [d.code for d in s.exec(select(DenialRecord)).all()].count("REPLAY") >= 2
    # one token, eight copies of a new request at once: one negotiation, one 201
    import concurrent.futures
    token = shared.token(shared.consumer, provider)
    request = contract_request(new_pid(), {**OPEN_OFFER, "target": shared.datasets["open"]}, callback_address=rec.url)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(lambda _: httpx.post(url, headers={"Authorization": f"Bearer {token}"},
                                                     json=request, timeout=30).status_code, range(8)))
    assert codes == [201] + [404] * 7, codes
    with provider.node.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM negotiation WHERE peer_pid = :p"),
                         {"p": request["consumerPid"]}).scalar() == 1
