"""Auditors by credential role, over HTTP: an auditor with this node in its ``auditScope`` reads entries and takes
a bundle away that verifies offline with the node's pinned audit key; everyone else is refused, and every access,
granted or refused, is in the log. From the bundles alone each negotiation of a small exchange is rebuilt, in order,
on both sides."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from audit_node_kit import (OPEN_OFFER, add_auditor, call, entries, negotiate, pinned_keys,
                            publish)

from connector.audit import by_agreement, processes, verify_bundle
from connector.audit_node import AUDIT_BUNDLE_DATASET
from connector.audit_service import record
from connector.testing import LiveSpace, watch_page


@pytest.fixture(scope="module")
def exchange(space: LiveSpace) -> Iterator[dict[str, Any]]:
    """bretagne publishes a dataset; occitanie obtains an agreement, then asks again and bretagne's operator
    refuses; ``auditeur-large`` may audit both régions."""
    occ, bre = space.nodes["occitanie"], space.nodes["bretagne"]
    if "auditeur-large" not in space.nodes:
        add_auditor(space, "auditeur-large", [occ.did, bre.did])
    publish(bre, "frequentation", [OPEN_OFFER])
    agreed = negotiate(occ, bre, "frequentation", OPEN_OFFER["@id"])
    refused = negotiate(occ, bre, "frequentation", OPEN_OFFER["@id"], refuse="une seule convention par an")
    assert agreed["state"] == "FINALIZED" and refused["state"] == "TERMINATED"
    yield {"agreed": agreed, "refused": refused, "agreement": agreed["agreement"]["@id"]}


def _bundle(auditor: Any, node: Any, tmp: Path, query: str = "") -> Path:
    r = call(auditor, node, "GET", "/audit/bundle" + query)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    path = tmp / f"{node.node.name}-{len(list(tmp.iterdir()))}.zip"
    path.write_bytes(r.content)
    return path


def _bundle_entries(path: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as z:
        return [json.loads(line) for line in z.read("entries.jsonl").splitlines()]


def test_auditor_reads_entries_of_an_agreement(space: LiveSpace, exchange: dict[str, Any]) -> None:
    occ, auditor = space.nodes["occitanie"], space.nodes["auditeur"]
    r = call(auditor, occ, "GET", "/audit/entries", params={"agreement": exchange["agreement"]})
    assert r.status_code == 200, r.text
    got = r.json()["entries"]
    assert got and all(e["agreement"]["id"] == exchange["agreement"] for e in got)
    assert {"negotiation.state_changed", "agreement.finalized"} <= {e["event"] for e in got}
    # filters are checked, every problem named
    bad = call(auditor, occ, "GET", "/audit/entries", params={"since": "hier", "kind": "nope", "limit": "0"})
    assert bad.status_code == 400
    assert all(k in bad.json()["message"] for k in ("since:", "kind:", "limit:"))
    # the access itself is in the log, with who asked
    access = entries(occ, kind="policy.decision", participant=auditor.did)
    assert access and access[-1]["decision"] == {"effect": "permit", "rule": "audit-access",
                                                 "reason_code": "AUDITOR"}
    assert access[-1]["http"]["route"] == "/audit/entries"


def test_auditor_bundle_verifies_offline_with_pinned_keys(space: LiveSpace, exchange: dict[str, Any],
                                                          tmp_path: Path) -> None:
    occ, hub, auditor = space.nodes["occitanie"], space.nodes["hub"], space.nodes["auditeur"]
    assert occ.api("POST", "/api/audit/checkpoint").json()["witnessed"]  # an earlier checkpoint, countersigned
    keys = pinned_keys(occ, hub)
    whole = _bundle(auditor, occ, tmp_path)
    report = verify_bundle(whole, keys, workers=1)
    # every entry covered by a checkpoint the hub countersigned: no warning at all
    assert report.ok and report.exit_code == 0, report.to_dict()
    assert report.cosigned >= 2 and report.entries == report.tree_size
    # one agreement's entries, each with its inclusion proof
    selection = _bundle(auditor, occ, tmp_path, f"?agreement={exchange['agreement']}")
    report = verify_bundle(selection, keys, workers=1)
    assert report.ok and 0 < report.entries < report.tree_size
    # the node's key pinned, not the bundle's: a bundle from another node does not pass as occitanie's
    other = _bundle(space.nodes["auditeur-large"], space.nodes["bretagne"], tmp_path)
    assert not verify_bundle(other, keys, workers=1).ok
    # the download is logged with its size and hash
    pulls = [e for e in entries(occ, kind="data.pull") if e["dataset"]["id"] == AUDIT_BUNDLE_DATASET]
    assert pulls[-1]["counterparty"]["did"] == auditor.did and pulls[-1]["data"]["format"] == "zip"
    assert pulls[-1]["data"]["bytes"] == selection.stat().st_size


def test_non_auditors_and_auditors_out_of_scope_are_refused_and_logged(space: LiveSpace,
                                                                       exchange: dict[str, Any]) -> None:
    occ, bre, auditor = space.nodes["occitanie"], space.nodes["bretagne"], space.nodes["auditeur"]
    r = call(bre, occ, "GET", "/audit/entries")
    assert r.status_code == 403 and r.json()["error"] == "not_auditor"
    r = call(bre, occ, "GET", "/audit/bundle")
    assert r.status_code == 403
    r = call(auditor, bre, "GET", "/audit/entries")  # auditeur may audit occitanie only
    assert r.status_code == 403 and r.json()["error"] == "out_of_scope"
    assert httpx.get(occ.url + "/audit/entries").status_code == 401
    refused = [e["decision"]["reason_code"] for e in entries(occ, kind="policy.decision", participant=bre.did)
               if e["decision"].get("rule") == "audit-access"]
    assert refused[-2:] == ["NOT_AUDITOR", "NOT_AUDITOR"]
    out = [e for e in entries(bre, kind="policy.decision", participant=auditor.did)]
    assert out[-1]["decision"] == {"effect": "deny", "rule": "audit-access", "reason_code": "OUT_OF_SCOPE"}
    assert any(e["http"]["route"] == "/audit/entries" for e in entries(occ, kind="auth.rejected"))


def test_each_negotiation_is_rebuilt_from_the_bundles_alone(space: LiveSpace, exchange: dict[str, Any],
                                                             tmp_path: Path) -> None:
    occ, bre, auditor = space.nodes["occitanie"], space.nodes["bretagne"], space.nodes["auditeur-large"]
    hub = space.nodes["hub"]
    agreement = exchange["agreement"]
    sides = {}
    for node in (occ, bre):
        path = _bundle(auditor, node, tmp_path)
        assert verify_bundle(path, pinned_keys(node, hub), workers=1).ok
        sides[node.node.name] = _bundle_entries(path)
    consumer, provider = sides["occitanie"], sides["bretagne"]
    agreed, refused = exchange["agreed"], exchange["refused"]
    for log, role in ((consumer, "consumer"), (provider, "provider")):
        # the state changes (agreement.* entries repeat the final state of the negotiation they conclude)
        changes = [e for e in log if e["event"].endswith(".state_changed")]
        histories = {(h.consumer_pid, h.provider_pid): h for h in processes(changes).values()
                     if h.kind == "negotiation"}
        ok = histories[(agreed["pid"], agreed["provider_pid"])]
        assert ok.states == ["REQUESTED", "AGREED", "VERIFIED", "FINALIZED"], (role, ok.states)
        assert ok.gaps == [] and ok.seqs == sorted(ok.seqs)
        ko = histories[(refused["pid"], refused["provider_pid"])]
        assert ko.states[-1] == "TERMINATED" and ko.gaps == [], (role, ko.states)
        # the agreement's timeline on this side: its entries in log order, ending with the finalisation
        timeline = by_agreement(log)[agreement]
        assert [e["seq"] for e in timeline] == sorted(e["seq"] for e in timeline)
        assert "agreement.finalized" in [e["event"] for e in timeline]
        finalized = next(e for e in timeline if e["event"] == "agreement.finalized")
        assert finalized["agreement"]["policy"]["permission"] == OPEN_OFFER["permission"]
    # both sides name each other
    assert {e["counterparty"]["did"] for e in by_agreement(consumer)[agreement]} == {bre.did}
    assert {e["counterparty"]["did"] for e in by_agreement(provider)[agreement]} == {occ.did}
    # and the states the live services hold are those the log ends with
    assert occ.app.config["NEGOTIATIONS"].get(agreed["pid"])["state"] == "FINALIZED"


def test_operator_api(space: LiveSpace, exchange: dict[str, Any], tmp_path: Path) -> None:
    occ = space.nodes["occitanie"]
    r = occ.api("GET", f"/api/audit/entries?agreement={exchange['agreement']}&kind=negotiation.*")
    assert r.status_code == 200
    assert {e["event"] for e in r.json()["entries"]} == {"negotiation.state_changed"}
    assert occ.api("GET", "/api/audit/entries?until=bad").status_code == 400
    assert httpx.get(occ.url + "/api/audit/entries").status_code == 401
    tl = occ.api("GET", f"/api/audit/timeline?agreement={exchange['agreement']}").json()["agreements"]
    assert [t["agreement"] for t in tl] == [exchange["agreement"]]
    (neg,) = [p for p in tl[0]["processes"] if p["kind"] == "negotiation"]
    assert neg["states"] == ["REQUESTED", "AGREED", "VERIFIED", "FINALIZED"]
    r = httpx.get(occ.url + "/api/audit/bundle", headers={"Authorization": f"Bearer {occ.node.admin_token}"})
    assert r.status_code == 200
    path = tmp_path / "op.zip"
    path.write_bytes(r.content)
    assert verify_bundle(path, pinned_keys(occ, space.nodes["hub"]), workers=1).ok
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert {"entries.jsonl", "checkpoints.jsonl", "proofs.jsonl", "keys.txt", "manifest.note"} <= set(z.namelist())


# -- passerelle audit … --dir -------------------------------------------------------------------------------------

@pytest.fixture
def cli(space: LiveSpace, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ``audit`` command group, opening nodes on the space's frozen clock (tokens must agree with it)."""
    from click.testing import CliRunner

    import connector.commands.audit as commands
    opened = commands._open_node

    def on_space_clock(node_dir: str) -> Any:
        node = opened(node_dir)
        node.clock = space.clock
        return node
    monkeypatch.setattr(commands, "_open_node", on_space_clock)
    runner = CliRunner()
    return lambda *args: runner.invoke(commands.audit, [str(a) for a in args])


