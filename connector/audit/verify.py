"""Offline verification of an audit bundle: no database, no network, only the bundle and pinned keys.

What is checked (trust.md §2.4):

1. the manifest's signature, and the SHA-256 of every file it lists (an altered file is named);
2. each checkpoint: its note format and its signature by the log key, witness cosignatures by pinned witness keys
   (one or several witnesses; a cosignature under a pinned witness's name that no pinned key of that witness
   verifies is an error), no two checkpoints of one size with different roots, and each consistency proof between
   consecutive checkpoints;
3. each entry: valid JSON in its exact JCS form, schema v1, the bundle's origin, ``seq`` equal to its position,
   ``prev_leaf_hash`` equal to the hash of the entry before;
4. inclusion of every entry: for a whole-log bundle the tree is rebuilt from the entries and its root compared with
   every checkpoint on the way (this proves every entry at once, in one pass); for a selection, each entry's
   inclusion proof is checked against its checkpoint.

Locating a failure: a broken sequence or hash-chain link names the entry exactly; when a whole stretch was rewritten
consistently, only the signed roots can tell, and the report names the first entry after the last checkpoint that
still matches.

Per-entry checks are independent, so large bundles spread them over worker processes; the tree is built in order
in the main process as results come back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import multiprocessing
import os
from array import array
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .bundle import FILES, MANIFEST, BundleError, BundleReader, parse_manifest
from .checkpoint import verify_checkpoint
from .entry import LineParser, entry_problems
from .merkle import CompactRange, ProofError, fold, leaf_hash, root_from_inclusion_proof, verify_consistency
from .note import COSIGNATURE_V1, ED25519, NoteError, NoteVerifier, parse_note, parse_vkey

__all__ = ["Finding", "Report", "verify_bundle", "load_trusted_keys"]

_CHUNK = 1 << 14  # a power of two: chunks are perfect subtrees
_PARALLEL_FROM = 50000
_CAP = 20  # findings kept per code; the count of the rest is reported


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    code: str
    message: str
    seq: int | None = None
    exact: bool = True  # False when seq only starts the range the problem lies in


@dataclass
class Report:
    bundle: str
    origin: str | None = None
    entries: int = 0
    tree_size: int = 0
    checkpoints: int = 0
    cosigned: int = 0
    witnesses: dict[str, int] = field(default_factory=dict)  # witness name -> checkpoints it cosigned (verified)
    findings: list[Finding] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def first_failure(self) -> Finding | None:
        """The error that names the earliest entry exactly; else the earliest range; else the first error."""
        errors = self.errors
        for exact in (True, False):
            located = [f for f in errors if f.seq is not None and f.exact is exact]
            if located:
                # on a tie, a finding about the entries beats one about proofs derived from them
                return min(located, key=lambda f: (f.seq, f.code == "CONSISTENCY_FAILED"))  # type: ignore
        return errors[0] if errors else None

    @property
    def exit_code(self) -> int:
        """0 valid, 1 integrity failure, 2 valid with warnings (trust.md §2.4)."""
        return 1 if self.errors else 2 if self.warnings else 0

    def to_dict(self) -> dict[str, Any]:
        first = self.first_failure
        return {"bundle": self.bundle, "ok": self.ok, "origin": self.origin, "entries": self.entries,
                "tree_size": self.tree_size, "checkpoints": self.checkpoints, "cosigned": self.cosigned,
                "witnesses": dict(self.witnesses),
                "first_failure": asdict(first) if first else None,
                "errors": [asdict(f) for f in self.errors], "warnings": [asdict(f) for f in self.warnings],
                "suppressed": self.suppressed}


class _Findings:
    def __init__(self, report: Report):
        self.report = report
        self.counts: dict[str, int] = {}

    def add(self, level: str, code: str, message: str, seq: int | None = None, exact: bool = True) -> None:
        n = self.counts.get(code, 0) + 1
        self.counts[code] = n
        if n <= _CAP:
            self.report.findings.append(Finding(level, code, message, seq, exact))
        else:
            self.report.suppressed[code] = n - _CAP

    def error(self, code: str, message: str, seq: int | None = None, exact: bool = True) -> None:
        self.add("error", code, message, seq, exact)

    def warn(self, code: str, message: str, seq: int | None = None, exact: bool = True) -> None:
        self.add("warning", code, message, seq, exact)


def load_trusted_keys(paths: Iterable[str | Path]) -> list[NoteVerifier]:
    """Read vkeys, one per line (``#`` comments and blank lines skipped); raise ``NoteError`` naming the line."""
    keys = []
    for path in paths:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if line and not line.startswith("#"):
                try:
                    keys.append(parse_vkey(line))
                except NoteError as exc:
                    raise NoteError(f"{path}:{n}: {exc}") from None
    return keys


# -- per-entry checks (run in worker processes for large bundles) -------------------------------------------------

@dataclass
class _Chunk:
    """What the main process needs from a run of lines checked in a worker: small, cheap to send back.

    A chunk starts at a multiple of its (power of two) length, so its leaves form perfect subtrees that sit at the
    same place in the whole tree: the worker hashes them and the main process only joins chunk roots."""

    start: int
    count: int
    seqs: array  # "q" array, -1 where the line has no usable seq
    first_prev: str | None  # prev_leaf_hash of the first line, to link with the chunk before
    last_leaf: bytes
    irregular: list[tuple[int, int, int]]  # (line, previous seq, seq) where seq != previous + 1 inside the chunk
    breaks: list[int]  # lines whose seq follows on but whose prev_leaf_hash is not the line before's hash
    ts_drops: list[int]  # lines timestamped before the line before
    first_ts: str | None
    last_ts: str | None
    partials: dict[int, list[bytes]]  # checkpoint size inside the chunk -> compact range of [start, size)
    edge: list[bytes]  # compact range of the whole chunk (one hash when the chunk is full)
    leaves: bytes  # 32 bytes per line, only when asked (selections need them for inclusion proofs)
    problems: list[tuple[int, str, str]]


def _check_lines(lines: Sequence[bytes], origin: str | None, start: int = 0, targets: Sequence[int] = (),
                 keep_leaves: bool = False) -> _Chunk:
    parser = LineParser()
    edge = CompactRange()
    push = edge.append
    wanted = {t - start for t in targets if start < t <= start + len(lines)}
    partials: dict[int, list[bytes]] = {}
    leaves = bytearray()
    seqs = array("q")
    irregular: list[tuple[int, int, int]] = []
    breaks: list[int] = []
    ts_drops: list[int] = []
    problems: list[tuple[int, str, str]] = []
    first_prev: str | None = None
    first_ts: str | None = None
    last_ts = ""
    prev_hex = ""
    prev_seq = -1
    leaf = b""
    for i, line in enumerate(lines):
        leaf = leaf_hash(line)
        push(leaf)
        if keep_leaves:
            leaves += leaf
        if i + 1 in wanted:
            partials[start + i + 1] = edge.hashes
        try:
            entry, is_jcs = parser.parse(line)
        except (ValueError, RecursionError):
            entry, is_jcs = None, True
            problems.append((i, "ENTRY_NOT_JSON", "is not valid JSON"))
        if type(entry) is not dict:
            if entry is not None:
                problems.append((i, "ENTRY_SCHEMA", "is not a JSON object"))
            seqs.append(-1)
            prev_seq = -1
            prev_hex = leaf.hex()
            continue
        seq = entry.get("seq")
        seq = seq if type(seq) is int and 0 <= seq < 2 ** 62 else -1
        seqs.append(seq)
        prev = entry.get("prev_leaf_hash")
        if i == 0:
            first_prev = prev if isinstance(prev, str) else None
        elif seq >= 0 and prev_seq >= 0:
            if seq != prev_seq + 1:
                irregular.append((i, prev_seq, seq))
            elif prev != prev_hex:
                breaks.append(i)
        prev_seq = seq
        prev_hex = leaf.hex()
        ts = entry.get("ts")
        if isinstance(ts, str):
            if first_ts is None:
                first_ts = ts
            elif ts < last_ts:
                ts_drops.append(i)
            last_ts = ts
        bad = entry_problems(entry, line)
        if bad:
            is_jcs = parser.exact(line, entry)  # the fast verdict assumes a conforming entry
            problems.append((i, "ENTRY_SCHEMA", "breaks the entry schema: " + "; ".join(bad[:5])))
        if not is_jcs:
            problems.append((i, "ENTRY_NOT_CANONICAL", "is not in its RFC 8785 canonical form"))
        if origin is not None and entry.get("origin") != origin:
            problems.append((i, "ENTRY_ORIGIN", f"belongs to log {entry.get('origin')!r}, not {origin!r}"))
    return _Chunk(start, len(lines), seqs, first_prev, leaf, irregular, breaks, ts_drops, first_ts, last_ts or None,
                  partials, edge.hashes, bytes(leaves), problems)


def _chunks(f: Any, digest: Any) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for line in f:
        digest.update(line)
        chunk.append(line[:-1] if line.endswith(b"\n") else line)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _checked(chunks: Iterator[list[bytes]], origin: str | None, workers: int, targets: Sequence[int],
             keep_leaves: bool) -> Iterator[_Chunk]:
    start = 0
    if workers <= 1:
        for lines in chunks:
            yield _check_lines(lines, origin, start, targets, keep_leaves)
            start += len(lines)
        return
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: deque[Future] = deque()
        for lines in chunks:
            mine = [t for t in targets if start < t <= start + len(lines)]
            pending.append(pool.submit(_check_lines, lines, origin, start, mine, keep_leaves))
            start += len(lines)
            if len(pending) >= workers * 2:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# -- the verifier ------------------------------------------------------------------------------------------------

def _b64_hashes(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise ValueError("hashes must be a list")
    out = []
    for v in values:
        h = base64.b64decode(v, validate=True)
        if len(h) != 32:
            raise ValueError("a hash is not 32 bytes")
        out.append(h)
    return out


def verify_bundle(path: str | Path, trusted_keys: Sequence[NoteVerifier | str] | None = None, *,
                  workers: int | None = None) -> Report:
    """Verify the bundle at ``path`` against ``trusted_keys`` (vkeys of the log and its witnesses); without them,
    the keys shipped in the bundle are used and the report warns that nothing was pinned."""
    report = Report(bundle=str(path))
    out = _Findings(report)
    try:
        reader = BundleReader(path)
    except BundleError as exc:
        out.error("BUNDLE_UNREADABLE", str(exc))
        return report
    with reader:
        _verify(reader, report, out, trusted_keys, workers)
    return report


def _verify(reader: BundleReader, report: Report, out: _Findings, trusted_keys: Sequence[NoteVerifier | str] | None,
            workers: int | None) -> None:
    missing = [name for name in (*FILES, MANIFEST) if not reader.has(name)]
    for name in missing:
        out.error("BUNDLE_FILE_MISSING", f"the bundle has no {name}")
    if "entries.jsonl" in missing or "checkpoints.jsonl" in missing:
        return
    digests: dict[str, str] = {}

    # keys
    raw_keys = reader.read("keys.txt") if reader.has("keys.txt") else b""
    if reader.has("keys.txt"):
        digests["keys.txt"] = hashlib.sha256(raw_keys).hexdigest()
    if trusted_keys is not None:
        keys = [parse_vkey(k) if isinstance(k, str) else k for k in trusted_keys]
    else:
        keys = []
        if raw_keys:
            for line in raw_keys.decode("utf-8", "replace").splitlines():
                try:
                    keys.append(parse_vkey(line))
                except NoteError as exc:
                    out.error("KEY_INVALID", f"keys.txt: {exc}")
        out.warn("KEYS_UNPINNED", "signatures were checked against keys shipped inside the bundle; "
                                  "pin the node's audit key with --trusted-key to make them mean something")
    log_keys = [k for k in keys if k.sig_type == ED25519]
    witness_keys = [k for k in keys if k.sig_type == COSIGNATURE_V1]
    witness_names = {k.name for k in witness_keys}

    # manifest
    manifest: dict[str, Any] = {"files": {}}
    if MANIFEST not in missing:
        raw_manifest = reader.read(MANIFEST).decode("utf-8", "replace")
        text = raw_manifest[:-1] if raw_manifest.endswith("\n\n") else None
        try:
            if text is None:
                note = parse_note(raw_manifest)
                text = note.text
            else:
                note = None
            manifest = parse_manifest(text)
            report.origin = manifest.get("origin")
            if note is None:
                out.warn("MANIFEST_UNSIGNED", "the manifest is not signed (exported without the audit key)")
            else:
                own = [k for k in log_keys if k.name == report.origin]
                try:
                    note.verify(own)
                except NoteError as exc:
                    out.error("MANIFEST_SIGNATURE", f"manifest: {exc}")
        except (NoteError, BundleError) as exc:
            out.error("MANIFEST_INVALID", f"manifest: {exc}")
    origin = report.origin

    # checkpoints
    roots: dict[int, bytes] = {}
    cosigned: set[int] = set()
    with reader.open("checkpoints.jsonl") as f:
        raw_cps = f.read()
    digests["checkpoints.jsonl"] = hashlib.sha256(raw_cps).hexdigest()
    for n, line in enumerate(raw_cps.splitlines(), 1):
        try:
            item = json.loads(line)
            vc = verify_checkpoint(item["note"], log_keys, witness_keys)
        except (ValueError, KeyError, TypeError) as exc:
            out.error("CHECKPOINT_INVALID", f"checkpoint line {n} refused: {exc}")
            continue
        cp = vc.checkpoint
        if item.get("size") != cp.size:
            out.error("CHECKPOINT_INVALID", f"checkpoint line {n} says size {item.get('size')} but signs {cp.size}")
        if origin is None:
            origin = report.origin = cp.origin
        elif cp.origin != origin:
            out.error("CHECKPOINT_INVALID", f"checkpoint of size {cp.size} is for log {cp.origin!r}, not {origin!r}")
            continue
        if cp.size in roots and roots[cp.size] != cp.root:
            out.error("CHECKPOINT_FORK", f"two signed checkpoints of size {cp.size} with different roots: "
                                         "the log showed two histories", cp.size, False)
            continue
        roots[cp.size] = cp.root
        if vc.cosignatures:
            cosigned.add(cp.size)
        by = {name for name, _ in vc.cosignatures}
        for name in by:
            report.witnesses[name] = report.witnesses.get(name, 0) + 1
        # a line under a pinned witness's name that none of its pinned keys verifies: not that witness's word
        for sig in vc.note.signatures:
            if sig.name in witness_names and sig.name not in by:
                out.error("COSIGNATURE_UNTRUSTED", f"checkpoint of size {cp.size} carries a cosignature named "
                                                   f"{sig.name} that no pinned key of that witness verifies")
    sizes = sorted(roots)
    report.checkpoints = len(sizes)
    report.cosigned = len(cosigned)
    report.tree_size = sizes[-1] if sizes else 0

    # proofs
    consistency: dict[tuple[int, int], list[bytes]] = {}
    inclusion: dict[int, tuple[int, list[bytes]]] = {}
    if reader.has("proofs.jsonl"):
        raw_proofs = reader.read("proofs.jsonl")
        digests["proofs.jsonl"] = hashlib.sha256(raw_proofs).hexdigest()
        for n, line in enumerate(raw_proofs.splitlines(), 1):
            try:
                p = json.loads(line)
                if p["kind"] == "consistency":
                    consistency[(int(p["from"]), int(p["to"]))] = _b64_hashes(p["hashes"])
                elif p["kind"] == "inclusion":
                    inclusion[int(p["seq"])] = (int(p["size"]), _b64_hashes(p["hashes"]))
                else:
                    raise ValueError(f"unknown proof kind {p['kind']!r}")
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                out.error("PROOF_INVALID", f"proofs.jsonl line {n}: {exc}")
    full = (manifest.get("selection") or {"kind": "full"}).get("kind") == "full"
    for a, b in zip(sizes, sizes[1:]):
        proof = consistency.get((a, b))
        if proof is None:
            if not full:
                out.warn("CONSISTENCY_MISSING", f"no consistency proof from size {a} to {b}", a, False)
            continue
        try:
            verify_consistency(a, b, roots[a], roots[b], proof)
        except ProofError as exc:
            out.error("CONSISTENCY_FAILED", f"checkpoints {a} and {b} are not consistent: {exc}", a, False)

    # entries
    if workers is None:
        expected = manifest.get("entries", 0)
        workers = min(2, os.cpu_count() or 1) if expected >= _PARALLEL_FROM else 1
    digest = hashlib.sha256()
    with reader.open("entries.jsonl") as f:
        if full:
            _entries_full(_checked(_chunks(f, digest), origin, workers, sizes, False), sizes, roots, report, out)
        else:
            _entries_selected(_checked(_chunks(f, digest), origin, workers, (), True), sizes, roots, inclusion, report,
                              out)
    digests["entries.jsonl"] = digest.hexdigest()

    # manifest digests and counts
    listed = manifest.get("files", {})
    for name, value in digests.items():
        if name in listed and listed[name] != value:
            out.error("BUNDLE_FILE_ALTERED", f"{name} differs from the manifest's SHA-256")
    if "entries" in manifest and manifest["entries"] != report.entries:
        out.error("BUNDLE_FILE_ALTERED", f"the manifest lists {manifest['entries']} entries, the bundle holds "
                                         f"{report.entries}")
    if manifest.get("tree_size") not in (None, report.tree_size):
        out.error("BUNDLE_FILE_ALTERED", f"the manifest names tree size {manifest['tree_size']}, the checkpoints "
                                         f"reach {report.tree_size}")

    # witnessing
    if witness_keys and sizes:
        last_cosigned = max(cosigned, default=0)
        if last_cosigned < sizes[-1]:
            out.warn("UNWITNESSED", f"entries from {last_cosigned} to {sizes[-1] - 1} are covered by no witness "
                                    "cosignature", last_cosigned, False)


def _entries_full(results: Iterator[_Chunk], sizes: list[int], roots: dict[int, bytes], report: Report,
                  out: _Findings) -> None:
    frontier = CompactRange()  # the tree's right edge over every chunk before the current one
    pending = deque(s for s in sizes if s > 0)
    last_good = 0
    pos = 0
    prev_seq = -1
    prev_leaf = b""
    last_ts = ""
    breaks: list[int] = []
    jumps: list[tuple[int, int | None, int]] = []  # (position, previous seq, seq) where seq != previous + 1
    all_seqs: list[array] = []
    for chunk in results:
        start = chunk.start
        for i, code, msg in chunk.problems:
            out.error(code, f"entry {start + i} {msg}", start + i)
        if chunk.first_ts is not None and chunk.first_ts < last_ts:
            out.warn("TS_DECREASING", f"entry {start} is timestamped before the entry before it", start)
        for i in chunk.ts_drops:
            out.warn("TS_DECREASING", f"entry {start + i} is timestamped before the entry before it", start + i)
        last_ts = chunk.last_ts or last_ts
        # the link between this chunk and the one before
        seq0 = chunk.seqs[0] if chunk.count else -1
        if seq0 >= 0:
            if start == 0:
                if seq0 != 0:
                    jumps.append((0, None, seq0))
            elif prev_seq >= 0:
                if seq0 != prev_seq + 1:
                    jumps.append((start, prev_seq, seq0))
                elif chunk.first_prev != prev_leaf.hex():
                    breaks.append(start)
        if len(jumps) < 1000:
            jumps.extend((start + i, p, s) for i, p, s in chunk.irregular[:1000])
        breaks.extend(start + i for i in chunk.breaks)
        all_seqs.append(chunk.seqs)
        # roots of the checkpoints that fall inside this chunk
        while pending and pending[0] <= start + chunk.count:
            size = pending.popleft()
            if fold(frontier.hashes + chunk.partials[size]) != roots[size]:
                out.error("ROOT_MISMATCH", f"entries {last_good} to {size - 1} do not hash to the root signed "
                                           f"at size {size}", last_good, False)
            else:
                last_good = size
        if chunk.count == _CHUNK:  # a full chunk is one perfect subtree
            frontier.append_subtree(chunk.edge[0], _CHUNK.bit_length() - 1)
        else:  # the last chunk: its subtrees are all smaller than any before it
            frontier = CompactRange(start + chunk.count, frontier.hashes + chunk.edge)
        pos = start + chunk.count
        prev_seq = chunk.seqs[-1] if chunk.count else prev_seq
        prev_leaf = chunk.last_leaf
    report.entries = pos
    if jumps:
        _report_jumps(jumps, _seen(all_seqs, pos), out)
    _report_breaks(breaks, out)
    if pending:
        out.error("LOG_TRUNCATED", f"a checkpoint covers {pending[-1]} entries but the bundle ends after "
                                   f"{pos}: entries {pos} to {pending[-1] - 1} were removed", pos)
    covered = sizes[-1] if sizes else 0
    if pos > covered:
        out.warn("ENTRY_UNCOVERED", f"entries {covered} to {pos - 1} come after the last checkpoint: no signature "
                                    "covers them", covered, False)


def _seen(all_seqs: list[array], pos: int) -> bytearray:
    """How many entries claim each seq (capped at 2), to tell a missing entry from a moved or duplicated one."""
    seen = bytearray(pos + 1)
    limit = 4 * pos + 1_000_000
    for seqs in all_seqs:
        for seq in seqs:
            if 0 <= seq < limit:
                if seq >= len(seen):
                    seen.extend(bytes(seq + 1 - len(seen)))
                if seen[seq] < 2:
                    seen[seq] += 1
    return seen


def _report_jumps(jumps: list[tuple[int, int | None, int]], seen: bytearray, out: _Findings) -> None:
    # classified once the whole file is read: a seq that never appears was removed, one claimed twice was
    # inserted, anything else was moved
    def count(seq: int) -> int:
        return seen[seq] if 0 <= seq < len(seen) else 0

    for pos, prev_seq, seq in jumps:
        expected = 0 if prev_seq is None else prev_seq + 1
        if prev_seq is None:
            out.error("ENTRY_SEQ", f"the first entry is numbered {seq}, not 0", 0)
        elif seq <= prev_seq and count(seq) >= 2:
            out.error("ENTRY_INSERTED", f"two entries claim seq {seq} (the second at position {pos}): an entry was "
                                        "inserted", seq)
        elif count(expected) == 0:
            out.error("ENTRY_MISSING", f"entry {expected} is missing (entry {seq} follows entry {prev_seq})",
                      expected)
        else:
            out.error("ENTRY_SEQ", f"entry {seq} follows entry {prev_seq}: entries were reordered",
                      min(expected, seq))


def _report_breaks(breaks: list[int], out: _Findings) -> None:
    # entry k altered: k+1's link breaks; if k's own prev_leaf_hash was altered, k's link breaks too
    found = set(breaks)
    skip: set[int] = set()
    for b in breaks:
        if b in skip:
            continue
        if b + 1 in found:
            altered = b
            skip.add(b + 1)
        else:
            altered = b - 1
        out.error("ENTRY_ALTERED", f"entry {altered} does not match the hash recorded in the entry after it: it was "
                                   "altered", altered)


def _entries_selected(results: Iterator[_Chunk], sizes: list[int], roots: dict[int, bytes],
                      inclusion: dict[int, tuple[int, list[bytes]]], report: Report, out: _Findings) -> None:
    count = 0
    prev_seq = -1
    prev_leaf = b""
    covered = sizes[-1] if sizes else 0
    uncovered: int | None = None
    for chunk in results:
        for i, code, msg in chunk.problems:
            seq = chunk.seqs[i]
            out.error(code, f"entry at line {count + i + 1} {msg}", seq if seq >= 0 else None)
        breaks = set(chunk.breaks)
        for i, seq in enumerate(chunk.seqs):
            leaf = chunk.leaves[32 * i:32 * i + 32]
            count += 1
            if seq < 0:
                continue
            if prev_seq >= 0 and seq <= prev_seq:
                out.error("ENTRY_SEQ", f"entry {seq} comes after entry {prev_seq}: entries out of order", seq)
            elif prev_seq >= 0 and seq == prev_seq + 1 and (
                    i in breaks if i else chunk.first_prev != prev_leaf.hex()):
                out.error("ENTRY_ALTERED", f"entries {prev_seq} and {seq} do not chain: one was altered", prev_seq)
            prev_seq, prev_leaf = seq, leaf
            if seq >= covered:
                uncovered = seq if uncovered is None else uncovered
                continue
            proof = inclusion.get(seq)
            if proof is None:
                out.error("INCLUSION_MISSING", f"entry {seq} has no inclusion proof", seq)
                continue
            size, hashes = proof
            if size not in roots:
                out.error("INCLUSION_FAILED", f"entry {seq}'s proof refers to size {size}, which no trusted "
                                              "checkpoint signs", seq)
                continue
            try:
                ok = root_from_inclusion_proof(seq, size, leaf, hashes) == roots[size]
            except ProofError:
                ok = False
            if not ok:
                out.error("INCLUSION_FAILED", f"entry {seq} is not in the log signed at size {size}", seq)
    report.entries = count
    if uncovered is not None:
        out.warn("ENTRY_UNCOVERED", f"entries from {uncovered} come after the last checkpoint: no signature "
                                    "covers them", uncovered, False)
