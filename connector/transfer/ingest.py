"""The consumer's side of a pull: request a transfer, fetch the data with Range resume, verify, land, record once.

A pull (``pull()``) asks for a transfer under an agreement, waits for the provider's start (its data address),
downloads ``<endpoint>?format=…`` into ``<data_dir>/.tmp/`` while hashing, resumes an interrupted download with
``Range``/``If-Range`` (the ETag is the sha256 of what is served), refreshes an expired access token, and checks the
size and sha256 the provider declared before it lands the file atomically as
``<data_dir>/received/<dataset>/<sha256>.<format>`` (temp, fsync, rename, fsync of the directory). The landing is
recorded once per (agreement, slot, sha256): a second landing of the same file — a retried run, a restart after a
crash between rename and commit — is ``ingest.duplicate_skipped``. Then the transfer is completed.

The control plane is reached either in-process (:class:`LocalControl`, inside the node: API, scheduler) or through
the running node's management API (:class:`ApiControl`, the CLI: the provider's messages arrive at the node).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import httpx
from sqlalchemy.exc import IntegrityError

from connector.audit import append
from connector.negotiation.failpoints import failpoint
from connector.negotiation.store import ensure_audit_log

from .formats import land_atomically
from .messages import DataAddress
from .records import IngestRow

__all__ = ["PullError", "Landed", "LocalControl", "ApiControl", "pull", "fetch", "record_landing", "landed"]

_CHUNK = 1 << 20
EXTENSIONS = {"parquet": "parquet", "arrow": "arrows", "csv": "csv"}


class PullError(Exception):
    """A pull that could not be done; the message says why (a refusal carries the provider's reasons)."""

    def __init__(self, message: str, code: str = "PULL_FAILED"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Landed:
    path: Path
    size: int
    sha256: str
    rows: int | None
    content: str           # "rows" or "aggregate"
    duplicate: bool
    transfer: str
    slot: str

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "bytes": self.size, "sha256": self.sha256, "rows": self.rows,
                "content": self.content, "duplicate": self.duplicate, "transfer": self.transfer, "slot": self.slot}


class Control(Protocol):
    def request(self, agreement_id: str) -> str: ...
    def wait_started(self, pid: str, timeout: float) -> DataAddress: ...
    def finish(self, pid: str, outcome: dict[str, Any] | None, error: str | None) -> None: ...


class LocalControl:
    """In the node's process: the transfer service itself."""

    def __init__(self, svc: Any):
        self.svc = svc

    def request(self, agreement_id: str) -> str:
        return self.svc.request(agreement_id)["pid"]

    def wait_started(self, pid: str, timeout: float) -> DataAddress:
        def ready() -> bool:
            view = self.svc.get(pid)
            return view is not None and view["state"] in ("STARTED", "COMPLETED", "TERMINATED")
        self.svc.wait_until(ready, timeout)
        view = self.svc.get(pid)
        if view is None or view["state"] != "STARTED":
            state = view["state"] if view else "unknown"
            raise PullError(f"transfer {pid} is {state}" + (f": {view['reason']}" if view and view["reason"] else
                                                            " (no start from the provider in time)"),
                            "NOT_STARTED")
        address = self.svc.data_address(pid)
        if address is None or not address.endpoint:
            raise PullError(f"transfer {pid} started without a data address", "NO_ADDRESS")
        return address

    def finish(self, pid: str, outcome: dict[str, Any] | None, error: str | None) -> None:
        from .service import TransferFailure
        if outcome is not None:
            self.svc.set_outcome(pid, outcome)
        try:
            if error is None:
                self.svc.operate(pid, "complete")
            else:
                self.svc.operate(pid, "terminate", error[:500])
        except TransferFailure:
            pass


class ApiControl:
    """Through the running node's management API (admin token)."""

    def __init__(self, base: str, admin_token: str):
        self.client = httpx.Client(base_url=base.rstrip("/"), timeout=30,
                                   headers={"Authorization": f"Bearer {admin_token}"})

    def _call(self, method: str, path: str, json_body: Any = None) -> dict[str, Any]:
        try:
            r = self.client.request(method, path, json=json_body)
        except httpx.HTTPError as e:
            raise PullError(f"the node at {self.client.base_url} is not answering ({type(e).__name__}); start it "
                            "with `passerelle serve`", "NODE_DOWN") from None
        if r.status_code >= 400:
            try:
                message = r.json().get("message") or r.text
            except ValueError:
                message = r.text
            raise PullError(f"{method} {path}: {r.status_code} {message}"[:500], "API")
        return r.json()

    def request(self, agreement_id: str) -> str:
        return self._call("POST", "/api/transfers", {"agreement": agreement_id})["pid"]

    def wait_started(self, pid: str, timeout: float) -> DataAddress:
        deadline = time.monotonic() + timeout
        while True:
            view = self._call("GET", f"/api/transfers/{pid}")
            if view["state"] == "STARTED":
                break
            if view["state"] in ("COMPLETED", "TERMINATED") or time.monotonic() > deadline:
                raise PullError(f"transfer {pid} is {view['state']}" + (f": {view['reason']}" if view.get("reason")
                                                                         else ""), "NOT_STARTED")
            time.sleep(0.1)
        return DataAddress.from_json(self._call("GET", f"/api/transfers/{pid}/address"))

    def finish(self, pid: str, outcome: dict[str, Any] | None, error: str | None) -> None:
        try:
            if error is None:
                self._call("POST", f"/api/transfers/{pid}/complete", {"outcome": outcome})
            else:
                self._call("POST", f"/api/transfers/{pid}/terminate", {"reason": error[:500]})
        except PullError:
            pass


class _Tokens:
    """The current access and refresh tokens of one transfer; refreshing rotates both."""

    def __init__(self, node: Any, trust: Any, address: DataAddress, pid: str):
        self.node, self.trust, self.pid = node, trust, pid
        self.access, self.refresh_token = address.token, address.refresh_token
        self.refresh_endpoint = address.refresh_endpoint
        self.provider_did: str | None = None

    def refresh(self, client: httpx.Client, provider_transfer: str) -> None:
        if not self.refresh_token or not self.refresh_endpoint or not self.provider_did:
            raise PullError("the access token expired and no refresh token was given", "EXPIRED")
        token = self.trust.self_issued_token(self.provider_did)
        r = client.post(self.refresh_endpoint, json={"transfer": provider_transfer,
                                                     "refresh_token": self.refresh_token},
                        headers={"Authorization": f"Bearer {token}"})
        if r.status_code != 200:
            raise PullError(f"token refresh refused: {r.status_code} {_reason(r)}", "REFRESH_REFUSED")
        body = r.json()
        self.access, self.refresh_token = body["access_token"], body["refresh_token"]


def _reason(r: httpx.Response) -> str:
    try:
        body = json.loads(r.read() or b"{}")
    except ValueError:
        return r.text[:300]
    return body.get("message") or json.dumps(body)[:300]


def fetch(node: Any, trust: Any, address: DataAddress, fmt: str, part: Path, *, provider_did: str,
          purpose: str | None = None, progress: Callable[[int, int | None], None] | None = None,
          attempts: int = 5, client: httpx.Client | None = None) -> dict[str, Any]:
    """Download into ``part`` (resuming what it holds when the ETag matches); returns what the provider declared
    and what arrived: size, sha256, rows, content. Raises :class:`PullError` on a refusal or a mismatch."""
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0))
    provider_transfer = address.endpoint.rstrip("/").rsplit("/", 1)[-1] if address.endpoint else ""
    tokens = _Tokens(node, trust, address, provider_transfer)
    tokens.provider_did = provider_did
    etag_file = part.with_name(part.name + ".etag")
    params = {"format": fmt, **({"purpose": purpose} if purpose else {})}
    part.parent.mkdir(parents=True, exist_ok=True)
    declared: dict[str, Any] = {}
    try:
        for attempt in range(attempts):
            have = part.stat().st_size if part.exists() else 0
            etag = etag_file.read_text().strip() if etag_file.exists() else None
            headers = {"Authorization": f"Bearer {tokens.access}"}
            if have and etag:
                headers.update({"Range": f"bytes={have}-", "If-Range": f'"{etag}"'})
            try:
                with client.stream("GET", address.endpoint or "", params=params, headers=headers) as r:
                    if r.status_code == 401 and "EXPIRED" in r.headers.get("WWW-Authenticate", ""):
                        r.read()
                        tokens.refresh(client, provider_transfer)
                        continue
                    if r.status_code == 416:   # what we hold is already complete (or stale): start over
                        r.read()
                        part.unlink(missing_ok=True)
                        continue
                    if r.status_code not in (200, 206):
                        raise PullError(f"the provider refused the pull ({r.status_code}): {_reason(r)}",
                                        "REFUSED")
                    declared = {"size": int(r.headers["X-Passerelle-Size"]),
                                "sha256": r.headers["X-Passerelle-Sha256"],
                                "rows": int(r.headers["X-Passerelle-Rows"]) if "X-Passerelle-Rows" in r.headers
                                else None, "content": r.headers.get("X-Passerelle-Content", "rows")}
                    etag_file.write_text(declared["sha256"])
                    mode = "ab" if r.status_code == 206 else "wb"
                    done = have if r.status_code == 206 else 0
                    with open(part, mode, buffering=_CHUNK) as f:
                        for chunk in r.iter_raw():     # as received: what arrived before a cut is kept
                            f.write(chunk)
                            done += len(chunk)
                            if progress:
                                progress(done, declared["size"])
                            failpoint("ingest.mid_stream")
                        f.flush()
                        os.fsync(f.fileno())
                break
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise PullError(f"the connection kept breaking after {attempts} attempts", "NETWORK")
                continue
        else:
            raise PullError(f"no data after {attempts} attempts", "NETWORK")
    finally:
        if own:
            client.close()
    size = part.stat().st_size
    h = hashlib.sha256()
    with open(part, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    if size != declared["size"] or h.hexdigest() != declared["sha256"]:
        part.unlink(missing_ok=True)
        etag_file.unlink(missing_ok=True)
        raise PullError(f"the file received ({size} bytes, sha256 {h.hexdigest()[:12]}…) is not the one declared "
                        f"({declared['size']} bytes, {declared['sha256'][:12]}…); nothing landed", "MISMATCH")
    etag_file.unlink(missing_ok=True)
    return declared


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name.rsplit("/", 1)[-1].rsplit(":", 1)[-1])[:120]


