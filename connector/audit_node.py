"""The exchange log as a running node serves it: checkpoints on schedule and on demand, the hub's witness, and
auditors' access by credential role.

- ``tick(node, trust)`` does what is due: a checkpoint when the log grew and ``[audit] checkpoint_seconds`` passed
  (or ``checkpoint_entries`` entries were added), then the submission of its latest checkpoint to its witnesses
  that have not countersigned it yet: on a member the hub, on the hub the members named in ``[audit] witnesses``
  (a failure is retried at the next tick).
  Only the worker process holding the ``audit.tick`` lease does this work; :class:`AuditScheduler` runs ``tick``
  in a daemon thread of each served worker process.
- ``witness_checkpoint`` is the witness's side of ``POST /audit/witness``, on the hub for every member and on a
  member for the logs it lists in ``[audit] witness_for`` (the hub's): the checkpoint is checked with the caller's
  audit key taken from its DID document and with a consistency proof from the last size countersigned for that
  log; the state per log is kept in the witness's database (``audit_witness``), under a row lock, so it survives
  restarts and several workers, and a checkpoint that does not extend it is refused as a fork.
- ``auditor_refusal`` and ``log_auditor_access``: an auditor's verified credential must carry the role ``auditor``
  and this node's DID in its ``auditScope``; every access, granted or refused, is written to the log.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sqlalchemy import JSON, BigInteger, Column, Text, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from connector.audit import (COSIGNATURE_V1, ED25519, AuditCheckpoint, AuditCosignature, AuditEntry, CompactRange,
                             ForkError, NoteError, NoteSigner, NoteVerifier, Witness, add_cosignature,
                             add_cosignatures, append, consistency_proof, format_ts, maybe_checkpoint, node_hash,
                             parse_checkpoint, parse_note, root_of, verify_checkpoint)
from connector.audit import checkpoint as cut_checkpoint
from connector.audit_service import audit_origin, ensure_log, record

__all__ = ["AuditWitnessState", "AuditLease", "MemberAuditScope", "AuditSettings", "audit_settings",
           "log_signer", "witness_signer", "witness_name", "witness_vkeys", "origin_of_did", "audit_verifiers",
           "vkeys_of",
           "latest_checkpoint", "CheckpointInfo", "sign_checkpoint_now", "WitnessResult", "WitnessOutcome",
           "submit_to_witness", "witnesses_anyone",
           "proof_from_frontier", "witness_proof",
           "WitnessRefusal", "witness_checkpoint", "TickResult", "tick", "acquire_lease", "AuditScheduler",
           "auditor_refusal", "log_auditor_access", "describe_entry", "AUDIT_BUNDLE_DATASET"]

log = logging.getLogger(__name__)

#: the dataset id under which auditors' bundle downloads are written to the log
AUDIT_BUNDLE_DATASET = "urn:passerelle:audit-bundle"
_MAX_PROOF = 64
_MAX_NOTE = 8192


# -- tables (migration 0007) ----------------------------------------------------------------------------------------

class AuditWitnessState(SQLModel, table=True):
    """On a witness (the hub, or a member witnessing the hub): the latest checkpoint it countersigned for each
    log (keyed by the log's origin)."""

    __tablename__ = "audit_witness"
    origin: str = Field(primary_key=True, max_length=512)
    did: str = Field(max_length=512)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root_hash: str = Field(max_length=64)
    note: str = Field(sa_column=Column(Text, nullable=False))
    cosigned_at: str = Field(max_length=32)


class AuditLease(SQLModel, table=True):
    """A named lease held by one process (``host:pid``) until ``until`` (epoch seconds), renewed as it works."""

    __tablename__ = "audit_lease"
    name: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=128)
    until: float


class MemberAuditScope(SQLModel, table=True):
    """On the authority: the node DIDs an auditor member may audit, issued as its credential's ``auditScope``."""

    __tablename__ = "member_audit_scope"
    did: str = Field(primary_key=True, max_length=512)
    scope: list[str] = Field(sa_column=Column(JSON, nullable=False))


