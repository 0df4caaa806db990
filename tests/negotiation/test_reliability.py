"""Idempotent receivers, delivery with back-off, and manual approval, over HTTP between real nodes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from contracts import contract_request
from negotiation_kit import ConsumerPlayer, OPEN_OFFER, Recorder, Space, new_pid, service, wait_state


def _count(live: Any, sql: str) -> int:
    with live.node.engine.connect() as c:
        return c.execute(text(sql)).scalar()


def test_repeated_messages_have_no_second_effect(shared: Space) -> None:
    rec = Recorder()
    try:
        c = ConsumerPlayer(shared, rec, "ACN0103")      # offer; agree on ACCEPTED; finalize on verification
        first = c.request()
        again = c.request()                             # the same initial request: same negotiation
        assert again.status_code == 201 and again.json()["providerPid"] == first.json()["providerPid"]
        assert _count(shared.provider, f"SELECT count(*) FROM negotiation WHERE peer_pid = '{c.cpid}'") == 1
        c.expect("offers")
        for _ in range(3):                              # ACCEPTED delivered three times: one agreement
            assert c.send("accept").status_code == 200
        c.expect("agreement")
        for _ in range(2):
            assert c.send("verify").status_code == 200
        c.expect("events")
        assert c.state() == "FINALIZED"
        assert c.send("verify").status_code == 200      # a late retry after FINALIZED: acknowledged, no effect
        assert len(rec.matching(lambda p, b: b.get("consumerPid") == c.cpid)) == 3
        neg_id = _count(shared.provider, f"SELECT id FROM negotiation WHERE peer_pid = '{c.cpid}'")
        assert _count(shared.provider, f"SELECT count(*) FROM agreement WHERE negotiation_id = {neg_id}") == 1
        changes = _count(shared.provider, "SELECT count(*) FROM audit_entry WHERE kind = 'negotiation.state_changed'"
                                          f" AND entry_json LIKE '%{c.cpid}%'")
        assert changes == 6   # REQUESTED, OFFERED, ACCEPTED, AGREED, VERIFIED, FINALIZED
    finally:
        rec.stop()


def test_unreachable_peer_retried_with_back_off_then_terminated(shared: Space) -> None:
    down = Recorder(reply=lambda path, body: (503, {"error": "down"}))
    try:
        c = ConsumerPlayer(shared, down, "ACN0104")     # the provider will try to send an agreement
        assert c.request().status_code == 201
        assert wait_state(shared.provider, c.ppid, "TERMINATED", timeout=20) == "TERMINATED"
        view = service(shared.provider).get(c.ppid)
        assert "delivery failed after 7 attempts" in view["reason"] and "503" in view["reason"]
        agreements = down.matching(lambda p, b: p.endswith("/agreement") and b.get("consumerPid") == c.cpid)
        assert len(agreements) == 7                     # 7 tries, then a best-effort termination
        _, termination = down.wait_for(lambda p, b: p.endswith("/termination"), 1)
        assert "delivery failed" in termination["reason"][0]
    finally:
        down.stop()


def test_manual_approval_by_api_and_page(shared: Space) -> None:
    svc = service(shared.provider)
    svc.settings["approval"] = "manual"
    try:
        _manual_approval(shared, svc)
    finally:
        svc.settings["approval"] = "auto"


def _manual_approval(shared: Space, svc: Any) -> None:
    token = shared.provider.node.admin_token

    def start() -> tuple[str, str]:
        r = shared.consumer.api("POST", "/api/negotiations", {"provider": shared.provider.did,
                                                             "dataset": "frequentation", "offer": OPEN_OFFER["@id"]})
        pid = r.json()["pid"]
        svc.wait_until(lambda: bool(svc.list(pending=True)), 5)
        waiting = [n for n in svc.list(pending=True) if n["consumer_pid"] == pid]
        assert waiting and waiting[0]["state"] == "REQUESTED" and waiting[0]["decision"]["effect"] == "permit"
        return pid, waiting[0]["pid"]

    pid, ppid = start()
    r = shared.provider.api("GET", "/api/negotiations?pending=1")
    assert [n["pid"] for n in r.json()["negotiations"]] == [ppid]
    r = shared.provider.api("POST", f"/api/negotiations/{ppid}/approve")
    assert r.status_code == 200 and r.json()["state"] == "AGREED"
    assert wait_state(shared.consumer, pid, "FINALIZED") == "FINALIZED"
    assert shared.provider.api("POST", f"/api/negotiations/{ppid}/approve").status_code == 409

    pid2, ppid2 = start()
    page = httpx.Client(base_url=shared.provider.url, timeout=30)
    assert "Jeton d'administration" in page.get("/negociations").text
    assert page.post("/negociations/connexion", data={"jeton": "faux"}).status_code == 401
    r = page.post("/negociations/connexion", data={"jeton": token}, follow_redirects=True)
    assert "En attente d'approbation (1)" in r.text and shared.consumer.did in r.text
    r = page.post(f"/negociations/{ppid2}/refuser", data={"motif": "Usage non prévu par la convention"})
    assert r.status_code == 200 and "Demande refusée" in r.text
    assert wait_state(shared.consumer, pid2, "TERMINATED") == "TERMINATED"
    assert service(shared.consumer).get(pid2)["reason"] == "Usage non prévu par la convention"
    assert shared.provider.api("GET", "/api/negotiations?pending=1").json()["negotiations"] == []
    r = httpx.get(shared.provider.url + "/api/negotiations", timeout=30)
    assert r.status_code == 401


def test_management_start_reports_a_missing_offer(shared: Space) -> None:
    r = shared.consumer.api("POST", "/api/negotiations", {"provider": shared.provider.did, "dataset": "frequentation",
                                                         "offer": "urn:offer:absent"})
    assert r.status_code == 404 and "urn:offer:open" in r.json()["message"]
    r = shared.consumer.api("POST", "/api/negotiations", {"provider": shared.provider.did})
    assert r.status_code == 400 and "dataset" in r.json()["message"]


def test_a_new_message_waits_while_an_earlier_one_of_its_negotiation_is_pending(shared: Space) -> None:
    """Messages of one negotiation go out in order: the first message of a change is leased to its process at
    insert only when nothing earlier of that negotiation is still pending (checked in the same statement)."""
    from datetime import datetime, timezone
    from connector.negotiation import store
    r = shared.consumer.api("POST", "/api/negotiations", {"provider": shared.provider.did,
                                                         "dataset": "frequentation", "offer": OPEN_OFFER["@id"]})
    pid = r.json()["pid"]
    assert wait_state(shared.consumer, pid, "FINALIZED") == "FINALIZED"
    with shared.consumer.node.engine.connect() as conn, conn.begin() as tx:
        nid = conn.execute(text("SELECT id FROM negotiation WHERE own_pid = :pid"), {"pid": pid}).scalar()
        conn.execute(text("UPDATE negotiation_outbox SET status = 'sent' WHERE negotiation_id = :nid"), {"nid": nid})

        def send(kind: str) -> store.Send:
            return store.Send(negotiation_id=nid, kind=kind, url="http://127.0.0.1:9/x", body="{}", initial=False,
                              next_at=0.0, created_at=datetime.now(timezone.utc), max_attempts=7,
                              lease_owner="me", lease_until=1.0)

        def insert_first(kind: str) -> tuple[int, str | None]:
            return store._INSERT_FIRST_SEND.first(conn, store._OUTBOX_CODEC.encode(conn, send(kind).values()))

        first_id, owner = insert_first("a")
        assert owner == "me"                       # nothing pending before it: ours to deliver now
        second_id, owner = insert_first("b")
        assert owner is None                       # "a" is still pending: "b" waits for whoever completes "a"
        lease = conn.execute(text(f"SELECT lease_owner, lease_until FROM negotiation_outbox WHERE id = {second_id}"))
        assert tuple(lease.one()) == (None, None)
        conn.execute(text(f"UPDATE negotiation_outbox SET status = 'sent' WHERE id IN ({first_id}, {second_id})"))
        assert insert_first("c")[1] == "me"
        tx.rollback()


def test_a_message_marked_sent_passes_the_turn_to_the_next_pending_one(shared: Space) -> None:
    """Marking a delivered message sent also finds the next pending message of its negotiation (same statement):
    that one is leased to this process; a message held by another process is not marked. The marks of one group
    commit are one statement: each row gets its own next row, and a next row held elsewhere stays there."""
    from datetime import datetime, timezone
    from connector.negotiation import store
    service = shared.consumer.app.config["NEGOTIATIONS"]
    owner = service.sender.owner
    r = shared.consumer.api("POST", "/api/negotiations", {"provider": shared.provider.did,
                                                         "dataset": "frequentation", "offer": OPEN_OFFER["@id"]})
    pid = r.json()["pid"]
    assert wait_state(shared.consumer, pid, "FINALIZED") == "FINALIZED"
    engine = shared.consumer.node.engine

    def insert(kind: str, lease_owner: str | None) -> int:
        send = store.Send(negotiation_id=nid, kind=kind, url="http://127.0.0.1:9/x", body="{}", initial=False,
                          next_at=0.0, created_at=datetime.now(timezone.utc), max_attempts=1,
                          lease_owner=lease_owner, lease_until=None if lease_owner is None else 1e12)
        with engine.begin() as conn:
            return store._INSERT_SEND.scalar(conn, store._OUTBOX_CODEC.encode(conn, send.values()))

    def outbox(rid: int) -> tuple[str, str | None]:
        with engine.connect() as conn:
            return tuple(conn.execute(text(f"SELECT status, lease_owner FROM negotiation_outbox WHERE id = {rid}"))
                         .one())

    with engine.connect() as conn:
        nid = conn.execute(text("SELECT id FROM negotiation WHERE own_pid = :pid"), {"pid": pid}).scalar()
    alone = insert("alone", owner)
    service._sent(alone)
    assert outbox(alone) == ("sent", owner)                        # nothing after it: nothing else taken
    foreign = insert("held elsewhere", "another-process")
    service._sent(foreign)
    assert outbox(foreign) == ("pending", "another-process")     # not ours: left alone
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE negotiation_outbox SET status = 'sent' WHERE id = {foreign}"))
    first, second = insert("a", owner), insert("b", None)
    service._sent(first)
    assert outbox(first) == ("sent", owner)
    assert outbox(second)[1] == owner                              # the turn passed: "b" is ours to deliver
    # the marks of one group in one statement, in three negotiations: "c" passes the turn to "d", "g" to nothing,
    # "f" to a row another process holds, which stays with it
    def finalized() -> int:
        pid = shared.consumer.api("POST", "/api/negotiations", {
            "provider": shared.provider.did, "dataset": "frequentation", "offer": OPEN_OFFER["@id"]}).json()["pid"]
        assert wait_state(shared.consumer, pid, "FINALIZED") == "FINALIZED"
        with engine.connect() as conn:
            return conn.execute(text("SELECT id FROM negotiation WHERE own_pid = :pid"), {"pid": pid}).scalar()
    nid = finalized()
    g = insert("g", owner)
    nid = finalized()
    c, d = insert("c", owner), insert("d", None)
    nid = finalized()
    f, held = insert("f", owner), insert("held", "another-process")
    follows: list[list[int]] = [[], [], []]
    with service._group.transaction() as conn:
        service._mark_sent(conn, [(c, follows[0]), (g, follows[1]), (f, follows[2])])
    assert [outbox(r)[0] for r in (c, g, f)] == ["sent"] * 3
    assert follows == [[d], [], []]
    assert outbox(d) == ("pending", owner) and outbox(held) == ("pending", "another-process")
