"""The DSP transfer process on a node, both roles, and the provider's data-plane authorisation.

Same discipline as negotiation (docs/negotiation.md): every change is one transaction — the transfer's row (the
sans-IO :class:`Transfer` as JSON), the outbox rows of the messages it causes, the audit entries — and the answer
is sent after the commit; the outbox sender delivers with back-off; receivers are idempotent.

Reactions, unless a conformance-kit script says otherwise (``contracts.conformance``, test nodes only): the provider
starts a requested pull at once (issuing the access and refresh tokens); the consumer's management call pulls once
the start arrives and completes the transfer when the file has landed (``connector.transfer.ingest``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connector.audit import append
from connector.negotiation.failpoints import failpoint
from connector.negotiation.outbox import RETRYABLE
from connector.negotiation.records import AgreementRow
from connector.negotiation.store import LEASE_SECONDS, ensure_audit_log, new_pid, pid_candidates
from contracts import Role
from contracts.conformance import CONSUMER_TRANSFER, PROVIDER_TRANSFER, script_for
from contracts.protocol import fingerprint, same_id

from .messages import (
    HTTP_PULL, TP, DataAddress, TransferProtocolError, request_problems, transfer_error, transfer_start,
    validate_transfer_message,
)
from .outbox import TransferSender
from .records import TransferOutboxRow, TransferRow, UsageRow
from .state import Transfer, TransferState, TransferTransition
from .tokens import ACCESS_TTL, TokenError, issue_access, new_refresh, read_access, refresh_hash

__all__ = ["TransferService", "TransferFailure", "PullRefused", "Grant", "ENDPOINTS", "agreement_purpose"]

log = logging.getLogger("passerelle.transfer")

#: the DSP path of each message kind (both directions use the same names)
ENDPOINTS: dict[str, TP] = {"start": TP.START, "completion": TP.COMPLETION, "suspension": TP.SUSPENSION,
                            "termination": TP.TERMINATION}
_PATH_OF = {v: k for k, v in ENDPOINTS.items()}
_TERMINAL = ("COMPLETED", "TERMINATED")
_REMEMBERED = 16
_KIT_ID = re.compile(r"ATPC?\d{4}")


class TransferFailure(Exception):
    """A management request that cannot be honoured; ``status`` for the API."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class PullRefused(Exception):
    """A data-plane request refused: ``status`` (401 token, 403 policy/state, 404 unknown), code and reasons."""

    def __init__(self, status: int, code: str, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.status, self.code, self.reasons = status, code, reasons


@dataclass(frozen=True)
class _Facts:
    """What a refusal records about the transfer (read before the transaction ends)."""

    counterparty: str
    agreement_id: str
    dataset_id: str | None


@dataclass
class Grant:
    """What an authorised pull may serve."""

    transfer_pid: str
    agreement_id: str
    dataset_id: str
    consumer: str
    policy: dict[str, Any]
    aggregate: bool
    counted: bool


def agreement_purpose(policy: dict[str, Any]) -> str | None:
    """The purpose fixed in the agreement (first right operand of a purpose constraint), used at each pull."""
    for perm in policy.get("permission") or []:
        for c in perm.get("constraint") or []:
            if str(c.get("leftOperand", "")).rsplit("/", 1)[-1].rsplit(":", 1)[-1] == "purpose":
                right = c.get("rightOperand")
                if isinstance(right, list):
                    right = right[0] if right else None
                if isinstance(right, dict):
                    right = right.get("@id") or right.get("@value")
                return str(right) if right is not None else None
    return None


def _error(status: int, code: str, reasons: list[str], ppid: str | None = None,
           cpid: str | None = None) -> tuple[int, dict[str, Any]]:
    return status, transfer_error(ppid, cpid, code, reasons or [code])


def _pids(message: Any) -> tuple[str | None, str | None]:
    if not isinstance(message, dict):
        return None, None
    p, c = message.get("providerPid"), message.get("consumerPid")
    return (p if isinstance(p, str) else None), (c if isinstance(c, str) else None)


def _load(row: TransferRow) -> Transfer:
    return Transfer.from_dict(json.loads(row.record))


def _find(session: Session, pid: str, *, lock: bool = True) -> TransferRow | None:
    q = select(TransferRow).where(TransferRow.own_pid.in_(pid_candidates(pid)))  # type: ignore[attr-defined]
    if lock:
        q = q.with_for_update()
    return session.exec(q).first()


@dataclass
class _Work:
    """One transaction on one transfer."""

    svc: "TransferService"
    session: Session
    row: TransferRow
    tr: Transfer
    now: datetime
    sends: list[TransferOutboxRow] = field(default_factory=list)
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def base(self, **extra: Any) -> dict[str, Any]:
        process: dict[str, Any] = {"kind": "transfer"}
        for key, value in (("consumer_pid", self.tr.consumer_pid), ("provider_pid", self.tr.provider_pid)):
            if value:
                process[key] = value
        process.update(extra)
        body: dict[str, Any] = {"actor": {"did": self.svc.node.did, "role": self.tr.role.value.lower()},
                                "counterparty": {"did": self.row.counterparty}, "process": process,
                                "agreement": {"id": self.tr.agreement_id[:2048]}}
        if self.row.dataset_id:
            body["dataset"] = {"id": self.row.dataset_id[:2048]}
        return body

    def record(self, t: TransferTransition, *, reason: str | None = None) -> None:
        if t.duplicate:
            return
        extra: dict[str, Any] = {"state_from": t.old_state.value if t.old_state else None,
                                 "state_to": t.new_state.value, "dsp_message": t.kind.value}
        why = reason or ("; ".join(map(str, t.message.get("reason") or [])) or None)
        if why:
            extra["reason"] = why[:2000]
        self.entries.append(("transfer.state_changed", self.base(**extra)))
        if t.new_state is TransferState.TERMINATED:
            self.row.reason = why or self.row.reason
            self.entries.append(("transfer.terminated", self.base(reason=(why or "terminated")[:2000])))
        elif t.new_state is TransferState.COMPLETED:
            self.entries.append(("transfer.completed", self.base()))
        elif t.new_state is TransferState.SUSPENDED:
            self.entries.append(("transfer.suspended", self.base()))
        if t.outbound:
            initial = t.old_state is None
            self.sends.append(TransferOutboxRow(
                transfer_id=self.row.id or 0, kind=t.kind.value, url=self.svc.message_url(self.tr, t.kind, initial),
                body=json.dumps(t.message, separators=(",", ":")), initial=initial,
                next_at=self.svc.node.clock.now(), created_at=self.now,
                max_attempts=self.svc.settings["max_attempts"]))

    def save(self) -> None:
        tr, row = self.tr, self.row
        row.state, row.peer_pid, row.peer_address = tr.state.value, tr.peer_pid, tr.peer_address
        row.record = json.dumps(tr.to_dict(), separators=(",", ":"), default=str)
        row.updated_at = self.now
        if tr.state is not TransferState.STARTED and row.role == Role.PROVIDER.value and row.token_jti:
            if tr.state.value in _TERMINAL:
                self.entries.append(("edr.revoked", self.base(token_jti=row.token_jti,
                                                              reason=f"transfer {tr.state.value}")))
                row.token_jti, row.refresh_hash = None, None
        self.session.add(row)
        self.session.flush()
        for out in self.sends:
            out.transfer_id = row.id or 0
            self.session.add(out)
        self.session.flush()
        for kind, body in self.entries:
            append(self.session, kind, body, self.now)
        self.entries.clear()


class _Refusal:
    """A refusal decided before the evaluator (e.g. an aggregate-only agreement that names no aggregation)."""

    permitted = False

    def __init__(self, messages: list[str]):
        from types import SimpleNamespace
        self.failed = self.reasons = [SimpleNamespace(message=m) for m in messages]


_SETTINGS = {"conformance": False, "retry_base": 1.0, "max_attempts": 7}


class TransferService:
    """One per app and process: transfers on both sides, the provider's token issuing and pull authorisation."""

    def __init__(self, node: Any, trust: Any, *, catalog: Any = None):
        from connector.catalog_service import CatalogService
        self.node = node
        self.trust = trust
        self.catalog = catalog or CatalogService(node)
        raw = dict(getattr(node.config.model, "transfer", None) or {}) if hasattr(node.config, "model") else {}
        neg = dict(getattr(node.config.model, "negotiation", None) or {}) if hasattr(node.config, "model") else {}
        self.settings = {**_SETTINGS, **{k: v for k, v in neg.items() if k in _SETTINGS},
                         **{k: v for k, v in raw.items() if k in _SETTINGS}}
        self.sender = TransferSender(self._deliver, lambda: self.node.engine, self.node.clock.now)
        self.changed = threading.Condition()
        self.on_sent: Callable[[dict[str, Any]], None] | None = None
        self._audit_ready: int | None = None
        self._order = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------------------------
    def start_sender(self) -> None:
        self.sender.start()

    def _ensure_audit(self) -> None:
        if self._audit_ready != os.getpid():
            ensure_audit_log(self.node)
            self._audit_ready = os.getpid()

    def _work(self, s: Session, row: TransferRow, tr: Transfer) -> _Work:
        return _Work(self, s, row, tr, self.node.clock.utcnow())

    def _commit(self, s: Session, work: _Work) -> list[int]:
        work.save()
        ids = [o.id for o in work.sends if o.id]
        for o in work.sends:
            o.lease_owner, o.lease_until = self.sender.owner, self.node.clock.now() + LEASE_SECONDS
            s.add(o)
        s.commit()
        return ids   # type: ignore[return-value]

    def _after(self, ids: list[int]) -> None:
        with self.changed:
            self.changed.notify_all()
        if ids:
            failpoint("tp.after_commit_before_send")
            self.sender.wake(ids)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Until ``predicate()`` holds; re-checked after each commit here and every 50 ms (other workers)."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self.changed:
                self.changed.wait(min(left, 0.05))

    def message_url(self, tr: Transfer, kind: TP, initial: bool) -> str:
        base = (tr.peer_address or "").rstrip("/")
        if initial:
            return base + "/transfers/request"
        return f"{base}/transfers/{tr.peer_pid}/{_PATH_OF[kind]}"

    def _script_key(self, table: dict[str, Any], key: str | None) -> str | None:
        if not self.settings["conformance"] or not key:
            return None
        for part in reversed(key.replace("/", ":").split(":")):
            if part in table or _KIT_ID.fullmatch(part):
                return part
        return next((k for k in table if k in key), None)

    # -- provider: the request ----------------------------------------------------------------------------------
    def receive_request(self, message: Any, caller: Any) -> tuple[int, dict[str, Any]]:
        """``POST /transfers/request``: 201 + TransferProcess, 400 + TransferError."""
        self._ensure_audit()
        try:
            validate_transfer_message(message)
        except TransferProtocolError as e:
            return e.status, e.body(*_pids(message))
        if message["@type"] != "TransferRequestMessage":
            return _error(400, "NOT_INITIAL", [f"this endpoint creates a transfer: it takes a TransferRequestMessage, "
                                               f"not {message['@type']}"], *_pids(message))
        for _ in range(2):
            with self.node.session() as s:
                existing = s.exec(select(TransferRow).where(
                    TransferRow.role == Role.PROVIDER.value, TransferRow.counterparty == caller.did,
                    TransferRow.peer_pid == message["consumerPid"]).with_for_update()).first()
                if existing is not None:
                    tr = _load(existing)
                    try:
                        t = tr.receive(message)
                    except TransferProtocolError as e:
                        return e.status, tr.error_body(e)
                    ids: list[int] = []
                    if tr.state is TransferState.STARTED and tr.data_address:   # re-send our start (dsp.md §7)
                        work = self._work(s, existing, tr)
                        work.sends.append(TransferOutboxRow(
                            transfer_id=existing.id or 0, kind=TP.START.value,
                            url=self.message_url(tr, TP.START, False),
                            body=json.dumps(transfer_start(tr.provider_pid or "", tr.consumer_pid or "",
                                                           tr.data_address), separators=(",", ":")),
                            initial=False, next_at=self.node.clock.now(), created_at=work.now,
                            max_attempts=self.settings["max_attempts"]))
                        ids = self._commit(s, work)
                    self._after(ids)
                    return 201, t.reply or tr.state_message()
                agreement = s.get(AgreementRow, message["agreementId"])
                if agreement is not None and (agreement.role != Role.PROVIDER.value
                                              or agreement.consumer != caller.did):
                    agreement = None
                problems = request_problems(message, agreement_state="FINALIZED" if agreement else None,
                                            formats=(HTTP_PULL,))
                if agreement is not None and agreement.revoked:
                    problems.append(f"agreementId: the agreement was revoked "
                                    f"({agreement.revoked_reason or 'no reason'})")
                if problems:
                    return _error(400, "INVALID_REQUEST", problems, None, message["consumerPid"])
                tr, t = Transfer.from_request(message, own_pid=new_pid())
                now = self.node.clock.utcnow()
                script = self._script_key(PROVIDER_TRANSFER, agreement.id)
                row = TransferRow(role=tr.role.value, own_pid=tr.own_pid, peer_pid=tr.peer_pid,
                                  counterparty=caller.did, peer_address=tr.peer_address, agreement_id=agreement.id,
                                  dataset_id=agreement.dataset_id, format=tr.format, state=tr.state.value,
                                  script=script, record="{}", created_at=now, updated_at=now,
                                  claims=json.dumps({**caller.claims(), "status_entry": caller.status_entry},
                                                    default=str))
                s.add(row)
                try:
                    s.flush()
                except IntegrityError:
                    s.rollback()
                    continue
                work = self._work(s, row, tr)
                work.record(t)
                reply = t.reply or tr.state_message()
                actions = (script_for(PROVIDER_TRANSFER, script) or {}).get("on_request", ()) if script \
                    else ("start",)
                for action in actions:
                    self._act(work, action)
                ids = self._commit(s, work)
            failpoint("tp.provider.after_receive", "TransferRequestMessage")
            self._after(ids)
            return 201, reply
        return _error(409, "RETRY", ["concurrent duplicate; retry"], *_pids(message))

    def _address(self, work: _Work) -> DataAddress:
        """Provider: new access + refresh tokens for this transfer (last token wins)."""
        row = work.row
        now = self.node.clock.now()
        token, jti, exp = issue_access(self.node, consumer=row.counterparty, transfer=row.own_pid,
                                       agreement=row.agreement_id, dataset=row.dataset_id or "", now=now)
        refresh = new_refresh()
        spent = json.loads(row.spent or "[]")
        if row.refresh_hash:
            spent.append(row.refresh_hash)
        row.token_jti, row.token_exp, row.refresh_hash, row.spent = jti, float(exp), refresh_hash(refresh), \
            json.dumps(spent[-64:])
        work.entries.append(("edr.issued", work.base(token_jti=jti)))
        return DataAddress.http_pull(f"{self.node.public_url}/public/data/{row.own_pid}", token,
                                     refresh_token=refresh, refresh_endpoint=f"{self.node.public_url}/public/token",
                                     expires_in=ACCESS_TTL)

    def _act(self, work: _Work, action: str, reason: str | None = None) -> None:
        tr = work.tr
        if tr.state.value in _TERMINAL:
            return
        if action == "start":
            address = self._address(work) if tr.role is Role.PROVIDER and tr.pull else None
            work.record(tr.start(address))
        elif action == "suspend":
            work.record(tr.suspend("SUSPENDED", [reason or f"suspended by the {tr.role.value.lower()}"]))
        elif action == "complete":
            work.record(tr.complete())
        elif action == "terminate":
            work.record(tr.terminate("TERMINATED", [reason or f"terminated by the {tr.role.value.lower()}"]),
                        reason=reason)

    # -- both sides: later messages -------------------------------------------------------------------------------
    def receive(self, pid: str, endpoint: str, message: Any, caller: Any) -> tuple[int, dict[str, Any]]:
        """A message on ``/transfers/<pid>/<endpoint>``: 200 + TransferProcess, 400, or 404."""
        self._ensure_audit()
        kind = ENDPOINTS[endpoint]
        try:
            validate_transfer_message(message)
        except TransferProtocolError as e:
            return e.status, e.body(*_pids(message))
        if message["@type"] != kind.value:
            return _error(400, "INVALID_MESSAGE", [f"{endpoint} takes {kind.value}, not {message['@type']}"],
                          *_pids(message))
        with self.node.session() as s:
            row = _find(s, pid)
            if row is None or row.counterparty != caller.did:
                return _error(404, "UNKNOWN_PROCESS", [f"no transfer process {pid!r} with this participant"],
                              *_pids(message))
            tr = _load(row)
            fp = fingerprint(message)
            seen = json.loads(row.received or "[]")
            if fp in seen:
                return 200, tr.state_message()
            try:
                t = tr.receive(message)
            except TransferProtocolError as e:
                return e.status, tr.error_body(e)
            if t.duplicate:
                return 200, t.reply or tr.state_message()
            row.received = json.dumps((seen + [fp])[-_REMEMBERED:])
            work = self._work(s, row, tr)
            work.record(t)
            reply = t.reply or tr.state_message()
            if t.kind is TP.TERMINATION:
                self._cancel_pending(work)
            if tr.role is Role.CONSUMER and t.kind is TP.START and row.script:
                for action in (script_for(CONSUMER_TRANSFER, row.script) or {}).get("on_start", ()):
                    self._act(work, action)
            ids = self._commit(s, work)
        failpoint(f"tp.{tr.role.value.lower()}.after_receive", t.kind.value)
        self._after(ids)
        return 200, reply

    def _cancel_pending(self, work: _Work) -> None:
        for out in work.session.exec(select(TransferOutboxRow).where(
                TransferOutboxRow.transfer_id == work.row.id, TransferOutboxRow.status == "pending")).all():
            out.status = "cancelled"
            work.session.add(out)

    def state(self, pid: str, caller_did: str) -> tuple[int, dict[str, Any]]:
        with self.node.session() as s:
            row = _find(s, pid, lock=False)
        if row is None or row.counterparty != caller_did:
            return _error(404, "UNKNOWN_PROCESS", [f"no transfer process {pid!r} with this participant"],
                          pid, None)
        return 200, _load(row).state_message()

    # -- delivery -------------------------------------------------------------------------------------------------
    def _deliver(self, row_id: int) -> float | None:
        with self.node.session() as s:
            out = s.get(TransferOutboxRow, row_id)
            if out is None or out.status != "pending" or out.lease_owner != self.sender.owner:
                return None
            first = s.exec(select(TransferOutboxRow.id).where(
                TransferOutboxRow.transfer_id == out.transfer_id, TransferOutboxRow.status == "pending")
                .order_by(TransferOutboxRow.id).limit(1)).first()  # type: ignore[arg-type]
            if first != row_id:
                return 0.05          # an earlier message of this transfer goes first
            trow = s.get(TransferRow, out.transfer_id)
            if trow is None:
                return None
            counterparty, url, body, kind, initial = trow.counterparty, out.url, json.loads(out.body), out.kind, \
                out.initial
        try:
            token = self.trust.self_issued_token(counterparty)
            status, answer = self.trust.peers.request("POST", url, token=token, json=body)
            error = None if 200 <= status < 300 else f"{kind} to {url}: peer answered {status}: {str(answer)[:300]}"
        except Exception as e:  # noqa: BLE001 - any failure to reach the peer is retried
            status, answer, error = None, None, f"{kind} to {url}: {e}"
        if error is None and self.on_sent is not None:
            self.on_sent(body)
        failpoint("tp.after_send_before_ack", kind)
        return self._complete(row_id, status, answer, error)

    def _complete(self, row_id: int, status: int | None, answer: Any, error: str | None) -> float | None:
        delay: float | None = None
        with self.node.session() as s:
            out = s.exec(select(TransferOutboxRow).where(TransferOutboxRow.id == row_id).with_for_update()).first()
            if out is None or out.status != "pending" or out.lease_owner != self.sender.owner:
                return None
            row = s.exec(select(TransferRow).where(TransferRow.id == out.transfer_id).with_for_update()).first()
            if row is None:
                return None
            tr = _load(row)
            work = self._work(s, row, tr)
            retryable = status is None or status >= 500 or status in RETRYABLE
            out.attempts += 1
            if error is None:
                out.status, out.last_error = "sent", None
                if out.initial:
                    try:
                        tr.acknowledged(answer if isinstance(answer, dict) else {})
                    except TransferProtocolError as e:
                        log.warning("acknowledgement of %s not understood: %s", tr.own_pid, e)
                    if row.script:
                        for action in (script_for(CONSUMER_TRANSFER, row.script) or {}).get("on_request", ()):
                            self._act(work, action)
            elif retryable and out.attempts < out.max_attempts:
                out.last_error = error[:4000]
                delay = float(self.settings["retry_base"]) * (2 ** (out.attempts - 1))
                out.next_at = self.node.clock.now() + delay
                out.lease_until = out.next_at + LEASE_SECONDS
            else:
                out.status, out.last_error = "failed", error[:4000]
                why = (f"delivery failed after {out.attempts} attempts: {error}" if retryable
                       else f"the peer refused our message: {error}")
                if tr.state.value not in _TERMINAL and out.kind != TP.TERMINATION.value:
                    self._cancel_pending(work)
                    if tr.peer_pid is None:
                        old = tr.state
                        tr.state = TransferState.TERMINATED
                        tr.reason = {"by": tr.role.value, "code": "DELIVERY_FAILED", "reason": [why]}
                        work.record(TransferTransition(TP.TERMINATION, tr.role, old, tr.state, {}, outbound=False),
                                    reason=why)
                    else:
                        self._act(work, "terminate", why)
                        if work.sends:
                            work.sends[-1].max_attempts = 1
            s.add(out)
            ids = self._commit(s, work)
        self._after(ids)
        return delay

    # -- management -------------------------------------------------------------------------------------------------
    def request(self, agreement_id: str, *, format_: str = HTTP_PULL, provider_base: str | None = None,
                provider: str | None = None, script: str | None = None) -> dict[str, Any]:
        """Consumer: ask the provider of ``agreement_id`` for a transfer; returns its summary."""
        self._ensure_audit()
        with self.node.session() as s:
            agreement = s.get(AgreementRow, agreement_id)
        if agreement is None or agreement.role != Role.CONSUMER.value:
            raise TransferFailure(f"no agreement {agreement_id!r} of ours as consumer", 404)
        provider = provider or agreement.provider
        base = (provider_base or (self.trust.peer_url(provider) + "/dsp/2025-1")).rstrip("/")
        tr, t = Transfer.start_request(consumer_pid=new_pid(), agreement_id=agreement.id, format_=format_,
                                       callback_address=self.node.dsp_base, provider_address=base)
        now = self.node.clock.utcnow()
        with self.node.session() as s:
            row = TransferRow(role=tr.role.value, own_pid=tr.own_pid, counterparty=provider, peer_address=base,
                              agreement_id=agreement.id, dataset_id=agreement.dataset_id, format=format_,
                              state=tr.state.value, record="{}", created_at=now, updated_at=now,
                              script=script or self._script_key(CONSUMER_TRANSFER, agreement.id))
            s.add(row)
            s.flush()
            work = self._work(s, row, tr)
            work.record(t)
            ids = self._commit(s, work)
            summary = self.summary(row)
        failpoint("tp.consumer.after_start_commit")
        self._after(ids)
        return summary

    def operate(self, pid: str, action: str, reason: str | None = None) -> dict[str, Any]:
        """Either side: ``start`` (provider start or resume), ``suspend``, ``complete``, ``terminate``."""
        self._ensure_audit()
        if action not in ("start", "suspend", "complete", "terminate"):
            raise TransferFailure(f"unknown action {action!r}: expected start, suspend, complete or terminate")
        with self.node.session() as s:
            row = _find(s, pid)
            if row is None:
                raise TransferFailure(f"no transfer {pid!r}", 404)
            tr = _load(row)
            if tr.peer_pid is None:
                raise TransferFailure("the provider has not acknowledged the request yet; try again", 409)
            work = self._work(s, row, tr)
            if tr.state.value in _TERMINAL:
                raise TransferFailure(f"transfer {pid!r} is already {tr.state.value}", 409)
            try:
                if action == "terminate":
                    self._cancel_pending(work)
                self._act(work, action, reason)
            except TransferProtocolError as e:
                raise TransferFailure("; ".join(map(str, e.reasons)), 409) from None
            ids = self._commit(s, work)
            summary = self.summary(row)
        self._after(ids)
        return summary

    def revoke_agreement(self, agreement_id: str, reason: str) -> dict[str, Any]:
        """Provider: revoke an agreement; its started transfers are terminated (tokens die with them)."""
        self._ensure_audit()
        reason = (reason or "").strip() or "revoked by the provider"
        with self.node.session() as s:
            agreement = s.exec(select(AgreementRow).where(AgreementRow.id == agreement_id).with_for_update()).first()
            if agreement is None or agreement.role != Role.PROVIDER.value:
                raise TransferFailure(f"no agreement {agreement_id!r} granted by this node", 404)
            now = self.node.clock.utcnow()
            if not agreement.revoked:
                agreement.revoked, agreement.revoked_at, agreement.revoked_reason = True, now, reason[:2000]
                s.add(agreement)
                append(s, "agreement.revoked", {
                    "actor": {"did": self.node.did, "role": "provider"},
                    "counterparty": {"did": agreement.consumer},
                    "agreement": {"id": agreement.id}, "dataset": {"id": agreement.dataset_id[:2048]},
                    "process": {"kind": "transfer", "reason": reason[:2000]}}, now)
            s.commit()
            pids = [r.own_pid for r in s.exec(select(TransferRow).where(
                TransferRow.agreement_id == agreement_id, TransferRow.state.in_(("REQUESTED", "STARTED",  # type: ignore
                                                                                "SUSPENDED")))).all()]
        for pid in pids:
            try:
                self.operate(pid, "terminate", f"agreement revoked: {reason}")
            except TransferFailure:
                pass
        return {"agreement": agreement_id, "revoked": True, "reason": reason, "terminated": pids}

    # -- views ----------------------------------------------------------------------------------------------------
    def summary(self, row: TransferRow) -> dict[str, Any]:
        tr = _load(row)
        return {"pid": row.own_pid, "role": row.role, "state": row.state, "counterparty": row.counterparty,
                "provider_pid": tr.provider_pid, "consumer_pid": tr.consumer_pid, "agreement": row.agreement_id,
                "dataset": row.dataset_id, "format": row.format, "reason": row.reason,
                "outcome": json.loads(row.outcome) if row.outcome else None,
                "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}

    def get(self, pid: str) -> dict[str, Any] | None:
        with self.node.session() as s:
            row = _find(s, pid, lock=False)
            return self.summary(row) if row else None

    def data_address(self, pid: str) -> DataAddress | None:
        with self.node.session() as s:
            row = _find(s, pid, lock=False)
            return _load(row).address if row else None

    def list(self, *, role: str | None = None, state: str | None = None, agreement: str | None = None,
             limit: int = 200) -> list[dict[str, Any]]:
        with self.node.session() as s:
            q = select(TransferRow)
            if role:
                q = q.where(TransferRow.role == role.upper())
            if state:
                q = q.where(TransferRow.state == state.upper())
            if agreement:
                q = q.where(TransferRow.agreement_id == agreement)
            rows = s.exec(q.order_by(TransferRow.id.desc()).limit(limit)).all()  # type: ignore[union-attr]
            return [self.summary(r) for r in rows]

    def set_outcome(self, pid: str, outcome: dict[str, Any]) -> None:
        with self.node.session() as s:
            row = _find(s, pid)
            if row is not None:
                row.outcome = json.dumps(outcome, default=str)
                s.add(row)
                s.commit()

    # -- data plane (provider) -----------------------------------------------------------------------------------
    def authorize(self, pid: str, authorization: str | None, *, purpose: str | None = None,
                  continuation: bool = False) -> Grant:
        """Every pull: token, flow, agreement, membership, then the agreement's policy (trust.md §3.2).

        Permitted pulls are counted (``continuation``: a Range resuming a counted pull is not counted again) and
        recorded; a refusal raises :class:`PullRefused` and is recorded with its reasons."""
        self._ensure_audit()
        now = self.node.clock.now()
        try:
            claims = read_access(self.node, authorization, now)
        except TokenError as e:
            self._refused(pid, None, 401, e.code, [str(e)])
        if not same_id(claims.transfer, pid):
            self._refused(pid, None, 403, "WRONG_TRANSFER", [f"this token is for another transfer "
                                                             f"({claims.transfer}), not {pid}"])
        offered = self._offer_aggregation(claims.agreement)
        with self.node.session() as s:
            outcome = self._authorize_in(s, pid, claims, purpose, continuation, now, offered)
            if isinstance(outcome, Grant):
                s.commit()
                return outcome
            s.rollback()
        status, code, reasons, row, decision = outcome
        self._refused(pid, row, status, code, reasons, decision=decision)
        raise AssertionError("unreachable")

    def _authorize_in(self, s: Session, pid: str, claims: Any, purpose: str | None, continuation: bool,
                      now: float, offered: Any) -> Any:
        """The checks inside the transaction: a :class:`Grant`, or (status, code, reasons, row facts, decision)."""
        from .formats import AGGREGATION
        row = _find(s, pid)
        if row is None or row.role != Role.PROVIDER.value:
            return 404, "UNKNOWN_TRANSFER", [f"no transfer {pid!r} on this node"], None, None
        facts = _Facts(row.counterparty, row.agreement_id, row.dataset_id)
        if row.counterparty != claims.consumer:
            return 403, "WRONG_CONSUMER", ["the token was not issued to this transfer's consumer"], facts, None
        if row.state != TransferState.STARTED.value:
            return 403, f"TRANSFER_{row.state}", [f"the transfer is {row.state}: no data is served"], facts, None
        if row.token_jti != claims.jti:
            return 403, "TOKEN_SUPERSEDED", ["this access token is no longer the transfer's current one"], facts, None
        agreement = s.get(AgreementRow, row.agreement_id)
        if agreement is None or agreement.revoked:
            return 403, "AGREEMENT_REVOKED", [f"agreement {row.agreement_id} was revoked: "
                                              f"{agreement.revoked_reason if agreement else 'unknown agreement'}"], \
                facts, None
        stored = json.loads(row.claims or "{}")
        entry = stored.pop("status_entry", None)
        policy = json.loads(agreement.policy)
        if offered is not None and AGGREGATION not in policy:
            policy[AGGREGATION] = offered
        usage = s.exec(select(UsageRow).where(UsageRow.agreement_id == agreement.id).with_for_update()).first()
        if usage is None:
            usage = UsageRow(agreement_id=agreement.id, used=0)
            s.add(usage)
            s.flush()
        count = max(usage.used - 1, 0) if continuation else usage.used
        decision, aggregate = self._evaluate(policy, agreement, row, stored, purpose or agreement_purpose(policy),
                                             count)
        if not decision.permitted:
            return 403, "POLICY_DENIED", ([r.message for r in decision.failed]
                                          or ["no permission of the agreement allows this pull"]), facts, decision
        if entry is not None:
            try:
                revoked = self.trust.status_cache().is_revoked(entry, now)
                why = "the consumer's membership credential is revoked"
            except Exception as e:  # noqa: BLE001 - fail closed when the status cannot be told
                revoked, why = True, f"membership status cannot be checked: {e}"
            if revoked:
                return 403, "MEMBERSHIP_REVOKED", [why], facts, None
        if not continuation:
            usage.used += 1
            s.add(usage)
        work = self._work(s, row, _load(row))
        work.entries.append(("policy.decision", {**work.base(token_jti=claims.jti), "decision": {
            "effect": "permit", "reason_code": "AGGREGATE" if aggregate else "PERMIT", "evaluator": "policies",
            "point": "pull", "reasons": [r.message[:2000] for r in decision.reasons][:50]}}))
        for kind, body in work.entries:
            append(s, kind, body, work.now)
        return Grant(pid, agreement.id, agreement.dataset_id, row.counterparty, policy, aggregate, not continuation)

    def _offer_aggregation(self, agreement_id: str) -> Any:
        """The aggregation named by the catalogue offer an agreement was granted for (read before the pull's
        transaction: the catalogue reads the database on its own connection)."""
        from .formats import AGGREGATION
        with self.node.session() as s:
            agreement = s.get(AgreementRow, agreement_id)
        if agreement is None or not agreement.offer_id or AGGREGATION in agreement.policy:
            return None
        found = self.catalog.find_offer(agreement.dataset_id, agreement.offer_id)
        return found[1].get(AGGREGATION) if found is not None else None

    def _evaluate(self, policy: dict[str, Any], agreement: AgreementRow, row: TransferRow, claims: dict[str, Any],
                  purpose: str | None, count: int) -> tuple[Any, bool]:
        """``use`` (the whole dataset) if the agreement allows it, else ``aggregate`` (compute-to-data)."""
        from policies import Request, World, evaluate, parse_policy
        from .formats import AGGREGATION, AggregationError, aggregate_spec
        parsed = parse_policy(policy)
        world = World(now=self.node.clock.utcnow(), count=count, agreement_start=agreement.signed_at)
        base = dict(party=row.counterparty, target=agreement.dataset_id, purpose=purpose, claims=claims)
        # raw rows are cells of one row: a cellSize constraint judges them as such
        whole = evaluate(parsed, Request(action="use", parameters={"cellSize": 1}, **base), world)
        if whole.permitted:
            return whole, False
        aggregates = AGGREGATION in policy or any(str(p.get("action", "")).endswith("aggregate")
                                                  for p in policy.get("permission") or [])
        if not aggregates:
            return whole, False
        try:
            spec = aggregate_spec(policy)
        except AggregationError as e:
            return _Refusal([str(e)]), True
        agg = evaluate(parsed, Request(action="aggregate", parameters={"cellSize": spec.min_units}, **base), world)
        return agg, True

    def _refused(self, pid: str, row: "_Facts | None", status: int, code: str, reasons: list[str], *,
                 decision: Any = None) -> None:
        """Record a refused pull (``policy.decision`` deny and ``data.pull``) and raise :class:`PullRefused`."""
        now = self.node.clock.utcnow()
        try:
            with self.node.session() as s:
                body: dict[str, Any] = {"actor": {"did": self.node.did, "role": "provider"},
                                        "process": {"kind": "transfer", "provider_pid": pid[:2048]}}
                if row is not None:
                    body["counterparty"] = {"did": row.counterparty}
                    body["agreement"] = {"id": row.agreement_id[:2048]}
                    if row.dataset_id:
                        body["dataset"] = {"id": row.dataset_id[:2048]}
                deny = {"effect": "deny", "reason_code": code, "reasons": [r[:2000] for r in reasons][:50],
                        "evaluator": "policies" if decision is not None else "dataplane", "point": "pull"}
                append(s, "policy.decision", {**body, "decision": deny}, now)
                append(s, "data.pull", {**body, "decision": deny, "http": {"method": "GET", "status": status,
                                                                          "error_code": code}}, now)
                s.commit()
        except Exception:  # noqa: BLE001 - the refusal stands even if it could not be logged
            log.exception("could not record a refused pull")
        raise PullRefused(status, code, reasons)

    def record_pull(self, grant: Grant, served: Any, fmt: str, status: int, byte_range: str | None) -> None:
        """The ``data.pull`` entry of a permitted pull: what was served (size, rows, sha256 of the file)."""
        now = self.node.clock.utcnow()
        with self.node.session() as s:
            data: dict[str, Any] = {"bytes": int(served.size), "sha256": served.sha256, "format": fmt}
            if served.rows is not None:
                data["rows"] = int(served.rows)
            append(s, "data.pull", {
                "actor": {"did": self.node.did, "role": "provider"}, "counterparty": {"did": grant.consumer},
                "process": {"kind": "transfer", "provider_pid": grant.transfer_pid},
                "agreement": {"id": grant.agreement_id}, "dataset": {"id": grant.dataset_id[:2048], "format": fmt},
                "data": data, "decision": {"effect": "permit", "point": "pull",
                                           "reason_code": "AGGREGATE" if grant.aggregate else "PERMIT"},
                "http": {"method": "GET", "status": status, **({"route": byte_range} if byte_range else {})}}, now)
            s.commit()

    def refresh(self, caller: Any, refresh_token: str, transfer_pid: str) -> dict[str, Any]:
        """``POST /public/token``: rotate the tokens; an old refresh token presented again ends the transfer."""
        self._ensure_audit()
        digest = refresh_hash(refresh_token or "")
        with self.node.session() as s:
            row = _find(s, transfer_pid)
            if row is None or row.role != Role.PROVIDER.value or row.counterparty != caller.did:
                raise PullRefused(401, "BAD_REFRESH", ["no such transfer for this participant"])
            if digest in json.loads(row.spent or "[]"):
                reuse = True
            elif row.refresh_hash != digest:
                raise PullRefused(401, "BAD_REFRESH", ["refresh token not recognised"])
            else:
                reuse = False
            if row.state != TransferState.STARTED.value and not reuse:
                raise PullRefused(403, f"TRANSFER_{row.state}", [f"the transfer is {row.state}"])
            if not reuse:
                tr = _load(row)
                work = self._work(s, row, tr)
                address = self._address(work)
                work.entries.append(("edr.refreshed", work.base(token_jti=row.token_jti or "")))
                self._commit(s, work)
                return {"access_token": address.token, "refresh_token": address.refresh_token,
                        "expires_in": ACCESS_TTL, "token_type": "bearer", "endpoint": address.endpoint}
        # theft: an old refresh token came back; the transfer ends, its tokens with it (trust.md §3.2)
        try:
            self.operate(transfer_pid, "terminate", "REFRESH_REUSE: a rotated refresh token was presented again")
        except TransferFailure:
            pass
        raise PullRefused(401, "REFRESH_REUSE", ["this refresh token was already used; the transfer is terminated"])