_CP = AuditCheckpoint.__table__  # type: ignore[attr-defined]
_ENTRY = AuditEntry.__table__  # type: ignore[attr-defined]
_COSIG = AuditCosignature.__table__  # type: ignore[attr-defined]
_WIT = AuditWitnessState.__table__  # type: ignore[attr-defined]
_LEASE = AuditLease.__table__  # type: ignore[attr-defined]


# -- settings and keys ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditSettings:
    checkpoint_seconds: float = 60.0   # 0 turns the background scheduler off (checkpoints on demand only)
    checkpoint_entries: int = 1000
    witness: bool = True               # submit checkpoints to the witnesses (a member: the hub)
    witnesses: tuple[str, ...] = ()    # on the hub: DIDs of the members that witness its log
    witness_for: tuple[str, ...] = ()  # on a member: DIDs whose logs it countersigns (the hub's)


def _dids(raw: Mapping[str, Any], key: str, problems: list[str]) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(d, str) and d.startswith("did:web:") and len(d) > 8
                                              for d in value):
        problems.append(f"[audit] {key}: expected a list of did:web DIDs, got {value!r}")
        return ()
    return tuple(dict.fromkeys(value))


def audit_settings(node: Any) -> AuditSettings:
    """``[audit]`` of the node's config: ``checkpoint_seconds``, ``checkpoint_entries``, ``witness``,
    ``witnesses`` (the hub) and ``witness_for`` (a member)."""
    raw: Mapping[str, Any] = getattr(node.config.model, "audit", None) or {}
    unknown = sorted(set(raw) - {"checkpoint_seconds", "checkpoint_entries", "witness", "witnesses",
                                 "witness_for"})
    problems = [f"[audit] {k}: unknown key" for k in unknown]
    seconds = raw.get("checkpoint_seconds", 60)
    entries = raw.get("checkpoint_entries", 1000)
    witness = raw.get("witness", True)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        problems.append(f"[audit] checkpoint_seconds: expected a number of seconds ≥ 0, got {seconds!r}")
    if isinstance(entries, bool) or not isinstance(entries, int) or entries < 1:
        problems.append(f"[audit] checkpoint_entries: expected a whole number ≥ 1, got {entries!r}")
    if not isinstance(witness, bool):
        problems.append(f"[audit] witness: expected true or false, got {witness!r}")
    witnesses, witness_for = _dids(raw, "witnesses", problems), _dids(raw, "witness_for", problems)
    if witnesses and not node.is_authority:
        problems.append("[audit] witnesses: only the hub names witnesses of its log (a member's is the hub)")
    if node.did in witnesses or node.did in witness_for:
        problems.append(f"[audit] {'witnesses' if node.did in witnesses else 'witness_for'}: a node does not "
                        "witness its own log")
    if problems:
        raise ValueError(f"{node.config.path}: " + "; ".join(problems))
    return AuditSettings(float(seconds), int(entries), witness, witnesses, witness_for)


def witnesses_anyone(node: Any) -> bool:
    """Whether ``POST /audit/witness`` is served here: on the hub, and on a member listing logs in
    ``[audit] witness_for``."""
    if node.is_authority:
        return True
    try:
        return bool(audit_settings(node).witness_for)
    except ValueError:  # a bad [audit] section witnesses nothing; the scheduler's start logs the error
        return False


def log_signer(node: Any) -> NoteSigner:
    """The node's audit key under the log's origin: signs checkpoints and bundle manifests."""
    return NoteSigner(audit_origin(node), node.private_key("audit"))


def witness_name(url: str) -> str:
    """A witness's key name, ``host:port/witness``, from the witness's public URL."""
    return url.split("://", 1)[-1].split("/", 1)[0] + "/witness"


def witness_signer(node: Any) -> NoteSigner:
    """On a witness (the hub, or a member witnessing the hub): its audit key as a cosignature (type 0x04) key
    named ``<host>/witness``."""
    return NoteSigner(witness_name(node.public_url), node.private_key("audit"), COSIGNATURE_V1)