def test_cli_on_a_node_directory(space: LiveSpace, exchange: dict[str, Any], cli: Any, tmp_path: Path) -> None:
    occ, hub = space.nodes["occitanie"], space.nodes["hub"]
    occ_dir = occ.node.config.base
    r = cli("show", "--dir", occ_dir, "--agreement", exchange["agreement"], "--event", "negotiation.*")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert len(lines) == 3 and all("negotiation.state_changed" in line for line in lines)
    assert "AGREED→VERIFIED" in lines[1] and f"with {space.nodes['bretagne'].did}" in lines[0]
    record(occ.node, "catalog.request", {"actor": {"did": occ.did, "role": "provider"}})  # the log grows
    r = cli("checkpoint", "--dir", occ_dir)
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"127.0.0.1:{occ.node.config.node.port}/audit/v1\n")
    assert "witnessed: countersigned by the hub" in r.output
    out = tmp_path / "cli.zip"
    r = cli("export", "--dir", occ_dir, "--out", out)
    assert r.exit_code == 0, r.output
    report = verify_bundle(out, pinned_keys(occ, hub), workers=1)
    assert report.ok and report.exit_code == 0, report.to_dict()
    r = cli("export", "--dir", occ_dir, "--out", tmp_path / "sel.zip", "--agreement", exchange["agreement"])
    assert r.exit_code == 0 and verify_bundle(tmp_path / "sel.zip", pinned_keys(occ, hub), workers=1).ok
    r = cli("checkpoint", "--dir", occ_dir, "--no-witness")
    assert r.exit_code == 0 and "witnessed" not in r.output


