"""Checkpoints on demand and on schedule, and the hub's witness: cosigns what extends the log it saw, refuses forks,
checkpoints signed by another key and logs that are not the caller's; its state is kept in the hub's database."""

from __future__ import annotations

import base64
import hashlib

import httpx
from audit_node_kit import call, entries, pinned_keys
from sqlmodel import select

from connector.audit import Checkpoint, NoteSigner, sign_checkpoint, verify_checkpoint
from connector.audit_node import (AuditWitnessState, log_signer, origin_of_did, submit_to_witness, tick,
                                  witness_name)
from connector.audit_service import audit_origin, record
from connector.identity.keys import generate_key
from connector.testing import LiveNode, LiveSpace


def _event(node: LiveNode, n: int = 1) -> None:
    for _ in range(n):
        record(node.node, "catalog.request", {"actor": {"did": node.did, "role": "provider"},
                                              "counterparty": {"did": node.did}})


def test_checkpoint_on_demand_is_countersigned_and_public(space: LiveSpace) -> None:
    occ, hub = space.nodes["occitanie"], space.nodes["hub"]
    _event(occ, 3)
    r = occ.api("POST", "/api/audit/checkpoint")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["witnessed"] is True, body
    size = body["checkpoint"]["size"]
    assert size >= 3 and body["checkpoint"]["witnesses"] == [witness_name(hub.url)]
    public = httpx.get(occ.url + "/audit/checkpoint")
    assert public.status_code == 200 and public.headers["X-Tree-Size"] == str(size)
    vc = verify_checkpoint(public.text, *_split(pinned_keys(occ, hub)))
    assert vc.checkpoint.size == size and vc.checkpoint.origin == audit_origin(occ.node)
    assert [name for name, _ in vc.cosignatures] == [witness_name(hub.url)]
    # the vkeys the node publishes are the ones derived from its DID document
    keys = httpx.get(occ.url + "/audit/keys").json()
    assert keys["log"] == pinned_keys(occ, hub)[0].vkey
    assert httpx.get(hub.url + "/audit/keys").json()["witness"] == pinned_keys(occ, hub)[1].vkey
    # the hub keeps its state per log in its database and writes the cosigning to its own log
    with hub.node.session() as s:
        state = s.exec(select(AuditWitnessState)).all()
    assert (audit_origin(occ.node), occ.did, size) in [(w.origin, w.did, w.size) for w in state]
    witnessed = entries(hub, kind="checkpoint.witnessed")
    assert witnessed[-1]["counterparty"]["did"] == occ.did and witnessed[-1]["checkpoint"]["size"] == size
    # the next checkpoint is proved consistent with the one the hub saw, and countersigned too
    _event(occ, 2)
    again = occ.api("POST", "/api/audit/checkpoint").json()
    assert again["witnessed"] and again["checkpoint"]["size"] == size + 2


def _split(keys):  # type: ignore[no-untyped-def]
    return [k for k in keys if k.sig_type == 1], [k for k in keys if k.sig_type == 4]


def test_tick_checkpoints_on_schedule_and_submits(space: LiveSpace) -> None:
    occ, clock = space.nodes["occitanie"], space.clock
    trust = occ.trust
    clock.advance(600)  # type: ignore[attr-defined]  # past any lease and interval left by other tests
    _event(occ)
    first = tick(occ.node, trust, owner="worker-1")
    assert first.leader and first.checkpoint is not None and first.witness is not None and first.witness.witnessed
    size = first.checkpoint.size
    # nothing new: nothing to sign, nothing to submit again
    idle = tick(occ.node, trust, owner="worker-1")
    assert idle.checkpoint is None and idle.witness.detail == "already countersigned"
    # the log grew, but the interval (60 s by default) has not passed
    _event(occ)
    assert tick(occ.node, trust, owner="worker-1").checkpoint is None
    # another worker process does not work while the lease is held
    assert tick(occ.node, trust, owner="worker-2").leader is False
    clock.advance(61)  # type: ignore[attr-defined]
    due = tick(occ.node, trust, owner="worker-1")
    assert due.checkpoint is not None and due.checkpoint.size == size + 1 and due.witness.witnessed
    # the lease (3 × the interval) runs out when its holder stops renewing: another worker takes over
    clock.advance(181)  # type: ignore[attr-defined]
    assert tick(occ.node, trust, owner="worker-2").leader is True
    assert tick(occ.node, trust, owner="worker-1").leader is False