def record_landing(node: Any, *, agreement: Any, pid: str, part: Path, declared: dict[str, Any], fmt: str,
                   slot: str, out: Path | None = None) -> Landed:
    """Land ``part`` atomically (content-addressed) and record it once per (agreement, slot, sha256)."""
    ensure_audit_log(node)
    digest = declared["sha256"]
    target = node.data_dir / "received" / _safe(agreement.dataset_id) / f"{digest}.{EXTENSIONS[fmt]}"
    failpoint("ingest.before_rename")
    if target.exists():
        part.unlink(missing_ok=True)
    else:
        land_atomically(part, target)
    failpoint("ingest.after_rename")
    now = node.clock.utcnow()
    body = {"actor": {"did": node.did, "role": "consumer"}, "counterparty": {"did": agreement.provider},
            "process": {"kind": "transfer", "consumer_pid": pid}, "agreement": {"id": agreement.id},
            "dataset": {"id": agreement.dataset_id[:2048], "format": fmt},
            "data": {"bytes": int(declared["size"]), "sha256": digest, "format": fmt, "slot": slot,
                     **({"rows": int(declared["rows"])} if declared.get("rows") is not None else {})}}
    duplicate = False
    with node.session() as s:
        s.add(IngestRow(agreement_id=agreement.id, dataset_id=agreement.dataset_id, slot=slot, sha256=digest,
                        byte_size=int(declared["size"]), rows=declared.get("rows"), format=fmt, path=str(target),
                        transfer_pid=pid, created_at=now))
        append(s, "ingest.file_committed", body, now)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            duplicate = True
    if duplicate:
        with node.session() as s:
            append(s, "ingest.duplicate_skipped", body, now)
            s.commit()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
        with open(target, "rb") as src, open(tmp, "wb") as dst:
            while block := src.read(_CHUNK):
                dst.write(block)
        land_atomically(tmp, out)
    return Landed(target, int(declared["size"]), digest, declared.get("rows"), declared.get("content", "rows"),
                  duplicate, pid, slot)