def test_cli_bad_input(space: LiveSpace, cli: Any, tmp_path: Path) -> None:
    occ_dir = space.nodes["occitanie"].node.config.base
    r = cli("show")
    assert r.exit_code == 2 and "give either --dir NODE_DIR or --database-url URL" in r.output
    r = cli("show", "--dir", occ_dir, "--database-url", "sqlite:///x.db")
    assert r.exit_code == 2
    r = cli("show", "--dir", tmp_path / "nowhere")
    assert r.exit_code == 2 and "no such configuration file" in r.output
    r = cli("checkpoint", "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
    assert r.exit_code == 2 and "--key" in r.output
    r = cli("show", "--dir", occ_dir, "--since", "hier")
    assert r.exit_code == 2 and "--since" in r.output


# -- the page, in headless Chromium ---------------------------------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_audit_page_in_a_browser(space: LiveSpace, exchange: dict[str, Any], chromium: Any) -> None:
    occ = space.nodes["occitanie"]
    agreement = exchange["agreement"]
    ARTIFACTS.mkdir(exist_ok=True)
    ctx = chromium.new_context(viewport={"width": 1400, "height": 1100}, locale="fr-FR")
    try:
        pg = ctx.new_page()
        errors, outside = watch_page(pg, occ.url)
        pg.goto(occ.url + "/audit")
        assert pg.locator("#entrees").count() == 0  # nothing before signing in
        pg.fill("input[name=jeton]", "mauvais")
        pg.click("button[type=submit]")
        assert "Jeton incorrect" in pg.inner_text("[role=alert]")
        pg.fill("input[name=jeton]", occ.node.admin_token)
        pg.click("button[type=submit]")
        pg.wait_for_selector("#entrees")
        assert "Journal d'audit" in pg.inner_text("h1")
        # sign a checkpoint from the page: the hub countersigns it
        pg.click("text=Signer un point de contrôle maintenant")
        pg.wait_for_selector("[role=status]")
        assert "contresigné par le hub" in pg.inner_text("[role=status]")
        assert "contresigné par" in pg.inner_text("#point-de-controle")
        # filter on the agreement: its timeline, from the request to the finalisation
        pg.fill("input[name=agreement]", agreement)
        pg.click("text=Filtrer")
        pg.wait_for_selector(f"section[data-accord='{agreement}']")
        section = pg.inner_text(f"section[data-accord='{agreement}']")
        assert "REQUESTED → AGREED → VERIFIED → FINALIZED" in section
        assert "accord conclu" in section
        rows = pg.locator("#entrees tr").count() - 1
        assert rows == len(entries(occ, agreement=agreement))
        pg.screenshot(path=str(ARTIFACTS / "audit-accord.png"), full_page=True)
        # by event type, and a bad date is refused with a French message
        pg.goto(occ.url + "/audit?kind=agreement.finalized")
        cells = pg.locator("#entrees td:nth-child(3)").all_inner_texts()
        assert cells == ["accord conclu"] * len(entries(occ, kind="agreement.finalized"))
        pg.goto(occ.url + "/audit?since=hier")
        assert "Filtre invalide" in pg.inner_text("[role=alert]")
    finally:
        ctx.close()
    assert not errors, errors
    assert not outside, outside


def test_cli_fetch_as_an_auditor(space: LiveSpace, exchange: dict[str, Any], cli: Any, tmp_path: Path) -> None:
    occ, bre, hub = space.nodes["occitanie"], space.nodes["bretagne"], space.nodes["hub"]
    auditor_dir = space.nodes["auditeur"].node.config.base
    out = tmp_path / "occ.zip"
    r = cli("fetch", "--dir", auditor_dir, "--from", occ.did, "--out", out, "--agreement", exchange["agreement"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"wrote {out}:")
    assert verify_bundle(out, pinned_keys(occ, hub), workers=1).ok
    r = cli("fetch", "--dir", auditor_dir, "--from", bre.did, "--out", tmp_path / "bre.zip")
    assert r.exit_code == 1 and "refused (403)" in r.output and "auditScope" in r.output
    assert not (tmp_path / "bre.zip").exists()
    r = cli("fetch", "--dir", auditor_dir, "--from", occ.did, "--out", out)
    assert r.exit_code == 2 and "already exists" in r.output