def test_tick_every_n_entries(space: LiveSpace) -> None:
    occ = space.nodes["occitanie"]
    occ.node.config.model.audit.update(checkpoint_entries=5, witness=False)
    space.clock.advance(600)  # type: ignore[attr-defined]
    try:
        _event(occ)
        assert tick(occ.node, occ.trust, owner="w").checkpoint is not None  # the interval passed
        _event(occ, 4)
        assert tick(occ.node, occ.trust, owner="w").checkpoint is None
        _event(occ)
        result = tick(occ.node, occ.trust, owner="w")
        assert result.checkpoint is not None and result.witness is None
    finally:
        occ.node.config.model.audit.clear()


def _witness(space: LiveSpace, caller: LiveNode, note: str, old: int, proof: list[bytes] = ()) -> httpx.Response:
    hub = space.nodes["hub"]
    return call(caller, hub, "POST", "/audit/witness",
                json={"checkpoint": note, "old_size": old, "proof": [base64.b64encode(h).decode() for h in proof]})


def _witnessed_size(space: LiveSpace) -> int:
    occ = space.nodes["occitanie"]
    _event(occ, 3)
    body = occ.api("POST", "/api/audit/checkpoint").json()
    assert body["witnessed"], body
    return body["checkpoint"]["size"]


def test_witness_refuses_a_fork(space: LiveSpace) -> None:
    occ, hub = space.nodes["occitanie"], space.nodes["hub"]
    size = _witnessed_size(space)
    signer = log_signer(occ.node)
    origin = audit_origin(occ.node)
    # the same size with another root: a second history
    other = sign_checkpoint(Checkpoint(origin, size, hashlib.sha256(b"other history").digest()), signer)
    r = _witness(space, occ, other, size)
    assert r.status_code == 409 and r.json()["error"] == "fork", r.text
    # a larger tree that does not extend the countersigned one
    bigger = sign_checkpoint(Checkpoint(origin, size + 5, hashlib.sha256(b"rewritten").digest()), signer)
    r = _witness(space, occ, bigger, size, [hashlib.sha256(b"x").digest()])
    assert r.status_code == 409 and r.json()["error"] == "fork"
    # a rollback to an older size
    older = sign_checkpoint(Checkpoint(origin, size - 1, hashlib.sha256(b"older").digest()), signer)
    assert _witness(space, occ, older, size).json()["error"] == "fork"
    with hub.node.session() as s:
        assert s.get(AuditWitnessState, origin).size == size  # unchanged
    refusals = entries(hub, kind="policy.decision", participant=occ.did)
    assert [e["decision"]["reason_code"] for e in refusals][-3:] == ["FORK", "FORK", "FORK"]
    # the genuine history still goes on
    _event(occ)
    assert occ.api("POST", "/api/audit/checkpoint").json()["witnessed"]


def test_witness_refuses_wrong_key_wrong_origin_and_stale_size(space: LiveSpace) -> None:
    occ, bre, hub = space.nodes["occitanie"], space.nodes["bretagne"], space.nodes["hub"]
    size = _witnessed_size(space)
    origin = audit_origin(occ.node)
    forged = sign_checkpoint(Checkpoint(origin, size + 1, hashlib.sha256(b"f").digest()),
                             NoteSigner(origin, generate_key()))
    r = _witness(space, occ, forged, size)
    assert r.status_code == 400 and r.json()["error"] == "bad_signature", r.text
    assert "no signature by a trusted key" in r.json()["message"]
    # bretagne may not submit occitanie's log, even with a note occitanie signed
    genuine = sign_checkpoint(Checkpoint(origin, size, hashlib.sha256(b"g").digest()), log_signer(occ.node))
    r = _witness(space, bre, genuine, 0)
    assert r.status_code == 403 and r.json()["error"] == "wrong_origin"
    assert origin_of_did(bre.did) in r.json()["message"]
    # a node that proves from a size the hub did not countersign is told the hub's size
    _event(occ)
    with occ.node.session() as s:
        from connector.audit import checkpoint
        note = checkpoint(s, log_signer(occ.node), space.clock.now())
        s.commit()
    r = _witness(space, occ, note, 0)
    assert r.status_code == 409 and r.json() == {**r.json(), "error": "old_size_mismatch", "size": size}
    # not authenticated: 401, logged on the hub; on a node that is not the hub: 404
    assert httpx.post(hub.url + "/audit/witness", json={}).status_code == 401
    assert any(e["http"]["route"] == "/audit/witness" for e in entries(hub, kind="auth.rejected"))
    assert call(occ, bre, "POST", "/audit/witness", json={}).status_code == 404
    # the node's own submission recovers (it proves from the size it recorded)
    assert submit_to_witness(occ.node, occ.trust).witnessed


