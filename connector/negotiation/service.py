"""Contract negotiation on a node, both roles: DSP messages in, decisions, persisted state, messages out.

The HTTP layer calls :meth:`NegotiationService.receive_initial` / :meth:`~NegotiationService.receive` with a message
and the authenticated caller and answers with the (status, body) they return; the management API and the CLI call
:meth:`~NegotiationService.start`, :meth:`~NegotiationService.approve`, :meth:`~NegotiationService.reject`... Every
change is one transaction (state + outbox + audit, ``store.Work``); the acknowledgement is returned only after
commit, and the outbox sender delivers what was committed.

Reactions, unless a conformance-kit script says otherwise (``contracts.conformance``, test nodes only):

- provider, on a request (initial or counter): match it against the catalogue offer, evaluate the policy against
  the caller's verified membership claims, then agree, terminate with the reasons, or (``approval = "manual"``)
  wait for the operator; on ACCEPTED: agree; on verification: finalize.
- consumer, on an offer equal to the one it asked for: accept (any other offer waits for the operator); on an
  agreement (already checked by ``Negotiation.receive``: target, parties, rules): verify.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Iterator
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from contracts import (
    CN, Negotiation, NegotiationError, NegotiationState, Role, Transition, fingerprint, is_initial,
    offer_for_request, validate_negotiation_message,
)
from contracts.conformance import CONSUMER_NEGOTIATION, PROVIDER_NEGOTIATION, script_for
from contracts.negotiation_messages import negotiation_error

from .decide import decide
from connector.store import Statement

from .failpoints import failpoint
from .outbox import RETRYABLE, Sender
from .records import AgreementRow, NegotiationRow, OutboxRow
from .store import (AGREEMENT, LEASE_SECONDS, OUTBOX, Row, Work, ensure_audit_log, find_row, load, new_pid,
                    row_by_id, row_by_peer)

__all__ = ["NegotiationService", "NegotiationFailure", "ENDPOINT_KINDS", "settings_of"]

log = logging.getLogger("passerelle.negotiation")

#: the message types each callback path accepts, and the side (our role) it belongs to (None: either)
ENDPOINT_KINDS: dict[str, tuple[tuple[str, ...], Role | None]] = {
    "request": (("ContractRequestMessage",), Role.PROVIDER),
    "agreement/verification": (("ContractAgreementVerificationMessage",), Role.PROVIDER),
    "offers": (("ContractOfferMessage",), Role.CONSUMER),
    "agreement": (("ContractAgreementMessage",), Role.CONSUMER),
    "events": (("ContractNegotiationEventMessage",), None),
    "termination": (("ContractNegotiationTerminationMessage",), None),
}

_TERMINAL = ("FINALIZED", "TERMINATED")
_REMEMBERED = 16   # fingerprints of applied messages kept per negotiation
_KIT_ID = re.compile(r"ACNC?\d{4}")


class NegotiationFailure(Exception):
    """A management request that cannot be honoured; ``status`` for the API, message for people."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


_SETTINGS = {"approval": "auto", "conformance": False, "retry_base": 1.0, "max_attempts": 7}


def settings_of(node: Any) -> dict[str, Any]:
    """The ``[negotiation]`` section with its defaults; a bad value is a ConfigError naming the file and key."""
    from connector.config import ConfigError
    raw = dict(getattr(node.config.model, "negotiation", None) or {})
    where = f"{node.config.path}: [negotiation]"
    problems = [f"{where} {k}: unknown key (expected {', '.join(_SETTINGS)})" for k in raw if k not in _SETTINGS]
    settings = {**_SETTINGS, **{k: v for k, v in raw.items() if k in _SETTINGS}}
    if settings["approval"] not in ("auto", "manual"):
        problems.append(f"{where} approval: expected \"auto\" or \"manual\", got {settings['approval']!r}")
    if not isinstance(settings["conformance"], bool):
        problems.append(f"{where} conformance: expected true or false")
    if not isinstance(settings["retry_base"], (int, float)) or not 0 < settings["retry_base"] <= 60:
        problems.append(f"{where} retry_base: expected seconds between 0 and 60")
    if not isinstance(settings["max_attempts"], int) or not 1 <= settings["max_attempts"] <= 20:
        problems.append(f"{where} max_attempts: expected a whole number from 1 to 20")
    if problems:
        raise ConfigError("; ".join(problems))
    settings["retry_base"] = float(settings["retry_base"])
    return settings


def _error(status: int, code: str, reasons: list[str], provider_pid: str | None = None,
           consumer_pid: str | None = None) -> tuple[int, dict[str, Any]]:
    return status, negotiation_error(provider_pid, consumer_pid, code, reasons or [code])