def landed(node: Any, agreement_id: str | None = None) -> list[dict[str, Any]]:
    """The files this node landed (newest first)."""
    from sqlmodel import select
    with node.session() as s:
        q = select(IngestRow)
        if agreement_id:
            q = q.where(IngestRow.agreement_id == agreement_id)
        rows = s.exec(q.order_by(IngestRow.id.desc()).limit(500)).all()  # type: ignore[union-attr]
    return [{"agreement": r.agreement_id, "dataset": r.dataset_id, "slot": r.slot, "sha256": r.sha256,
             "bytes": r.byte_size, "rows": r.rows, "format": r.format, "path": r.path, "transfer": r.transfer_pid,
             "landed_at": r.created_at.isoformat()} for r in rows]


def pull(node: Any, trust: Any, control: Control, agreement_id: str, *, fmt: str = "parquet", slot: str = "manual",
         out: Path | None = None, purpose: str | None = None, timeout: float = 60.0,
         progress: Callable[[int, int | None], None] | None = None,
         after_landing: Callable[[Landed, Any], None] | None = None) -> Landed:
    """One pull under ``agreement_id``: transfer, fetch, verify, land once, complete."""
    from connector.negotiation.records import AgreementRow
    from .formats import FORMATS
    if fmt not in FORMATS:
        raise PullError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}", "BAD_FORMAT")
    with node.session() as s:
        agreement = s.get(AgreementRow, agreement_id)
    if agreement is None or agreement.role != "CONSUMER":
        raise PullError(f"no agreement {agreement_id!r} of this node as consumer (see `passerelle agreements`)",
                        "UNKNOWN_AGREEMENT")
    pid = control.request(agreement_id)
    error: str | None = None
    result: Landed | None = None
    try:
        address = control.wait_started(pid, timeout)
        key = hashlib.sha256(f"{agreement_id}|{fmt}".encode()).hexdigest()[:24]
        part = node.data_dir / ".tmp" / f"{key}.{fmt}.part"
        declared = fetch(node, trust, address, fmt, part, provider_did=agreement.provider, purpose=purpose,
                         progress=progress)
        result = record_landing(node, agreement=agreement, pid=pid, part=part, declared=declared, fmt=fmt,
                                slot=slot, out=out)
        if after_landing is not None:
            after_landing(result, agreement)
        return result
    except PullError as e:
        error = str(e)
        raise
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
        raise
    finally:
        control.finish(pid, result.to_json() if result else None, error)
