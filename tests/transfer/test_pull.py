"""Pulls between real nodes: formats, verification, landing once, refusals with reasons and nothing served."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from connector.transfer.ingest import LocalControl, PullError, pull
from transfer_kit import Space, transfers


def _pull(space: Space, key: str, fmt: str = "parquet", **kw):  # type: ignore[no-untyped-def]
    c = space.consumer
    return pull(c.node, c.trust, LocalControl(transfers(c)), space.agreements[key], fmt=fmt, **kw)


def test_parquet_pull_lands_the_published_file_once(space: Space) -> None:
    first = _pull(space, "open")
    assert first.path.read_bytes() == space.source.read_bytes()
    assert first.sha256 == hashlib.sha256(space.source.read_bytes()).hexdigest()
    assert not first.duplicate and first.rows == 6000
    again = _pull(space, "open")
    assert again.duplicate and again.path == first.path
    views = transfers(space.consumer).list(agreement=space.agreements["open"])
    assert views[0]["state"] == "COMPLETED"
    assert space.sent.problems() == []


def _started(space: Space, key: str) -> tuple[str, Any]:
    """A started transfer under the agreement ``key``: (consumer pid, its data address)."""
    ctl = LocalControl(transfers(space.consumer))
    pid = ctl.request(space.agreements[key])
    return pid, ctl.wait_started(pid, 10)


def _get(address: Any, token: str | None = None, **params: str) -> httpx.Response:
    return httpx.get(address.endpoint, params={"format": "parquet", **params}, timeout=30,
                     headers={"Authorization": f"Bearer {token or address.token}"})


def _refused(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A refusal: the status and code, readable reasons, and no byte of the dataset."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["reasons"], body
    assert b"PAR1" not in r.content and b"bk-" not in r.content
    return body


@pytest.mark.parametrize("fmt", ["arrow", "csv"])
def test_arrow_and_csv_hold_the_same_rows(space: Space, fmt: str) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    landed = _pull(space, "open", fmt)
    table = (pa.ipc.open_stream(landed.path.read_bytes()).read_all() if fmt == "arrow"
             else pcsv.read_csv(landed.path))
    source = pq.read_table(space.source)
    assert table.num_rows == source.num_rows == landed.rows
    assert table.column("booking_pid").to_pylist() == source.column("booking_pid").to_pylist()
    assert table.column("nights").to_pylist() == source.column("nights").to_pylist()


def test_every_refusal_has_a_reason_and_serves_nothing(space: Space) -> None:
    pid, address = _started(space, "open")
    assert _get(address).status_code == 200
    # tampered: one character of the payload changed
    head, payload, sig = address.token.split(".")
    tampered = ".".join([head, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], sig])
    _refused(_get(address, tampered), 401, "BAD_TOKEN")
    # another transfer's token on this transfer's endpoint
    pid2, other = _started(space, "window")
    _refused(httpx.get(address.endpoint, headers={"Authorization": f"Bearer {other.token}"}), 403, "WRONG_TRANSFER")
    # after expiry (5 minutes)
    space.live.clock.advance(310)
    try:
        body = _refused(_get(address), 401, "EXPIRED")
        assert "expired" in body["message"]
    finally:
        space.live.clock.advance(-310)
    # after termination by the consumer
    transfers(space.consumer).operate(pid, "terminate", "done with it")
    ppid = transfers(space.consumer).get(pid)["provider_pid"]
    assert transfers(space.provider).wait_until(lambda: transfers(space.provider).get(ppid)["state"] == "TERMINATED")
    _refused(_get(address), 403, "TRANSFER_TERMINATED")
    transfers(space.consumer).operate(pid2, "complete")


def test_count_limit(space: Space) -> None:
    _pull(space, "count")
    _pull(space, "count", "csv")
    with pytest.raises(PullError) as e:
        _pull(space, "count", "arrow")
    assert "403" in str(e.value) and "count" in str(e.value)


def test_time_window(space: Space) -> None:
    pid, address = _started(space, "window")
    assert _get(address).status_code == 200
    import datetime as dt
    until = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    shift = until - space.live.clock.now() + 60
    # a token as the provider would issue it then (the consumer's own would have expired on the way)
    from connector.transfer.tokens import issue_access
    space.live.clock.advance(shift)
    try:
        ppid = address.endpoint.rsplit("/", 1)[-1]
        row_token = issue_access(space.provider.node, consumer=space.consumer.did, transfer=ppid, agreement="x",
                                 dataset="y", now=space.live.clock.now())
        from connector.transfer.records import TransferRow
        from sqlmodel import select
        with space.provider.node.session() as s:   # as a refresh would have made it the current token
            row = s.exec(select(TransferRow).where(TransferRow.own_pid == ppid)).one()
            row.token_jti = row_token[1]
            s.add(row)
            s.commit()
        body = _refused(_get(address, row_token[0]), 403, "POLICY_DENIED")
        assert any("dateTime" in r for r in body["reasons"]), body
    finally:
        space.live.clock.advance(-shift)
    transfers(space.consumer).operate(pid, "complete")


def test_purpose_outside_the_agreement(space: Space) -> None:
    pid, address = _started(space, "purpose")
    assert _get(address).status_code == 200   # the purpose fixed in the agreement
    body = _refused(_get(address, purpose="https://w3id.org/passerelle/purpose/Marketing"), 403, "POLICY_DENIED")
    assert any("purpose" in r for r in body["reasons"])
    transfers(space.consumer).operate(pid, "complete")


def test_revocation_cuts_access_at_once(space: Space) -> None:
    from transfer_kit import OPEN_OFFER, negotiate
    agreement = negotiate(space.consumer, space.provider, space.dataset, OPEN_OFFER["@id"])
    space.agreements["revoked"] = agreement
    pid, address = _started(space, "revoked")
    assert _get(address).status_code == 200
    r = space.provider.api("POST", f"/api/agreements/{agreement}/revoke", {"reason": "breach of the terms"})
    assert r.status_code == 200, r.text
    _refused(_get(address), 403, "TRANSFER_TERMINATED")
    assert transfers(space.consumer).wait_until(lambda: transfers(space.consumer).get(pid)["state"] == "TERMINATED")
    assert "breach of the terms" in transfers(space.consumer).get(pid)["reason"]
    with pytest.raises(PullError) as e:
        _pull(space, "revoked")
    assert "revoked" in str(e.value)


def test_refresh_rotates_and_reuse_ends_the_transfer(space: Space) -> None:
    pid, address = _started(space, "open")
    ppid = address.endpoint.rsplit("/", 1)[-1]

    def refresh(caller: Any, token: str) -> httpx.Response:
        return httpx.post(address.refresh_endpoint, json={"transfer": ppid, "refresh_token": token}, timeout=30,
                          headers={"Authorization": f"Bearer {space.token(caller, space.provider)}"})
    # another member presenting our refresh token is refused
    assert refresh(space.other, address.refresh_token).status_code == 401
    r = refresh(space.consumer, address.refresh_token)
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["refresh_token"] != address.refresh_token
    _refused(_get(address), 403, "TOKEN_SUPERSEDED")           # last token wins
    assert _get(address, fresh["access_token"]).status_code == 200
    assert refresh(space.consumer, address.refresh_token).status_code == 401   # reuse: theft
    assert transfers(space.provider).get(ppid)["state"] == "TERMINATED"
    _refused(_get(address, fresh["access_token"]), 403, "TRANSFER_TERMINATED")


def test_aggregate_only_never_serves_rows(space: Space) -> None:
    landed = _pull(space, "aggregate", "csv")
    data = landed.path.read_bytes()
    assert landed.content == "aggregate"
    assert b"bk-" not in data and b"booking_pid" not in data and b"campsite_pid" not in data
    import pyarrow.csv as pcsv
    table = pcsv.read_csv(landed.path)
    assert table.column_names == ["dep_code", "unit_type", "n_units", "nights"]
    assert table.num_rows == landed.rows
    assert min(table.column("n_units").to_pylist()) >= 3
    assert "DEP-66" not in table.column("dep_code").to_pylist()     # 2 campsites only: never published
    for fmt in ("parquet", "arrow"):
        other = _pull(space, "aggregate", fmt)
        assert other.rows == table.num_rows and other.content == "aggregate"


def test_use_with_a_cell_size_is_negotiated_and_served_as_its_aggregate(space: Space) -> None:
    """``use`` with every cell of at least 3 units (and the aggregation named): raw rows, cells of one, never
    qualify; the negotiation agrees it like any use offer, and each pull gets the aggregate."""
    from transfer_kit import AGG, PO, negotiate
    offer = {"@id": "urn:offer:t:cells", "@type": "Offer", "permission": [{"action": "use", "constraint": [
        {"leftOperand": PO + "cellSize", "operator": "gteq",
         "rightOperand": {"@value": "3", "@type": "xsd:integer"}}]}],
        AGG: {"groupBy": ["dep_code"], "measures": ["nights"], "unit": "campsite_pid"}}
    dataset = space.provider.publish("reservations-cellules", space.source, offers=[offer])
    agreement = negotiate(space.consumer, space.provider, dataset, offer["@id"])
    space.agreements["cells"] = agreement
    landed = _pull(space, "cells", "csv")
    assert landed.content == "aggregate" and b"bk-" not in landed.path.read_bytes()
    assert landed.path.read_text().splitlines()[0] == '"dep_code","n_units","nights"'
    assert landed.rows == 3     # DEP-66 (2 campsites) left out