class NegotiationService:
    """One per app (and process): the negotiation logic around the sans-IO core, and the outbox sender."""

    def __init__(self, node: Any, trust: Any, *, catalog: Any = None):
        from connector.catalog_service import CatalogService
        self.node = node
        self.trust = trust
        self.catalog = catalog or CatalogService(node)
        self.settings = settings_of(node)
        self.sender = Sender(self._deliver, lambda: self.node.engine, self.node.clock.now)
        self._audit_ready: int | None = None
        self._lock = threading.Lock()
        self.on_sent: Callable[[dict[str, Any]], None] | None = None   # tests: every message delivered
        self.changed = threading.Condition()   # notified after every commit: lets a waiter block without polling
        self._handoff: dict[int, tuple[str, str, str, str, bool, int]] = {}
        from connector.store import is_sqlite
        self._turns = threading.RLock() if is_sqlite(node.config.database_url) else None
        self._group = node.writes
        ref = weakref.ref(self)
        if hasattr(os, "register_at_fork"):
            # a forked process resumes the outbox at once, even before its first request
            os.register_at_fork(after_in_child=lambda: (s := ref()) is not None and s._after_fork())

    def _after_fork(self) -> None:
        self._audit_ready = None
        self.sender.start()

    def start_sender(self) -> None:
        self.sender.start()

    # -- transactions -------------------------------------------------------------------------------------------
    @contextmanager
    def _session(self) -> Iterator[Any]:
        """A session; on SQLite, threads of this process take turns before ``BEGIN IMMEDIATE``: a waiting thread
        then wakes as soon as the lock is free instead of sleeping in SQLite's busy handler."""
        if self._turns is None:
            with self.node.session() as s:
                yield s
            return
        with self._turns, self.node.session() as s:
            yield s

    @contextmanager
    def _tx(self, *, deferred_only: bool = False) -> Iterator[Any]:
        """One logical transaction on a Core connection, committed durably when the block ends (rolled back alone
        on an exception). Concurrent ones share physical commits (``connector.store.GroupCommit``);
        ``deferred_only``: the block only defers work to the commit."""
        with self._group.transaction(deferred_only=deferred_only) as conn:
            yield conn

    def _ensure_audit(self) -> None:
        if self._audit_ready != os.getpid():
            ensure_audit_log(self.node)
            self._audit_ready = os.getpid()

    def _work(self, conn: Any, row: Row, neg: Negotiation) -> Work:
        w = Work(self.node, conn, row, neg, self.node.clock.utcnow())
        w.node_owner = self.sender.owner
        w.at_commit_batch = self._group.at_commit_batch
        w.max_attempts = self.settings["max_attempts"]
        return w

    def _commit(self, work: Work) -> None:
        """Write the change; the transaction (``_tx``) commits when its block ends."""
        work.save()

    def _hand_over(self, work: Work) -> None:
        """What a delivery thread needs for the rows we hold, so it need not read them back."""
        for out in work.sends:
            if out.id in work.delivered_ids:
                self._handoff[out.id] = (work.row.counterparty, out.url, out.body, out.kind, out.initial,
                                          out.negotiation_id)

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate()`` holds after some commit of this process (tests, CLI), or time out."""
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def _after_commit(self, work: Work) -> None:
        self._notify()
        self._hand_over(work)
        if work.delivered_ids:
            failpoint("neg.after_commit_before_send", work.sends[0].kind if work.sends else None)
            self.sender.wake(work.delivered_ids)

    # -- inbound: initial messages ------------------------------------------------------------------------------
    def receive_initial(self, message: Any, caller: Any, *, as_role: Role,
                        token: Any = None) -> tuple[int, dict[str, Any]]:
        """``POST /negotiations/request`` (we are provider) or ``POST /negotiations/offers`` (we are consumer).

        ``token``: the request's token id (:class:`connector.trust.TokenUse`), consumed in the change's
        transaction; a replay raises its ``AuthError`` and changes nothing."""
        self._ensure_audit()
        expected = "ContractRequestMessage" if as_role is Role.PROVIDER else "ContractOfferMessage"
        try:
            validate_negotiation_message(message)
        except NegotiationError as e:
            return e.status, e.body(*_pids(message))
        if message["@type"] != expected or not is_initial(message):
            return _error(400, "NOT_INITIAL", [f"this endpoint creates a negotiation: it takes an initial {expected}"
                                               " (with callbackAddress)"], *_pids(message))
        peer_key = "consumerPid" if as_role is Role.PROVIDER else "providerPid"
        found = self._catalogue_offer(message) if as_role is Role.PROVIDER else None  # read before taking the lock
        for attempt in range(2):
            try:
                with self._tx() as conn:
                    if token is not None:
                        token.consume(conn)
                    existing = row_by_peer(conn, as_role.value, caller.did, message[peer_key])
                    if existing is not None:
                        neg = load(existing)
                        try:
                            t = neg.receive(message)       # the same message again: a duplicate; else PID_IN_USE
                        except NegotiationError as e:
                            return e.status, neg.error_body(e)
                        return 201, t.reply or neg.state_message()
                    status, body, work = self._create(conn, message, caller, as_role, found)
                    if work is None:
                        return status, body
            except IntegrityError:
                continue                                    # a concurrent twin won: answer as a repeat
            failpoint(f"neg.{as_role.value.lower()}.after_receive", message["@type"])
            self._after_commit(work)
            return status, body
        return _error(409, "RETRY", ["concurrent duplicate; retry"], *_pids(message))

    def _catalogue_offer(self, message: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
        offer = message.get("offer") or {}
        if not isinstance(offer.get("target"), str) or not isinstance(offer.get("@id"), str):
            return None
        return self.catalog.find_offer(offer["target"], offer["@id"])

    def _create(self, conn: Any, message: dict[str, Any], caller: Any, as_role: Role,
                found: tuple[Any, dict[str, Any]] | None) -> tuple[int, dict[str, Any], Work | None]:
        offer = message["offer"]
        script_key = None
        catalogue_offer = None
        if as_role is Role.PROVIDER:
            script_key = self._script_key(PROVIDER_NEGOTIATION, offer.get("target"))
            if script_key is None:
                if found is None:
                    return (*_error(400, "UNKNOWN_OFFER", [
                        f"offer {offer.get('@id')!r} is not an offer of dataset {offer.get('target')!r} in this "
                        "catalogue"], None, message.get("consumerPid")), None)
                dataset, catalogue_offer = found
                if offer.get("target") != dataset.iri and offer.get("target") != dataset.identifier:
                    return (*_error(400, "INVALID_MESSAGE", [f"offer/target {offer.get('target')!r} is not the "
                                                             f"dataset of this offer ({dataset.iri!r})"],
                                    None, message.get("consumerPid")), None)
        else:
            script_key = self._script_key(CONSUMER_NEGOTIATION, offer.get("target"))
        try:
            neg, t = Negotiation.from_initial(message, own_pid=new_pid(), own_id=self.node.did, peer_id=caller.did)
        except NegotiationError as e:
            return e.status, e.body(*_pids(message)), None
        now = self.node.clock.utcnow()
        row = Row(role=neg.role.value, own_pid=neg.own_pid, peer_pid=neg.peer_pid, counterparty=caller.did,
                  peer_address=neg.peer_address, dataset_id=neg.dataset_id, offer_id=offer.get("@id"),
                  state=neg.state.value, script=script_key, record="{}", created_at=now, updated_at=now)
        work = self._work(conn, row, neg)   # the row is inserted when the work is saved
        work.record(t)
        reply = t.reply or neg.state_message()
        if as_role is Role.PROVIDER:
            self._provider_react(work, "on_request", caller_claims=caller.claims(), catalogue_offer=catalogue_offer)
        else:
            self._consumer_react(work, "on_offer", previous_offer=None)
        self._commit(work)
        return 201, reply, work

    # -- inbound: later messages --------------------------------------------------------------------------------
    def receive(self, pid: str, endpoint: str, message: Any, caller: Any,
                token: Any = None) -> tuple[int, dict[str, Any]]:
        """A message on ``<base>/negotiations/<pid>/<endpoint>``: 200 + ContractNegotiation, 400, or 404
        (``token`` as in :meth:`receive_initial`)."""
        self._ensure_audit()
        types, side = ENDPOINT_KINDS[endpoint]
        try:
            validate_negotiation_message(message)
        except NegotiationError as e:
            return e.status, e.body(*_pids(message))
        if message["@type"] not in types:
            return _error(400, "INVALID_MESSAGE", [f"{endpoint} takes {' or '.join(types)}, not "
                                                   f"{message['@type']}"], *_pids(message))
        found = self._catalogue_offer(message) if message["@type"] == "ContractRequestMessage" else None
        with self._tx() as conn:
            if token is not None:
                token.consume(conn)
            row = find_row(conn, pid)
            if row is None or row.counterparty != caller.did:
                return _error(404, "UNKNOWN_PROCESS", [f"no contract negotiation {pid!r} with this participant"],
                              *_pids(message))
            neg = load(row)
            if side is not None and neg.role is not side:
                return _error(400, "INVALID_MESSAGE", [f"{endpoint} is a {side.value.lower()} endpoint; this node "
                                                       f"is the {neg.role.value.lower()} of {pid!r}"],
                              neg.provider_pid, neg.consumer_pid)
            previous_offer = neg.offer
            fp = fingerprint(message)
            seen = json.loads(row.received or "[]")
            if fp in seen and message["@type"] not in ("ContractRequestMessage", "ContractOfferMessage"):
                # applied before (its acknowledgement was lost): acknowledge again, no second effect. A repeated
                # counter-request or offer is the exception: the kit requires a refusal (CN:03-04, CN_C:03-05);
                # a sender whose acknowledgement was lost reconciles with a GET of our state.
                return 200, neg.state_message()
            try:
                t = neg.receive(message)
            except NegotiationError as e:
                return e.status, neg.error_body(e)
            if t.duplicate:
                return 200, t.reply or neg.state_message()
            row.received = json.dumps((seen + [fp])[-_REMEMBERED:])
            work = self._work(conn, row, neg)
            work.record(t)
            reply = t.reply or neg.state_message()
            self._react(work, t, caller, previous_offer, found[1] if found else None)
            self._commit(work)
        failpoint(f"neg.{neg.role.value.lower()}.after_receive", t.kind.value)
        self._after_commit(work)
        return 200, reply

    def _react(self, work: Work, t: Transition, caller: Any, previous_offer: dict[str, Any] | None,
               catalogue_offer: dict[str, Any] | None) -> None:
        neg = work.neg
        if t.kind is CN.TERMINATION:
            self._cancel_pending(work)
            return
        if neg.role is Role.PROVIDER:
            event = {CN.REQUEST: "on_counter", CN.ACCEPTED: "on_accepted", CN.VERIFICATION: "on_verification"}
            if t.kind in event:
                self._provider_react(work, event[t.kind], caller_claims=caller.claims(),
                                     catalogue_offer=catalogue_offer)
        else:
            event = {CN.OFFER: "on_offer", CN.AGREEMENT: "on_agreement"}
            if t.kind in event:
                self._consumer_react(work, event[t.kind], previous_offer=previous_offer)

    # -- reactions ----------------------------------------------------------------------------------------------
    def _script_key(self, table: dict[str, Any], key: str | None) -> str | None:
        """On a conformance-test node, the kit's dataset id (``ACN0101``, ``ACNC0204``...) names the script; an id
        of the kit's form that the table does not list scripts "do nothing"."""
        if not self.settings["conformance"] or not key:
            return None
        for part in reversed(key.replace("/", ":").split(":")):
            if part in table or _KIT_ID.fullmatch(part):
                return part
        return next((k for k in table if k in key), None)

    def _provider_react(self, work: Work, event: str, *, caller_claims: dict[str, Any],
                        catalogue_offer: dict[str, Any] | None = None) -> None:
        row = work.row
        if row.script:
            script = script_for(PROVIDER_NEGOTIATION, row.script) or {}
            for action in script.get(event, ()):
                self._provider_act(work, action)
            return
        if event in ("on_request", "on_counter"):
            self._provider_decide(work, caller_claims, catalogue_offer)
        elif event == "on_accepted":
            self._provider_act(work, "agree")
        elif event == "on_verification":
            self._provider_act(work, "finalize")

    def _provider_decide(self, work: Work, claims: dict[str, Any], catalogue_offer: dict[str, Any] | None) -> None:
        neg = work.neg
        requested = neg.offer or {}
        if catalogue_offer is None:   # looked up before the transaction began (a second connection would wait)
            decision = {"effect": "deny", "code": "UNKNOWN_OFFER", "details": [],
                        "reasons": [f"offer {requested.get('@id')!r} is no longer in the catalogue"]}
        else:
            decision = decide(requested, catalogue_offer, dataset_id=neg.dataset_id or "", party=work.row.counterparty,
                              claims=claims, now=work.now).to_dict()
        work.audit_decision(decision)
        if decision["effect"] != "permit":
            work.record(neg.terminate(decision["code"], decision["reasons"]), reason="; ".join(decision["reasons"]))
        elif self.settings["approval"] == "manual":
            work.row.pending = "approval"
        else:
            self._provider_act(work, "agree")

    def _provider_act(self, work: Work, action: str) -> None:
        neg = work.neg
        if neg.state.value in _TERMINAL:
            return
        if action == "offer":
            offer = dict(neg.offer or {})
            work.record(neg.counter_offer(offer))
        elif action == "agree":
            work.record(neg.agree(new_pid(), work.now))
        elif action == "finalize":
            work.record(neg.finalize())
        elif action == "terminate":
            work.record(neg.terminate("TERMINATED", ["terminated by the provider"]))

    def _consumer_react(self, work: Work, event: str, *, previous_offer: dict[str, Any] | None) -> None:
        neg, row = work.neg, work.row
        if row.script:
            script = script_for(CONSUMER_NEGOTIATION, row.script) or {}
            for action in script.get(event, ()):
                self._consumer_act(work, action)
            return
        if event == "on_offer":
            from contracts import offer_matches
            if previous_offer is not None and neg.offer is not None and offer_matches(previous_offer, neg.offer) \
                    and previous_offer.get("@id") == neg.offer.get("@id"):
                self._consumer_act(work, "accept")
            else:
                row.pending = "offer"   # an offer we did not ask for: the operator accepts or terminates
        elif event == "on_agreement":
            self._consumer_act(work, "verify")

    def _consumer_act(self, work: Work, action: str) -> None:
        neg = work.neg
        if neg.state.value in _TERMINAL:
            return
        if action == "accept":
            work.record(neg.accept())
        elif action == "counter":
            work.record(neg.counter_request(dict(neg.offer or {})))
        elif action == "verify":
            work.record(neg.verify())
        elif action == "terminate":
            work.record(neg.terminate("TERMINATED", ["terminated by the consumer"]))
        work.row.pending = None

    def _cancel_pending(self, work: Work) -> None:
        """The peer ended the negotiation: what we had not delivered yet will never be wanted."""
        work.conn.execute(OUTBOX.update().where(OUTBOX.c.negotiation_id == work.row.id, OUTBOX.c.status == "pending")
                          .values(status="cancelled"))

    # -- outbound: delivery (called by the sender's threads) ----------------------------------------------------
    def _deliver(self, row_id: int) -> float | None:
        """Deliver one outbox row we hold; returns a delay to retry after, or None when done."""
        handed = self._handoff.pop(row_id, None)
        if handed is not None:   # committed by this process a moment ago, with its lease
            counterparty, url, text, kind, initial, negotiation_id = handed
            body = json.loads(text)
        else:
            with self.node.engine.connect() as conn:
                out = conn.execute(OUTBOX.select().where(OUTBOX.c.id == row_id)).first()
                if out is None or out.status != "pending" or out.lease_owner != self.sender.owner:
                    return None
                neg_row = row_by_id(conn, out.negotiation_id, lock=False)
                if neg_row is None:
                    return None
                counterparty = neg_row.counterparty
                url, body, kind, initial = out.url, json.loads(out.body), out.kind, out.initial
                negotiation_id = out.negotiation_id
        from connector.peers import PeerError
        try:
            token = self.trust.self_issued_token(counterparty)
            status, answer = self.trust.peers.request("POST", url, token=token, json=body)
            error = None if 200 <= status < 300 else f"{kind} to {url}: peer answered {status}: {_short(answer)}"
            if status == 400 and not initial and self._peer_has_it(row_id, kind):
                error = None   # a retry of a message the peer had applied before it lost our first delivery
        except (PeerError, Exception) as e:   # noqa: BLE001 - any failure to reach the peer is retried
            status, answer, error = None, None, f"{kind} to {url}: {e}"
        if error is None and self.on_sent is not None:
            self.on_sent(body)
        failpoint("neg.after_send_before_ack", kind)
        return self._complete(row_id, status, answer, error, initial, negotiation_id)

    def _peer_has_it(self, row_id: int, kind: str) -> bool:
        """Reconcile after a refusal: the peer's state (GET) shows that our message already took effect."""
        from contracts import target_state
        with self._session() as s:
            out = s.get(OutboxRow, row_id)
            row = s.get(NegotiationRow, out.negotiation_id) if out else None
        if row is None or not row.peer_pid or not row.peer_address:
            return False
        url = f"{row.peer_address.rstrip('/')}/negotiations/{row.peer_pid}"
        try:
            status, body = self.trust.peers.request("GET", url, token=self.trust.self_issued_token(row.counterparty))
        except Exception:  # noqa: BLE001
            return False
        if status != 200 or not isinstance(body, dict):
            return False
        return body.get("state") in _reachable(target_state(CN(kind)))

    def _complete(self, row_id: int, status: int | None, answer: Any, error: str | None,
                  initial: bool = True, negotiation_id: int | None = None) -> float | None:
        follow: list[int] = []
        delay: float | None = None
        if error is None and not initial:
            return self._sent(row_id)
        with self._tx() as conn:
            if negotiation_id is None:
                negotiation_id = _OUTBOX_NEGOTIATION.scalar(conn, {"id": row_id})
                if negotiation_id is None:
                    return None
            row = row_by_id(conn, negotiation_id)
            found = _OUTBOX_ROW.first(conn, {"id": row_id})
            out = _Outbound(**dict(zip(_OUTBOX_COLUMNS, found))) if found is not None else None
            if row is None or out is None or out.status != "pending" or out.lease_owner != self.sender.owner:
                return None
            neg = load(row)
            work = self._work(conn, row, neg)
            retryable = status is None or status >= 500 or status in RETRYABLE
            if error is None:
                out.status, out.last_error = "sent", None
                out.attempts += 1
                if out.initial:
                    self._acknowledged(work, answer)
            elif retryable and out.attempts + 1 < out.max_attempts:
                out.attempts += 1
                out.last_error = error[:4000]
                delay = self.settings["retry_base"] * (2 ** (out.attempts - 1))
                out.next_at = self.node.clock.now() + delay
                out.lease_until = out.next_at + LEASE_SECONDS
            else:
                out.attempts += 1
                out.status, out.last_error = "failed", error[:4000]
                why = (f"delivery failed after {out.attempts} attempts: {error}" if retryable
                       else f"the peer refused our message: {error}")
                self._give_up(work, out, why)
            later = _OUTBOX_OUTCOME.scalar(conn, {"id": row_id, "status": out.status, "attempts": out.attempts,
                                                  "last_error": out.last_error, "next_at": out.next_at,
                                                  "lease_until": out.lease_until, "nid": row.id})
            if delay is None and later is not None:
                follow = self._take_leases(conn, [later])
            self._commit(work)
        self._notify()
        follow += work.delivered_ids
        if follow:
            self.sender.wake(follow)
        return delay

    def _sent(self, row_id: int) -> None:
        """A delivered message that changes nothing else: mark it sent, pass the turn to the next row (if any).

        The most frequent change of a negotiation, so in a group commit it runs no statement of its own: the marks
        of the whole group are one statement, run just before its COMMIT (:meth:`_mark_sent`)."""
        follow: list[int] = []
        if self._group.grouped:
            with self._tx(deferred_only=True):
                self._group.at_commit_batch(self._mark_sent, [(row_id, follow)])
        else:
            # a lone transaction marks at once: its deferred work runs in the process's turn for the audit log's
            # head, where waiting for a negotiation's row lock held by a thread queued for that turn would deadlock
            with self._tx() as conn:
                self._mark_sent(conn, [(row_id, follow)])
        self._notify()
        if follow:
            self.sender.wake(follow)

    def _mark_sent(self, conn: Any, items: list[tuple[int, list[int]]]) -> None:
        """Mark the group's delivered rows sent (those still ours); each row's next pending row of its negotiation,
        if any, is leased to this process and put in the row's list for its sender to deliver."""
        owner = self.sender.owner
        marked = _mark_sent_statement(len(items), conn.dialect.name).all(
            conn, {"owner": owner, **{f"id{i}": rid for i, (rid, _) in enumerate(items)}})
        later = {rid: nxt for rid, nxt in marked if nxt is not None}
        if not later:
            return
        taken = set(self._take_leases(conn, list(later.values())))
        for rid, follow in items:
            if later.get(rid) in taken:
                follow.append(later[rid])

    def _take_leases(self, conn: Any, ids: list[int]) -> list[int]:
        """After rows complete, the next pending rows of their negotiations are ours to send (we hold the
        negotiations' locks) unless another process holds them; the rows taken."""
        now = self.node.clock.now()
        return [r[0] for r in _take_leases_statement(len(ids)).all(conn, {
            "owner": self.sender.owner, "now": now, "until": now + LEASE_SECONDS,
            **{f"id{i}": rid for i, rid in enumerate(ids)}})]

    def _acknowledged(self, work: Work, answer: Any) -> None:
        try:
            work.neg.acknowledged(answer if isinstance(answer, dict) else {})
        except NegotiationError as e:
            log.warning("acknowledgement of %s not understood: %s", work.neg.own_pid, e)
            return
        if work.neg.role is Role.CONSUMER and work.row.script:
            script = script_for(CONSUMER_NEGOTIATION, work.row.script) or {}
            for action in script.get("on_request", ()):
                self._consumer_act(work, action)

    def _give_up(self, work: Work, out: OutboxRow, why: str) -> None:
        neg = work.neg
        if out.kind == CN.TERMINATION.value or neg.state.value in _TERMINAL:
            if neg.state is NegotiationState.FINALIZED and out.kind == CN.FINALIZED.value:
                self._revoke(work, why)
            return
        self._cancel_pending(work)
        if neg.peer_pid is None:
            # never acknowledged: the peer does not know this negotiation; end it on our side only
            old = neg.state
            neg.state = NegotiationState.TERMINATED
            neg.termination = {"by": neg.role.value, "code": "DELIVERY_FAILED", "reason": [why]}
            work.record(Transition(CN.TERMINATION, neg.role, old, neg.state, {}, outbound=False), reason=why)
            return
        t = neg.terminate("DELIVERY_FAILED", [why])
        work.record(t, reason=why)
        if work.sends:
            work.sends[-1].max_attempts = 1   # best effort: the peer is probably unreachable anyway

    def _revoke(self, work: Work, why: str) -> None:
        if work.row.agreement_id:
            work.conn.execute(AGREEMENT.update().where(AGREEMENT.c.id == work.row.agreement_id,
                                                       AGREEMENT.c.revoked.is_(False))
                              .values(revoked=True, revoked_at=work.now, revoked_reason=why[:2000]))

    # -- management: consumer start, operator decisions ---------------------------------------------------------
    def fetch_offer(self, provider: str, dataset_id: str, offer_id: str,
                    provider_base: str | None = None) -> tuple[str, dict[str, Any], str]:
        """The provider's dataset (``GET catalog/datasets/{id}``): its IRI, the offer named, the provider's base."""
        from connector.peers import PeerError
        base = (provider_base or (self.trust.peer_url(provider) + "/dsp/2025-1")).rstrip("/")
        url = f"{base}/catalog/datasets/{quote(dataset_id, safe=':/')}"
        try:
            status, body = self.trust.peers.request("GET", url, token=self.trust.self_issued_token(provider))
        except PeerError as e:
            raise NegotiationFailure(f"cannot reach {provider}: {e}", 502) from None
        if status != 200 or not isinstance(body, dict):
            raise NegotiationFailure(f"{provider} answered {status} for dataset {dataset_id!r}: {_short(body)}",
                                     502 if status >= 500 else 404)
        offers = body.get("hasPolicy") or []
        offer = next((o for o in offers if isinstance(o, dict) and o.get("@id") == offer_id), None)
        if offer is None:
            known = ", ".join(repr(o.get("@id")) for o in offers if isinstance(o, dict)) or "none"
            raise NegotiationFailure(f"dataset {dataset_id!r} of {provider} has no offer {offer_id!r} "
                                     f"(offers: {known})", 404)
        return body.get("@id") or dataset_id, offer, base

    def start(self, provider: str, dataset_id: str, offer_id: str, *, offer: dict[str, Any] | None = None,
              provider_base: str | None = None, script: str | None = None) -> dict[str, Any]:
        """Consumer: request ``offer_id`` of ``dataset_id`` from ``provider``; returns the negotiation's summary."""
        self._ensure_audit()
        if offer is None:
            dataset_iri, offer, base = self.fetch_offer(provider, dataset_id, offer_id, provider_base)
        else:
            dataset_iri = dataset_id
            base = (provider_base or (self.trust.peer_url(provider) + "/dsp/2025-1")).rstrip("/")
        message_offer = offer_for_request(offer, dataset_iri)
        neg, t = Negotiation.start_request(consumer_pid=new_pid(), offer=message_offer,
                                           callback_address=self.node.dsp_base, provider_id=provider,
                                           consumer_id=self.node.did, provider_address=base)
        now = self.node.clock.utcnow()
        with self._tx() as conn:
            row = Row(role=neg.role.value, own_pid=neg.own_pid, counterparty=provider, peer_address=base,
                      dataset_id=dataset_iri, offer_id=offer.get("@id"), state=neg.state.value, record="{}",
                      created_at=now, updated_at=now,
                      script=script or self._script_key(CONSUMER_NEGOTIATION, dataset_iri))
            work = self._work(conn, row, neg)   # the row is inserted when the work is saved
            work.record(t)
            self._commit(work)
            summary = self.summary(row)
        failpoint("neg.consumer.after_start_commit")
        self._after_commit(work)
        return summary

    def _operate(self, pid: str, fn: Callable[[Work], None]) -> dict[str, Any]:
        self._ensure_audit()
        with self._tx() as conn:
            row = find_row(conn, pid)
            if row is None:
                raise NegotiationFailure(f"no negotiation {pid!r}", 404)
            work = self._work(conn, row, load(row))
            try:
                fn(work)
            except NegotiationError as e:
                raise NegotiationFailure("; ".join(e.reasons), 409) from None
            self._commit(work)
            summary = self.summary(row)
        self._after_commit(work)
        return summary

    def approve(self, pid: str) -> dict[str, Any]:
        """Provider, manual approval: grant the agreement the policy already allowed."""
        def run(w: Work) -> None:
            if w.neg.role is not Role.PROVIDER or w.row.pending != "approval":
                raise NegotiationFailure(f"negotiation {pid!r} is not waiting for approval", 409)
            w.row.pending = None
            w.record(w.neg.agree(new_pid(), w.now), reason="approved by the operator")
        return self._operate(pid, run)

    def reject(self, pid: str, reason: str) -> dict[str, Any]:
        """Provider, manual approval: refuse with a reason the consumer receives."""
        reason = (reason or "").strip() or "refused by the provider's operator"

        def run(w: Work) -> None:
            if w.neg.role is not Role.PROVIDER or w.row.pending != "approval":
                raise NegotiationFailure(f"negotiation {pid!r} is not waiting for approval", 409)
            w.row.pending = None
            w.audit_decision({"effect": "deny", "code": "REJECTED_BY_OPERATOR", "reasons": [reason], "details": []})
            w.record(w.neg.terminate("REJECTED", [reason]), reason=reason)
        return self._operate(pid, run)

    def accept(self, pid: str) -> dict[str, Any]:
        """Consumer: accept the offer on the table (e.g. a provider-initiated one)."""
        def run(w: Work) -> None:
            if w.neg.role is not Role.CONSUMER or w.neg.state is not NegotiationState.OFFERED:
                raise NegotiationFailure(f"negotiation {pid!r} has no offer to accept", 409)
            w.record(w.neg.accept())
            w.row.pending = None
        return self._operate(pid, run)

    def terminate(self, pid: str, reason: str) -> dict[str, Any]:
        """Either side, any non-terminal state, with a reason the peer receives."""
        reason = (reason or "").strip() or "terminated by the operator"

        def run(w: Work) -> None:
            if w.neg.state.value in _TERMINAL:
                raise NegotiationFailure(f"negotiation {pid!r} is already {w.neg.state.value}", 409)
            if w.neg.peer_pid is None:
                raise NegotiationFailure("the provider has not acknowledged the request yet; try again", 409)
            self._cancel_pending(w)
            w.record(w.neg.terminate("TERMINATED", [reason]), reason=reason)
        return self._operate(pid, run)

    # -- views --------------------------------------------------------------------------------------------------
    def state(self, pid: str, caller_did: str) -> tuple[int, dict[str, Any]]:
        """``GET /negotiations/<pid>``: the ContractNegotiation, or 404 for unknown or foreign processes."""
        with self.node.reader_engine.connect() as conn:
            row = find_row(conn, pid, lock=False)
        if row is None or row.counterparty != caller_did:
            return _error(404, "UNKNOWN_PROCESS", [f"no contract negotiation {pid!r} with this participant"])
        return 200, load(row).state_message()

    def summary(self, row: Row | NegotiationRow) -> dict[str, Any]:
        neg = load(row)
        decision = json.loads(row.decision) if row.decision else None
        if decision:
            decision = {k: decision[k] for k in ("effect", "code", "reasons") if k in decision}
        return {"pid": row.own_pid, "role": row.role, "state": row.state, "counterparty": row.counterparty,
                "provider_pid": neg.provider_pid, "consumer_pid": neg.consumer_pid, "dataset": row.dataset_id,
                "offer": row.offer_id, "pending": row.pending, "reason": row.reason, "decision": decision,
                "agreement": neg.agreement.to_json() if neg.agreement else None,
                "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}

    def get(self, pid: str) -> dict[str, Any] | None:
        with self.node.reader_engine.connect() as conn:
            row = find_row(conn, pid, lock=False)
        return self.summary(row) if row else None

    def list(self, *, role: str | None = None, state: str | None = None, pending: bool | None = None,
             limit: int = 200) -> list[dict[str, Any]]:
        from .store import rows_for
        with self._session() as s:
            return [self.summary(r) for r in rows_for(s, role=role, state=state, pending=pending, limit=limit)]

    def agreements(self) -> list[dict[str, Any]]:
        with self._session() as s:
            rows = s.exec(select(AgreementRow).order_by(AgreementRow.finalized_at)).all()  # type: ignore[arg-type]
        return [agreement_json(r) for r in rows]

    def agreement(self, agreement_id: str) -> dict[str, Any] | None:
        with self._session() as s:
            row = s.get(AgreementRow, agreement_id)
        return agreement_json(row) if row else None


class _Outbound:
    """An outbox row being completed (its columns as attributes)."""

    def __init__(self, **values: Any):
        self.__dict__.update(values)


_OUTBOX_COLUMNS = ("status", "attempts", "max_attempts", "lease_owner", "initial", "kind", "last_error", "next_at",
                   "lease_until")
_OUTBOX_ROW = Statement(f"SELECT {', '.join(_OUTBOX_COLUMNS)} FROM negotiation_outbox WHERE id = :id",
                        for_update=True)
_OUTBOX_NEGOTIATION = Statement("SELECT negotiation_id FROM negotiation_outbox WHERE id = :id")
# a row when it was ours to mark, with the next pending row of the negotiation, if any (rows after ours only: the
# subquery may see ours as it was); almost always none, so the turn passes without a second round trip
_AND_NEXT = (" RETURNING (SELECT later.id FROM negotiation_outbox later WHERE later.negotiation_id = :nid "
             "AND later.status = 'pending' AND later.id > :id ORDER BY later.id LIMIT 1)")
_OUTBOX_OUTCOME = Statement("UPDATE negotiation_outbox SET status = :status, attempts = :attempts, "
                            "last_error = :last_error, next_at = :next_at, lease_until = :lease_until WHERE id = :id"
                            + _AND_NEXT)
def _ids(count: int) -> str:
    return ", ".join(f":id{i}" for i in range(count))


@functools.lru_cache(maxsize=None)   # one per group size (at most the group's 16 members) and dialect
def _mark_sent_statement(count: int, dialect: str) -> Statement:
    """Mark ``count`` rows sent, those still pending and ours; each with the next pending row of its negotiation.
    On PostgreSQL the negotiations' row locks are taken in the same statement: they serialise the marks with a
    change adding rows to a negotiation (SQLite has one writer at a time)."""
    lock = (" AND EXISTS (SELECT 1 FROM negotiation WHERE negotiation.id = negotiation_outbox.negotiation_id "
            "FOR UPDATE)") if dialect == "postgresql" else ""
    return Statement("UPDATE negotiation_outbox SET status = 'sent', attempts = attempts + 1, last_error = NULL "
                     f"WHERE id IN ({_ids(count)}) AND status = 'pending' AND lease_owner = :owner{lock} "
                     "RETURNING id, (SELECT later.id FROM negotiation_outbox later "
                     "WHERE later.negotiation_id = negotiation_outbox.negotiation_id AND later.status = 'pending' "
                     "AND later.id > negotiation_outbox.id ORDER BY later.id LIMIT 1)")


@functools.lru_cache(maxsize=None)
def _take_leases_statement(count: int) -> Statement:
    """Lease ``count`` pending rows to us unless another process holds them; the rows taken."""
    return Statement(f"UPDATE negotiation_outbox SET lease_owner = :owner, lease_until = :until "
                     f"WHERE id IN ({_ids(count)}) AND status = 'pending' AND (lease_owner IS NULL "
                     "OR lease_owner = :owner OR lease_until IS NULL OR lease_until <= :now) RETURNING id")


def _reachable(state: NegotiationState) -> set[str]:
    """``state`` and every live state the table can lead to from it (a peer there has applied our message)."""
    from contracts import TRANSITIONS
    seen, todo = {state}, [state]
    while todo:
        for new in TRANSITIONS[todo.pop()].values():
            if new is not NegotiationState.TERMINATED and new not in seen:
                seen.add(new)
                todo.append(new)
    return {s.value for s in seen}


def agreement_json(r: AgreementRow) -> dict[str, Any]:
    return {"id": r.id, "role": r.role, "provider": r.provider, "consumer": r.consumer, "dataset": r.dataset_id,
            "offer": r.offer_id, "policy": json.loads(r.policy), "signed_at": r.signed_at.isoformat(),
            "finalized_at": r.finalized_at.isoformat(), "revoked": r.revoked, "revoked_reason": r.revoked_reason}


def _pids(message: Any) -> tuple[str | None, str | None]:
    if not isinstance(message, dict):
        return None, None
    p, c = message.get("providerPid"), message.get("consumerPid")
    return (p if isinstance(p, str) else None), (c if isinstance(c, str) else None)


def _short(body: Any) -> str:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    return text[:300]