def origin_of_did(did: str) -> str:
    """The only log origin a participant may submit: its DID's host (and port) followed by ``/audit/v1``."""
    from connector.identity.did import parse_did_web
    return f"{parse_did_web(did).netloc}/audit/v1"


def _raw(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def audit_verifiers(doc: Any, name: str, sig_type: int = ED25519) -> list[NoteVerifier]:
    """Verifier keys named ``name`` from a DID document's audit keys (``assertionMethod``, ids ``#audit-…``)."""
    return [NoteVerifier(name, sig_type, _raw(key)) for kid, key in doc.keys("assertionMethod").items()
            if kid.split("#", 1)[-1].startswith("audit-")]


def witness_vkeys(node: Any, trust: Any) -> list[str]:
    """The vkeys of this log's witnesses (a member's: the hub; the hub's: its ``[audit] witnesses``), listed in
    bundles for the auditor's information (best effort: a witness whose DID document cannot be read now is left
    out)."""
    from connector.identity import IdentityError
    from connector.peers import PeerError
    out: list[str] = []
    try:
        targets = _witnesses_of(node, trust)
    except ValueError:  # a bad [audit] section: no witness to list
        return out
    for did, url, _ in targets:
        if not url:
            continue
        try:
            doc = trust._resolver.resolve(did)
        except (IdentityError, PeerError):
            continue
        out.extend(v.vkey for v in audit_verifiers(doc, witness_name(url), COSIGNATURE_V1))
    return out


def vkeys_of(node: Any) -> dict[str, str]:
    """The vkeys an auditor pins for this node: its log key and, on a witness (the hub, or a member that
    witnesses the hub's log), its witness key."""
    out = {"log": log_signer(node).vkey}
    if witnesses_anyone(node):
        out["witness"] = witness_signer(node).vkey
    return out


# -- checkpoints ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckpointInfo:
    size: int
    root: str            # hex
    note: str            # with the cosignature lines received so far
    witnesses: tuple[str, ...]
    created_at: str


def latest_checkpoint(session: Any) -> CheckpointInfo | None:
    row = session.execute(select(_CP.c.size, _CP.c.root_hash, _CP.c.note, _CP.c.created_at)
                          .order_by(_CP.c.size.desc()).limit(1)).first()
    if row is None:
        return None
    cosigs = session.execute(select(_COSIG.c.witness, _COSIG.c.line).where(_COSIG.c.size == row.size)
                             .order_by(_COSIG.c.id)).all()
    return CheckpointInfo(row.size, row.root_hash, add_cosignatures(row.note, [c.line for c in cosigs]),
                          tuple(dict.fromkeys(c.witness for c in cosigs)), row.created_at)


def sign_checkpoint_now(node: Any, now: float | None = None) -> CheckpointInfo:
    """Sign a checkpoint of the whole log now (the latest one again if the log has not grown)."""
    ensure_log(node)
    when = node.clock.now() if now is None else now
    with node.session() as s, s.begin():
        cut_checkpoint(s, log_signer(node), when)
    with node.session() as s:
        info = latest_checkpoint(s)
    assert info is not None
    return info


# -- the node's side of witnessing ----------------------------------------------------------------------------------

def proof_from_frontier(frontier: Sequence[bytes], old_size: int, new_leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 PROOF(old_size, D[old_size + len(new_leaves)]) from the tree's right edge at ``old_size`` (the
    perfect subtree roots stored with that checkpoint, largest first) and the leaf hashes added since.

    Every node of the proof either lies left of ``old_size``, where it is a fold of edge subtrees, or right of it,
    where it is the root of some of the new leaves: the cost is the new leaves, not the whole log (which is what a
    proof from all the leaves costs, at every checkpoint).
    """
    size = old_size + len(new_leaves)
    if old_size == 0 or old_size == size:
        return []
    pieces: dict[int, tuple[int, bytes]] = {}  # start -> (end, root) of each edge subtree
    start, hashes = 0, iter(frontier)
    for bit in reversed(range(old_size.bit_length())):
        if old_size >> bit & 1:
            pieces[start] = (start + (1 << bit), next(hashes))
            start += 1 << bit

    def left(lo: int, hi: int) -> bytes:
        chain = []
        while lo < hi:
            end, root = pieces[lo]
            chain.append(root)
            lo = end
        h = chain.pop()
        while chain:
            h = node_hash(chain.pop(), h)
        return h

    def mth(lo: int, hi: int) -> bytes:
        return left(lo, hi) if hi <= old_size else root_of(new_leaves[lo - old_size:hi - old_size])

    tail: list[bytes] = []
    m, lo, hi, whole = old_size, 0, size, True
    while m != hi - lo:
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        if m <= k:
            tail.append(mth(lo + k, hi))
            hi = lo + k
        else:
            tail.append(mth(lo, lo + k))
            lo += k
            m -= k
            whole = False
    proof = [] if whole else [mth(lo, hi)]
    proof.extend(reversed(tail))
    return proof


def witness_proof(session: Any, old_size: int, new_size: int) -> list[bytes]:
    """The consistency proof for the witness, from the edge stored with our checkpoint of ``old_size`` (checked
    against its signed root) and the leaves after it; from all the leaves if no such checkpoint is stored."""
    if old_size == 0 or old_size == new_size:
        return []
    row = session.execute(select(_CP.c.frontier, _CP.c.root_hash).where(_CP.c.size == old_size)).first()
    if row is not None:
        frontier = [bytes.fromhex(h) for h in json.loads(row.frontier)]
        try:
            edge_ok = CompactRange(old_size, frontier).root().hex() == row.root_hash
        except ValueError:
            edge_ok = False
        if edge_ok:
            leaves = [bytes.fromhex(h) for h in session.execute(
                select(_ENTRY.c.leaf_hash).where(_ENTRY.c.seq >= old_size, _ENTRY.c.seq < new_size)
                .order_by(_ENTRY.c.seq)).scalars()]
            if len(leaves) == new_size - old_size:
                return proof_from_frontier(frontier, old_size, leaves)
    return consistency_proof(session, old_size, new_size)


@dataclass(frozen=True)
class WitnessResult:
    """One witness's answer to one submission."""

    did: str
    name: str            # its cosignature key name, ``host:port/witness``
    witnessed: bool      # this checkpoint carries its cosignature (now or from an earlier submission)
    detail: str


@dataclass(frozen=True)
class WitnessOutcome:
    size: int
    witnessed: bool      # countersigned by every witness of the log
    detail: str
    results: tuple[WitnessResult, ...] = ()

    @property
    def countersigned_by(self) -> tuple[str, ...]:
        """The DIDs of the witnesses whose cosignature this checkpoint carries."""
        return tuple(r.did for r in self.results if r.witnessed)


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _witnesses_of(node: Any, trust: Any) -> list[tuple[str, str, str]]:
    """(DID, URL, how to name it to the operator) of each witness of this node's log: on a member the hub (its
    authority); on the hub the members of ``[audit] witnesses``, at the URL their DID resolves to."""
    if not node.is_authority:
        authority = node.config.authority
        return [(authority.did, authority.url, "the hub")]
    out = []
    for did in audit_settings(node).witnesses:
        from connector.peers import PeerError
        try:
            url = trust.peer_url(did)
        except PeerError:  # a DID that names no URL this node may call
            url = ""
        out.append((did, url, did))
    return out


def submit_to_witness(node: Any, trust: Any) -> WitnessOutcome:
    """Send the latest checkpoint to each witness of the log that has not countersigned it, with a consistency
    proof from the last size that witness countersigned; store each cosignature returned after checking it with
    the witness's audit key (from its DID document).

    Best effort per witness: a failure is reported in the outcome, not raised, the other witnesses are still
    asked, and the next tick tries again.
    """
    with node.session() as s:
        info = latest_checkpoint(s)
    if info is None:
        return WitnessOutcome(0, False, "no checkpoint yet")
    try:
        targets = _witnesses_of(node, trust)
    except ValueError as e:  # a bad [audit] section
        return WitnessOutcome(info.size, False, str(e))
    if not targets:
        return WitnessOutcome(info.size, False, "no witness named for the hub's log ([audit] witnesses)")
    results = tuple(_submit_one(node, trust, info, did, url, who) for did, url, who in targets)
    if len(results) == 1:
        detail = results[0].detail
    else:
        detail = "; ".join(f"{r.did}: {r.detail}" for r in results)
    return WitnessOutcome(info.size, all(r.witnessed for r in results), detail, results)


def _submit_one(node: Any, trust: Any, info: CheckpointInfo, did: str, url: str, who: str) -> WitnessResult:
    from connector.identity import IdentityError
    from connector.peers import PeerError
    name = witness_name(url) if url else ""
    if not url:
        return WitnessResult(did, name, False, f"{who}: not a DID this node can reach")
    if name in info.witnesses:
        return WitnessResult(did, name, True, "already countersigned")
    with node.session() as s:
        old = s.execute(select(_COSIG.c.size).where(_COSIG.c.witness == name)
                        .order_by(_COSIG.c.size.desc()).limit(1)).scalar() or 0
    plain = _plain_note(info.note)
    endpoint = url.rstrip("/") + "/audit/witness"
    for _ in range(2):
        with node.session() as s:
            proof = witness_proof(s, old, info.size) if 0 < old < info.size else []
        try:
            status, body = trust.peers.request("POST", endpoint, token=trust.self_issued_token(did),
                                               json={"checkpoint": plain, "old_size": old, "proof": _b64(proof)})
        except (PeerError, IdentityError) as e:
            return WitnessResult(did, name, False, f"{who} unreachable: {e}")
        if status == 409 and isinstance(body, dict) and body.get("error") == "old_size_mismatch" \
                and isinstance(body.get("size"), int) and 0 <= body["size"] <= info.size and body["size"] != old:
            old = body["size"]  # the witness saw another size last (e.g. its cosignature was lost): prove from there
            continue
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("cosignature"), str):
            detail = body.get("message") if isinstance(body, dict) else str(body)[:200]
            return WitnessResult(did, name, False, f"{who} refused ({status}): {detail}")
        line = body["cosignature"]
        try:
            doc = trust._resolver.resolve(did)
            verify = verify_checkpoint(add_cosignatures(plain, [line]), [log_signer(node).verifier()],
                                       audit_verifiers(doc, name, COSIGNATURE_V1))
        except (NoteError, IdentityError, PeerError) as e:
            return WitnessResult(did, name, False, f"the cosignature of {who} does not verify: {e}")
        if not verify.cosignatures:
            return WitnessResult(did, name, False, f"the cosignature of {who} is not by its audit key")
        with node.session() as s, s.begin():
            # two submissions of one checkpoint at once (a tick and the operator's button): keep one line
            have = s.execute(select(_COSIG.c.id).where(_COSIG.c.size == info.size, _COSIG.c.witness == name)
                             .with_for_update()).first()
            if have is None:
                add_cosignature(s, info.size, line, node.clock.utcnow())
        return WitnessResult(did, name, True, f"countersigned by {who}")
    return WitnessResult(did, name, False, f"{who} keeps answering with another size")


