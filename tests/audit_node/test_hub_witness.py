"""The hub's own log, witnessed by the members it names: ``[audit] witnesses`` on the hub and ``[audit] witness_for``
on the member must agree; the member checks the hub's checkpoints as the hub checks members' (origin, audit key,
consistency from the size it countersigned, forks refused and logged), and an auditor verifies the hub's bundle
offline against the member's pinned witness key.

The last test rewrites the hub's history: it stays last in this module (the space is shared by the module)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from audit_node_kit import entries
from click.testing import CliRunner
from sqlalchemy import text
from sqlmodel import select

from connector.audit import COSIGNATURE_V1, NoteVerifier, canonical, leaf_hash, verify_bundle, verify_checkpoint
from connector.audit_node import (AuditWitnessState, audit_settings, audit_verifiers, sign_checkpoint_now,
                                  submit_to_witness, tick, witness_name)
from connector.audit_service import audit_origin, record
from connector.commands.audit import audit
from connector.identity.did import parse_did_document
from connector.identity.keys import generate_key
from connector.testing import LiveNode, LiveSpace


def _event(node: LiveNode, n: int = 1) -> None:
    for _ in range(n):
        record(node.node, "catalog.request", {"actor": {"did": node.did, "role": "provider"},
                                              "counterparty": {"did": node.did}})


def _doc(node: LiveNode):  # type: ignore[no-untyped-def]
    return parse_did_document(httpx.get(node.url + "/.well-known/did.json").content, node.did)


def _pinned(hub: LiveNode, witness: LiveNode) -> list[NoteVerifier]:
    """What an auditor of the hub pins: the hub's log key and the member's witness key, from their DID documents."""
    return [*audit_verifiers(_doc(hub), audit_origin(hub.node)),
            *audit_verifiers(_doc(witness), witness_name(witness.url), COSIGNATURE_V1)]


@pytest.fixture
def witnessed_by_occitanie(space: LiveSpace) -> Iterator[tuple[LiveNode, LiveNode]]:
    """Both sides agree: the hub names occitanie, occitanie witnesses the hub."""
    hub, occ = space.nodes["hub"], space.nodes["occitanie"]
    hub.node.config.model.audit.update(witnesses=[occ.did])
    occ.node.config.model.audit.update(witness_for=[hub.did])
    try:
        yield hub, occ
    finally:
        for name in ("hub", "occitanie", "bretagne"):
            space.nodes[name].node.config.model.audit.clear()


def test_the_hubs_checkpoint_is_countersigned_by_a_member(space: LiveSpace,
                                                          witnessed_by_occitanie: tuple[LiveNode, LiveNode]) -> None:
    hub, occ = witnessed_by_occitanie
    _event(hub, 3)
    r = hub.api("POST", "/api/audit/checkpoint")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["witnessed"] is True and body["countersigned_by"] == [occ.did], body
    size = body["checkpoint"]["size"]
    assert body["checkpoint"]["witnesses"] == [witness_name(occ.url)]
    # the public note verifies with the hub's log key and occitanie's witness key, both from DID documents
    public = httpx.get(hub.url + "/audit/checkpoint")
    pinned = _pinned(hub, occ)
    vc = verify_checkpoint(public.text, pinned[:1], pinned[1:])
    assert vc.checkpoint.size == size and [name for name, _ in vc.cosignatures] == [witness_name(occ.url)]
    # a witnessing member publishes its witness vkey beside its log key; one that witnesses nobody does not
    assert httpx.get(occ.url + "/audit/keys").json()["witness"] == pinned[1].vkey
    assert "witness" not in httpx.get(space.nodes["bretagne"].url + "/audit/keys").json()
    # occitanie keeps its state for the hub's log in its own audit_witness table and logs the countersigning
    with occ.node.session() as s:
        state = s.get(AuditWitnessState, audit_origin(hub.node))
    assert state is not None and (state.did, state.size) == (hub.did, size)
    last = entries(occ, kind="checkpoint.witnessed")[-1]
    assert last["counterparty"]["did"] == hub.did and last["checkpoint"]["size"] == size
    assert last["actor"] == {"did": occ.did, "role": "witness"}
    # the hub's scheduler submits the next checkpoint, proved consistent with the one occitanie saw
    space.clock.advance(600)  # type: ignore[attr-defined]
    _event(hub, 2)
    done = tick(hub.node, hub.trust, owner="hub-worker")
    assert done.checkpoint is not None and done.witness is not None and done.witness.witnessed, done
    assert done.witness.countersigned_by == (occ.did,)
    with occ.node.session() as s:
        assert s.get(AuditWitnessState, audit_origin(hub.node)).size == done.checkpoint.size > size


def test_a_member_that_does_not_witness_the_hub_refuses_and_the_others_still_sign(
        space: LiveSpace, witnessed_by_occitanie: tuple[LiveNode, LiveNode]) -> None:
    hub, occ = witnessed_by_occitanie
    bre = space.nodes["bretagne"]
    unreachable = "did:web:127.0.0.1%3A1"
    hub.node.config.model.audit.update(witnesses=[unreachable, bre.did, occ.did])
    _event(hub)
    r = hub.api("POST", "/api/audit/checkpoint")
    assert r.status_code == 200, r.text
    body = r.json()
    # one unreachable witness and one that refuses do not stop occitanie; the answer says who signed
    assert body["witnessed"] is False and body["countersigned_by"] == [occ.did], body
    by_did = {w["did"]: w for w in body["witnesses"]}
    assert "unreachable" in by_did[unreachable]["detail"]
    assert not by_did[bre.did]["witnessed"] and "refused (404)" in by_did[bre.did]["detail"]
    assert "witnesses no log" in by_did[bre.did]["detail"]
    # a member that witnesses some log, but not the hub's: 403 with the reason
    bre.node.config.model.audit.update(witness_for=[occ.did])
    _event(hub)
    outcome = submit_to_witness(hub.node, hub.trust)
    refused = {res.did: res for res in outcome.results}[bre.did]
    assert not refused.witnessed and "refused (403)" in refused.detail and "witness_for" in refused.detail
    assert outcome.countersigned_by == (occ.did,)
    with bre.node.session() as s:
        assert s.get(AuditWitnessState, audit_origin(hub.node)) is None


def test_the_offline_verifier_reports_the_hubs_bundle_witnessed_by_the_member(
        space: LiveSpace, witnessed_by_occitanie: tuple[LiveNode, LiveNode], tmp_path: Path) -> None:
    hub, occ = witnessed_by_occitanie
    _event(hub, 2)
    r = httpx.get(hub.url + "/api/audit/bundle", headers={"Authorization": f"Bearer {hub.node.admin_token}"},
                  timeout=60)
    assert r.status_code == 200, r.text
    bundle = tmp_path / "hub.zip"
    bundle.write_bytes(r.content)
    pinned = _pinned(hub, occ)
    report = verify_bundle(bundle, pinned)
    assert report.ok and not report.warnings, report.to_dict()
    assert report.witnesses.get(witness_name(occ.url), 0) >= 1 and report.cosigned >= 1
    # the bundle lists occitanie's witness key for information
    import zipfile
    with zipfile.ZipFile(bundle) as z:
        assert pinned[1].vkey in z.read("keys.txt").decode()
    # the command line says who witnessed the log
    keys = tmp_path / "pinned.txt"
    keys.write_text("".join(k.vkey + "\n" for k in pinned))
    out = CliRunner().invoke(audit, ["verify", str(bundle), "--trusted-key", str(keys)])
    assert out.exit_code == 0 and f"witnessed (by {witness_name(occ.url)})" in out.output, out.output
    # a wrong key pinned for occitanie's witness name: its cosignatures are not occitanie's word
    raw = generate_key().public_key().public_bytes_raw()
    wrong = verify_bundle(bundle, [pinned[0], NoteVerifier(witness_name(occ.url), COSIGNATURE_V1,
                                                                           raw)])
    assert not wrong.ok and wrong.first_failure.code == "COSIGNATURE_UNTRUSTED"
    assert not wrong.witnesses
    keys.write_text(pinned[0].vkey + "\n" + NoteVerifier(witness_name(occ.url), COSIGNATURE_V1, raw).vkey + "\n")
    out = CliRunner().invoke(audit, ["verify", str(bundle), "--trusted-key", str(keys)])
    assert out.exit_code == 1 and "COSIGNATURE_UNTRUSTED" in out.output, out.output


def test_witness_settings_are_checked(space: LiveSpace) -> None:
    from connector.config import load_config
    from connector.node import Node
    for name, section, message in [
            ("occitanie", 'witnesses = ["did:web:x.example.fr"]', "[audit] witnesses: only the hub"),
            ("occitanie", 'witness_for = "did:web:hub"', "[audit] witness_for: expected a list of did:web DIDs"),
            ("hub", 'witnesses = [42]', "[audit] witnesses: expected a list of did:web DIDs")]:
        live = space.nodes[name]
        copy = live.node.config.base / "node-witness.toml"
        copy.write_text(live.node.config.path.read_text() + f"\n[audit]\n{section}\n")
        with pytest.raises(ValueError) as err:
            audit_settings(Node(load_config(copy)))
        assert message in str(err.value) and str(copy) in str(err.value)
    hub = space.nodes["hub"]
    copy = hub.node.config.base / "node-witness.toml"
    occ_did = space.nodes["occitanie"].did
    copy.write_text(hub.node.config.path.read_text() + f'\n[audit]\nwitnesses = ["{occ_did}"]\n')
    assert audit_settings(Node(load_config(copy))).witnesses == (occ_did,)


def _drop_guards(node: LiveNode) -> None:
    """Remove the append-only triggers of the log's tables, as an operator with database access would."""
    with node.node.session() as s, s.begin():
        for t in ("audit_entry", "audit_checkpoint", "audit_cosignature"):
            if s.get_bind().dialect.name == "sqlite":
                s.execute(text(f"DROP TRIGGER IF EXISTS {t}_no_update"))
                s.execute(text(f"DROP TRIGGER IF EXISTS {t}_no_delete"))
            else:
                s.execute(text(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}"))


def _rewrite_history(node: LiveNode, seq: int) -> None:
    """Edit entry ``seq``, re-chain every entry after it, and drop the checkpoints and cosignatures that no longer
    match: the database now holds another history, consistent in itself, that a fresh checkpoint will sign."""
    with node.node.session() as s, s.begin():
        rows = s.execute(text("SELECT seq, entry_json FROM audit_entry WHERE seq >= :s ORDER BY seq"),
                         {"s": seq}).all()
        prev = None
        for r in rows:
            entry = json.loads(r.entry_json)
            if r.seq == seq:
                entry["event_id"] = str(uuid.uuid4())
            else:
                entry["prev_leaf_hash"] = prev
            data = canonical(entry)
            prev = leaf_hash(data).hex()
            s.execute(text("UPDATE audit_entry SET entry_json = :j, leaf_hash = :h WHERE seq = :s"),
                      {"j": data.decode(), "h": prev, "s": r.seq})
        s.execute(text("UPDATE audit_head SET last_leaf_hash = :h"), {"h": prev})
        s.execute(text("DELETE FROM audit_cosignature"))
        s.execute(text("DELETE FROM audit_checkpoint"))


def test_a_rewritten_hub_log_is_refused_by_its_witness(space: LiveSpace,
                                                       witnessed_by_occitanie: tuple[LiveNode, LiveNode]) -> None:
    hub, occ = witnessed_by_occitanie
    _event(hub, 2)
    first = hub.api("POST", "/api/audit/checkpoint").json()
    assert first["witnessed"], first
    size = first["checkpoint"]["size"]
    _drop_guards(hub)
    _rewrite_history(hub, size - 2)
    forged = sign_checkpoint_now(hub.node)  # the hub signs its rewritten history
    assert forged.size >= size and not forged.witnesses
    outcome = submit_to_witness(hub.node, hub.trust)
    assert not outcome.witnessed and outcome.countersigned_by == ()
    assert "refused (409)" in outcome.detail and "not consistent" in outcome.detail, outcome.detail
    # occitanie kept the size it countersigned and wrote the refusal to its own log
    with occ.node.session() as s:
        assert s.exec(select(AuditWitnessState).where(
            AuditWitnessState.origin == audit_origin(hub.node))).one().size == size
    refusal = entries(occ, kind="policy.decision", participant=hub.did)[-1]
    assert refusal["decision"]["reason_code"] == "FORK" and refusal["decision"]["rule"] == "witness"
    assert refusal["checkpoint"]["size"] == forged.size