def test_witness_state_survives_a_restart_of_the_hub(space: LiveSpace) -> None:
    """A second app on the hub's database (a restart, or another worker) refuses the fork the first one would."""
    from connector.app import create_app
    from connector.node import Node
    occ, hub = space.nodes["occitanie"], space.nodes["hub"]
    size = _witnessed_size(space)
    fresh = create_app(Node(hub.node.config, space.clock))
    fork = sign_checkpoint(Checkpoint(audit_origin(occ.node), size, hashlib.sha256(b"fork").digest()),
                           log_signer(occ.node))
    client = fresh.test_client()
    token = occ.trust.self_issued_token(hub.did)
    r = client.post("/audit/witness", json={"checkpoint": fork, "old_size": size, "proof": []},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 409 and r.get_json()["error"] == "fork"
    fresh.config["NODE"].engine.dispose()


def test_bad_submissions_list_every_problem(space: LiveSpace) -> None:
    occ = space.nodes["occitanie"]
    r = call(occ, space.nodes["hub"], "POST", "/audit/witness", json={"old_size": -1, "proof": ["zz"]})
    assert r.status_code == 400
    msg = r.json()["message"]
    assert "checkpoint:" in msg and "old_size:" in msg and "proof[0]:" in msg


def test_scheduler_starts_once_per_served_worker(space: LiveSpace) -> None:
    """Served by ``passerelle serve``, each worker process starts one scheduler thread with its background work;
    served otherwise (tests, in-process spaces) nothing runs in the background and ``tick`` is called explicitly."""
    import os

    from connector.app import start_background
    app = space.nodes["bretagne"].app
    client = app.test_client()
    client.get("/audit/keys")
    assert app.config.get("AUDIT_SCHEDULER") is None
    app.config["SERVED"] = True
    try:
        start_background(app)
        scheduler = app.config["AUDIT_SCHEDULER"]
        try:
            assert scheduler.pid == os.getpid() and scheduler.period == 15.0 and scheduler._thread.is_alive()
            start_background(app)
            client.get("/audit/keys")
            assert app.config["AUDIT_SCHEDULER"] is scheduler
        finally:
            scheduler.stop()
            app.config.pop("AUDIT_SCHEDULER")
    finally:
        app.config.pop("SERVED")
    assert not scheduler._thread.is_alive()


def test_audit_settings_from_the_config_file(space: LiveSpace) -> None:
    import pytest

    from connector.audit_node import audit_settings
    from connector.config import load_config
    from connector.node import Node
    occ = space.nodes["occitanie"]
    copy = occ.node.config.base / "node-audit.toml"
    copy.write_text(occ.node.config.path.read_text() + "\n[audit]\ncheckpoint_seconds = 30\nwitness = false\n")
    settings = audit_settings(Node(load_config(copy)))
    assert settings.checkpoint_seconds == 30 and settings.witness is False and settings.checkpoint_entries == 1000
    copy.write_text(occ.node.config.path.read_text() + "\n[audit]\ncheckpoint_seconds = \"bientôt\"\nextra = 1\n")
    with pytest.raises(ValueError) as err:
        audit_settings(Node(load_config(copy)))
    assert "[audit] checkpoint_seconds: expected a number" in str(err.value)
    assert "[audit] extra: unknown key" in str(err.value) and str(copy) in str(err.value)
