"""Rebuilding negotiations and transfers from a bundle's entries alone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from connector.audit import append, by_agreement, export_bundle, processes, verify_bundle

PROVIDER = {"did": "did:web:occitanie.example.fr", "role": "provider"}
HUB = {"did": "did:web:hub.example.fr"}
NEGOTIATION = [(None, "REQUESTED", "ContractRequestMessage"), ("REQUESTED", "OFFERED", "ContractOfferMessage"),
               ("OFFERED", "ACCEPTED", "ContractNegotiationEventMessage"), ("ACCEPTED", "AGREED",
               "ContractAgreementMessage"), ("AGREED", "VERIFIED", "ContractAgreementVerificationMessage"),
               ("VERIFIED", "FINALIZED", "ContractNegotiationEventMessage")]
TRANSFER = [(None, "REQUESTED", "TransferRequestMessage"), ("REQUESTED", "STARTED", "TransferStartMessage"),
            ("STARTED", "COMPLETED", "TransferCompletionMessage")]


def test_an_auditor_rebuilds_each_process_from_the_bundle(engine, signer, kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    t = kit.T0
    with Session(engine) as s:
        for i, (before, after, msg) in enumerate(NEGOTIATION):
            pids = {"consumer_pid": "urn:uuid:cn-c"} | ({"provider_pid": "urn:uuid:cn-p"} if i else {})
            body = {"actor": PROVIDER, "counterparty": HUB,
                    "process": {"kind": "negotiation", **pids, "state_from": before, "state_to": after,
                                "dsp_message": msg}}
            if after in ("AGREED", "VERIFIED", "FINALIZED"):
                body["agreement"] = {"id": "urn:uuid:agreement-7", "policy_sha256": "ab" * 32}
            append(s, "negotiation.state_changed", body, t + timedelta(seconds=i))
        append(s, "agreement.finalized", {"actor": PROVIDER, "counterparty": HUB,
                                          "agreement": {"id": "urn:uuid:agreement-7"}}, t + timedelta(seconds=7))
        for i, (before, after, msg) in enumerate(TRANSFER):
            append(s, "transfer.state_changed", {
                "actor": PROVIDER, "counterparty": HUB, "agreement": {"id": "urn:uuid:agreement-7"},
                "process": {"kind": "transfer", "consumer_pid": "urn:uuid:tp-c", "provider_pid": "urn:uuid:tp-p",
                            "state_from": before, "state_to": after, "dsp_message": msg}}, t + timedelta(seconds=10 + i))
            if after == "STARTED":
                append(s, "data.pull", {"actor": PROVIDER, "counterparty": HUB,
                                        "agreement": {"id": "urn:uuid:agreement-7"},
                                        "data": {"bytes": 4096, "rows": 120, "sha256": "cd" * 32, "format": "parquet"},
                                        "decision": {"effect": "permit", "point": "pull"}}, t + timedelta(seconds=11))
        s.commit()
        bundle = export_bundle(s, tmp_path / "b", signer=signer, now=t).path
    assert verify_bundle(bundle, [signer.vkey]).exit_code == 0

    entries = [json.loads(line) for line in (bundle / "entries.jsonl").read_bytes().splitlines()]
    histories = processes(entries)
    negotiation = histories[("negotiation", "urn:uuid:cn-c")]
    assert negotiation.states == [after for _, after, _ in NEGOTIATION] and not negotiation.gaps
    assert (negotiation.provider_pid, negotiation.agreement_id) == ("urn:uuid:cn-p", "urn:uuid:agreement-7")
    transfer = histories[("transfer", "urn:uuid:tp-p")]
    assert transfer.states == ["REQUESTED", "STARTED", "COMPLETED"] and transfer.counterparty == HUB["did"]
    timeline = by_agreement(entries)["urn:uuid:agreement-7"]
    assert [e["event"] for e in timeline][-5:] == ["agreement.finalized", "transfer.state_changed",
                                                   "transfer.state_changed", "data.pull", "transfer.state_changed"]

    # an entry that was never written shows as a gap in its process's history
    gapped = processes([e for e in entries if e.get("process", {}).get("state_to") != "ACCEPTED"])
    assert gapped[("negotiation", "urn:uuid:cn-c")].gaps == ["ACCEPTED -> AGREED after OFFERED"]