def _plain_note(note: str) -> str:
    """The note with only the log's own signature (cosignature lines are added by the witness)."""
    parsed = parse_note(note)
    from connector.audit.note import format_note
    own = [sig.line() for sig in parsed.signatures if sig.name == parse_checkpoint(parsed.text).origin]
    return format_note(parsed.text, own)


# -- the witness's side -----------------------------------------------------------------------------------

class WitnessRefusal(Exception):
    """A refused submission: HTTP status, an error code and a message for the node's operator."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


def _read_submission(body: Any) -> tuple[str, int, list[bytes]]:
    if not isinstance(body, dict):
        raise WitnessRefusal(400, "bad_request", "the body must be a JSON object")
    problems = []
    note, old, proof = body.get("checkpoint"), body.get("old_size", 0), body.get("proof", [])
    if not isinstance(note, str) or not 0 < len(note) <= _MAX_NOTE:
        problems.append(f"checkpoint: expected a signed note of at most {_MAX_NOTE} characters")
    if isinstance(old, bool) or not isinstance(old, int) or old < 0:
        problems.append("old_size: expected a whole number ≥ 0")
    hashes: list[bytes] = []
    if not isinstance(proof, list) or len(proof) > _MAX_PROOF:
        problems.append(f"proof: expected a list of at most {_MAX_PROOF} base64 hashes")
    else:
        for i, h in enumerate(proof):
            try:
                raw = base64.b64decode(h, validate=True) if isinstance(h, str) else b""
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                problems.append(f"proof[{i}]: expected a base64 SHA-256 hash")
            hashes.append(raw)
    if problems:
        raise WitnessRefusal(400, "bad_request", "; ".join(problems))
    return note, old, hashes


def witness_checkpoint(node: Any, trust: Any, caller_did: str, body: Any) -> dict[str, Any]:
    """Countersign the caller's checkpoint or raise :class:`WitnessRefusal`. The hub witnesses every member; a
    member witnesses only the logs of the DIDs in its ``[audit] witness_for`` (the hub's), with the same checks.

    The checkpoint must name the caller's own log (origin = its DID's host + ``/audit/v1``) and carry a valid
    signature by an audit key of the caller's DID document; ``old_size`` must be the size this witness
    countersigned last for that log (409 ``old_size_mismatch`` with that size otherwise), and ``proof`` must show
    the new tree extends it (409 ``fork`` otherwise).
    """
    from connector.identity import IdentityError
    if not node.is_authority:
        witness_for = audit_settings(node).witness_for
        if not witness_for:
            raise WitnessRefusal(404, "not_witness", "this node witnesses no log (the hub witnesses members' "
                                                     "checkpoints)")
        if caller_did not in witness_for:
            raise WitnessRefusal(403, "not_witnessed", f"this node does not witness the log of {caller_did}: it "
                                                       "is not in this node's [audit] witness_for")
    note, old_size, proof = _read_submission(body)
    try:
        cp = parse_checkpoint(parse_note(note).text)
    except NoteError as e:
        raise WitnessRefusal(400, "bad_checkpoint", f"not a checkpoint note: {e}") from None
    expected = origin_of_did(caller_did)
    if cp.origin != expected:
        raise WitnessRefusal(403, "wrong_origin", f"{caller_did} may submit checkpoints of {expected!r} only, "
                                                  f"not {cp.origin!r}")
    try:
        keys = audit_verifiers(trust._resolver.resolve(caller_did), cp.origin)
    except IdentityError as e:
        raise WitnessRefusal(400, "unresolvable", f"cannot read the audit key of {caller_did}: {e}") from None
    if not keys:
        raise WitnessRefusal(400, "no_audit_key", f"the DID document of {caller_did} lists no #audit- key")
    ensure_log(node)
    now = node.clock.now()
    for attempt in range(2):
        try:
            return _cosign(node, caller_did, cp.origin, note, old_size, proof, keys, now)
        except IntegrityError:  # two first submissions of one log at once: the other one won, check against it
            if attempt:
                raise WitnessRefusal(409, "busy", "another submission for this log was being countersigned")
        except ForkError as e:
            _log_refusal(node, caller_did, cp.size, "FORK", str(e))
            raise WitnessRefusal(409, "fork", f"refused: {e}") from None
        except NoteError as e:
            _log_refusal(node, caller_did, cp.size, "BAD_SIGNATURE", str(e))
            raise WitnessRefusal(400, "bad_signature", f"refused: {e}") from None
    raise AssertionError("unreachable")


def _cosign(node: Any, did: str, origin: str, note: str, old_size: int, proof: list[bytes],
            keys: list[NoteVerifier], now: float) -> dict[str, Any]:
    with node.session() as s, s.begin():
        # a write first: the row lock (PostgreSQL) or the write lock (SQLite) orders submissions for one log
        s.execute(update(_WIT).where(_WIT.c.origin == origin).values(size=_WIT.c.size))
        row = s.execute(select(_WIT).where(_WIT.c.origin == origin)).first()
        state = {origin: (row.size, bytes.fromhex(row.root_hash))} if row is not None else {}
        if row is not None and old_size != row.size:
            raise WitnessRefusal(409, "old_size_mismatch", f"the last checkpoint countersigned for {origin} has "
                                                           f"size {row.size}; prove consistency from there",
                                 size=row.size)
        witness = Witness(witness_signer(node), keys, state)
        line = witness.cosign(note, proof, int(now))
        cp = parse_checkpoint(parse_note(note).text)
        values = {"did": did, "size": cp.size, "root_hash": cp.root.hex(), "note": note,
                  "cosigned_at": format_ts(now)}
        if row is None:
            s.execute(_WIT.insert().values(origin=origin, **values))
        else:
            s.execute(update(_WIT).where(_WIT.c.origin == origin).values(**values))
        append(s, "checkpoint.witnessed", {
            "actor": {"did": node.did, "role": "witness"}, "counterparty": {"did": did},
            "checkpoint": {"size": cp.size, "root": base64.b64encode(cp.root).decode(),
                           "witness": witness.signer.name}}, now)
    return {"cosignature": line, "size": cp.size, "witness": witness.signer.name}


def _log_refusal(node: Any, did: str, size: int, code: str, message: str) -> None:
    record(node, "policy.decision", {
        "actor": {"did": node.did, "role": "witness"}, "counterparty": {"did": did},
        "checkpoint": {"size": size},
        "decision": {"effect": "deny", "rule": "witness", "reason_code": code, "reasons": [message[:500]]}})


# -- scheduling -----------------------------------------------------------------------------------------------------

def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(node: Any, name: str, owner: str, now: float, ttl: float) -> bool:
    """Take or renew the lease ``name`` for ``owner`` until ``now + ttl``; False while another owner holds it."""
    with node.session() as s, s.begin():
        taken = s.execute(update(_LEASE).where(_LEASE.c.name == name, or_(_LEASE.c.owner == owner,
                                                                          _LEASE.c.until < now))
                          .values(owner=owner, until=now + ttl)).rowcount
        if taken:
            return True
        if s.execute(select(_LEASE.c.name).where(_LEASE.c.name == name)).first() is not None:
            return False
    try:
        with node.session() as s, s.begin():
            s.execute(_LEASE.insert().values(name=name, owner=owner, until=now + ttl))
        return True
    except IntegrityError:  # another process inserted it first
        return False


@dataclass(frozen=True)
class TickResult:
    leader: bool                        # this process held the lease and did the work
    checkpoint: CheckpointInfo | None   # the checkpoint signed by this tick, if any
    witness: WitnessOutcome | None


def tick(node: Any, trust: Any = None, *, now: float | None = None, owner: str | None = None) -> TickResult:
    """Do what is due: a checkpoint if the log grew and the interval (or the entry count) is reached, then the
    submission of the latest checkpoint to each witness that has not countersigned it yet (a member's: the hub;
    the hub's: its ``[audit] witnesses``)."""
    settings = audit_settings(node)
    when = node.clock.now() if now is None else now
    ttl = max(3 * settings.checkpoint_seconds, 30.0)
    if not acquire_lease(node, "audit.tick", owner or _owner(), when, ttl):
        return TickResult(False, None, None)
    ensure_log(node)
    with node.session() as s, s.begin():
        note = maybe_checkpoint(s, log_signer(node), when, every_seconds=settings.checkpoint_seconds,
                                every_entries=settings.checkpoint_entries)
    info = None
    if note is not None:
        with node.session() as s:
            info = latest_checkpoint(s)
    outcome = None
    if trust is not None and settings.witness and (settings.witnesses or not node.is_authority):
        outcome = submit_to_witness(node, trust)
        if not outcome.witnessed and outcome.size:
            log.warning("checkpoint %s not witnessed yet: %s", outcome.size, outcome.detail)
    return TickResult(True, info, outcome)


class AuditScheduler:
    """Runs ``tick`` in a daemon thread of one worker process, every quarter of the checkpoint interval (at
    least 1 s); every worker runs one and the lease leaves the work to one of them."""

    def __init__(self, node: Any, trust: Any, settings: AuditSettings | None = None):
        self.node, self.trust = node, trust
        self.settings = settings or audit_settings(node)
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def period(self) -> float:
        return max(1.0, self.settings.checkpoint_seconds / 4)

    def start(self) -> "AuditScheduler":
        self._thread = threading.Thread(target=self._run, name="passerelle-audit", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                tick(self.node, self.trust)
            except Exception:  # a failed tick must not stop the scheduler; the next one tries again
                log.exception("audit tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


# -- auditors -------------------------------------------------------------------------------------------------------

def auditor_refusal(node: Any, caller: Any) -> str | None:
    """None when ``caller`` may audit this node, else the reason code (``NOT_AUDITOR``, ``OUT_OF_SCOPE``)."""
    if "auditor" not in caller.roles:
        return "NOT_AUDITOR"
    if node.did not in (getattr(caller, "audit_scope", None) or ()):
        return "OUT_OF_SCOPE"
    return None


def log_auditor_access(node: Any, auditor: str, *, permitted: bool, reason_code: str, method: str, route: str,
                       status: int, data: Mapping[str, Any] | None = None) -> int:
    """Write an auditor's access (or its refusal) to this node's log; returns the entry's seq."""
    body: dict[str, Any] = {
        "actor": {"did": node.did, "role": "audited"}, "counterparty": {"did": auditor, "role": "auditor"},
        "decision": {"effect": "permit" if permitted else "deny", "rule": "audit-access",
                     "reason_code": reason_code},
        "http": {"method": method, "route": route[:256], "status": status}}
    kind = "policy.decision"
    if data is not None:
        kind = "data.pull"
        body["dataset"] = {"id": AUDIT_BUNDLE_DATASET, "format": "zip"}
        body["data"] = dict(data)
        body.pop("decision")
    return record(node, kind, body)


_WORDS = {
    "en": {"negotiation": "negotiation", "transfer": "transfer", "agreement": "agreement", "dataset": "dataset",
           "rows": "rows", "checkpoint": "checkpoint", "with": "with", "permit": "permit", "deny": "deny"},
    "fr": {"negotiation": "négociation", "transfer": "transfert", "agreement": "accord", "dataset": "jeu",
           "rows": "lignes", "checkpoint": "point de contrôle", "with": "avec", "permit": "autorisé",
           "deny": "refusé"},
}


def describe_entry(e: Mapping[str, Any], lang: str = "en") -> str:
    """One line for an entry: its process change, agreement, dataset, data, decision and counter-party."""
    w = _WORDS[lang]
    parts = []
    p = e.get("process")
    if p:
        pid = p.get("provider_pid") or p.get("consumer_pid") or ""
        kind = w.get(p.get("kind", ""), p.get("kind"))
        parts.append(f"{kind} {pid} {p.get('state_from') or '-'}→{p.get('state_to') or '-'}".strip())
    if "agreement" in e:
        parts.append(f"{w['agreement']} {e['agreement'].get('id')}")
    if "dataset" in e:
        parts.append(f"{w['dataset']} {e['dataset'].get('id')}")
    if "data" in e:
        d = e["data"]
        parts.append(f"{d.get('bytes', '?')} B, {d.get('rows', '?')} {w['rows']}")
    if "decision" in e:
        d = e["decision"]
        parts.append(f"{w.get(d.get('effect', ''), d.get('effect'))} {d.get('reason_code') or ''}".strip())
    if "checkpoint" in e:
        parts.append(f"{w['checkpoint']} {e['checkpoint'].get('size')}")
    if "counterparty" in e:
        parts.append(f"{w['with']} {e['counterparty'].get('did')}")
    return "; ".join(parts)
