"""The audit record (schema v1, trust.md §2.3): what an entry may hold, and its canonical bytes (RFC 8785).

The schema is a table of sections and their fields rather than free-form JSON, for two reasons: the verifier checks
every entry of a million-entry bundle with it, so it must be cheap; and a closed set of identifier, hash and count
fields is what keeps personal data out of the log. Any string that looks like an e-mail address is refused as a
last guard; names, addresses and raw tokens have no field to go in (use a jti, ``sha256(token)`` or an HMAC pseudonym).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import rfc8785

from contracts.canonical import SORTED as _SORTED, canonical

try:  # optional speed-up for reading bundles; the standard library gives the same answers
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None  # type: ignore[assignment]

__all__ = ["SCHEMA_VERSION", "EVENTS", "SECTIONS", "EntryError", "format_ts", "build_entry", "canonical",
           "entry_problems", "parse_line"]

SCHEMA_VERSION = 1

EVENTS = frozenset({
    "auth.rejected",
    "credential.verified", "credential.rejected",
    "catalog.request", "catalog.response",
    "negotiation.state_changed", "agreement.finalized", "agreement.revoked",
    "transfer.state_changed", "transfer.started", "transfer.completed", "transfer.suspended",
    "transfer.terminated",
    "edr.issued", "edr.refreshed", "edr.revoked",
    "data.pull",
    "policy.decision",
    "ingest.file_committed", "ingest.duplicate_skipped", "ingest.failed",
    "export.small_cells_suppressed",
    "key.rotated", "key.compromised",
    "checkpoint.signed", "checkpoint.witnessed",
})


class EntryError(ValueError):
    """An entry does not follow the schema; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_EMAIL = re.compile(r"[^\s@/:]+@[^\s@/]+\.[A-Za-z]{2,}")
# In JSON text an "@" right after an unescaped quote opens its string, so nothing precedes it there and no address
# can end at it: JSON-LD's "@context", "@id", "@type" need no look. Any other "@" (or an escaped one) may belong to
# an address and sends the entry to the screen.
_MAY_HOLD_EMAIL = re.compile(rb'(?:[^"]|\\")@|\\u0040')
_MAX_STR = 2048

Check = Callable[[Any], "str | None"]


def _str(v: Any) -> str | None:
    if not isinstance(v, str):
        return "must be a string"
    return "is too long" if len(v) > _MAX_STR else None


def _int(v: Any) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 53 else \
        "must be a whole number from 0 to 2^53"


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _hex(v: Any) -> str | None:
    return None if isinstance(v, str) and _HEX64.match(v) else "must be 64 lowercase hex digits (SHA-256)"


def _did(v: Any) -> str | None:
    return None if isinstance(v, str) and v.startswith("did:") and len(v) <= 512 else "must be a DID"


def _ts(v: Any) -> str | None:
    return None if isinstance(v, str) and _TS.match(v) else "must be RFC 3339 UTC with milliseconds"


def _opt(check: Check) -> Check:
    return lambda v: None if v is None else check(v)


def _enum(*values: str) -> Check:
    return lambda v: None if v in values else f"must be one of {', '.join(values)}"


def _json(v: Any) -> str | None:
    return None  # any JSON value (e.g. an ODRL right operand or a whole agreed policy); strings are still screened


def _list_of(check: Check) -> Check:
    def run(v: Any) -> str | None:
        if not isinstance(v, list):
            return "must be a list"
        for i, item in enumerate(v):
            bad = check(item)
            if bad:
                return f"item {i} {bad}"
        return None
    return run


class _Obj:
    """A nested object's fields; callable like the other checks, and recursed into directly by the fast path."""

    def __init__(self, fields: Mapping[str, Check], required: frozenset[str]):
        self.fields = fields
        self.required = required

    def __call__(self, v: Any) -> str | None:
        if not isinstance(v, dict):
            return "must be an object"
        bad = _fields_problems(v, self.fields, self.required)
        return "; ".join(bad) if bad else None


def _obj(fields: Mapping[str, Check], required: frozenset[str] = frozenset()) -> _Obj:
    return _Obj(fields, required)


_LIMIT = 2 ** 53
_GOOD_SECTIONS: set[tuple] = set()


def _fields_problems(obj: Mapping[str, Any], fields: Mapping[str, Check], required: frozenset[str],
                     where: str = "") -> list[str]:
    # The verifier runs this on every entry of a bundle: the common field types are tested inline and only a
    # failing value goes through its check function to get the message.
    problems: list[str] = []
    for k, v in obj.items():
        check = fields.get(k)
        if check is None:
            problems.append(f"{where}{k}: unknown field")
            continue
        if check is _str:
            if type(v) is str and len(v) <= _MAX_STR:
                continue
        elif check is _int:
            if type(v) is int and 0 <= v < _LIMIT:
                continue
        elif check is _hex:
            if type(v) is str and len(v) == 64 and _HEX64.match(v):
                continue
        elif check is _did:
            if type(v) is str and v.startswith("did:") and len(v) <= 512:
                continue
        elif check is _json:
            continue
        elif type(check) is _Obj:
            if type(v) is dict:
                # sections repeat across entries (the same actor, dataset, decision...): remember good ones
                try:
                    key = (k, *v.items())
                    if key in _GOOD_SECTIONS:
                        continue
                except TypeError:  # holds a list or an object: not hashable, check it every time
                    key = None
                sub = _fields_problems(v, check.fields, check.required, f"{where}{k}.")
                if sub:
                    problems.extend(sub)
                elif key is not None:
                    if len(_GOOD_SECTIONS) > 4096:
                        _GOOD_SECTIONS.clear()
                    _GOOD_SECTIONS.add(key)
                continue
        bad = check(v)
        if bad:
            problems.append(f"{where}{k}: {bad}")
    if not required <= obj.keys():
        problems += [f"{where}{k}: missing" for k in sorted(required - obj.keys())]
    return problems


_CONSTRAINT = _obj({"left": _str, "op": _str, "right": _json, "actual": _json, "ok": _bool})

#: section name -> (fields, required fields). Every field is optional unless listed as required.
SECTIONS: dict[str, tuple[dict[str, Check], frozenset[str]]] = {
    "actor": ({"did": _did, "role": _str}, frozenset({"did", "role"})),
    "counterparty": ({"did": _did, "role": _str}, frozenset({"did"})),
    "process": ({"kind": _enum("negotiation", "transfer"), "consumer_pid": _str, "provider_pid": _str,
                 "state_from": _opt(_str), "state_to": _str, "dsp_message": _str, "token_jti": _str,
                 "attempt": _int, "reason": _str}, frozenset({"kind"})),
    "agreement": ({"id": _str, "offer_id": _str, "policy_id": _str, "policy_sha256": _hex,
                   "valid_from": _opt(_ts), "valid_until": _opt(_ts), "policy": _json}, frozenset({"id"})),
    "dataset": ({"id": _str, "distribution_id": _str, "format": _str, "title_sha256": _hex}, frozenset({"id"})),
    "data": ({"bytes": _int, "rows": _int, "sha256": _hex, "schema_sha256": _hex, "format": _str,
              "temporal": _obj({"start": _str, "end": _str}), "slot": _str}, frozenset()),
    "decision": ({"effect": _enum("permit", "deny"), "rule": _str, "reason_code": _str,
                  "reasons": _list_of(_str), "constraints": _list_of(_CONSTRAINT), "evaluator": _str,
                  "point": _enum("catalog", "negotiation", "pull")}, frozenset({"effect"})),
    "http": ({"method": _str, "route": _str, "status": _int, "error_code": _str, "client_ref": _hex},
             frozenset()),
    "auth": ({"reason_code": _str, "token_jti": _str, "token_sha256": _hex, "iss": _str, "kid": _str},
             frozenset({"reason_code"})),
    "credential": ({"type": _str, "issuer": _did, "subject": _did, "reason_code": _str, "status_index": _int},
                   frozenset()),
    "catalog": ({"datasets": _int, "filter_sha256": _hex}, frozenset()),
    "suppression": ({"cells": _int, "secondary": _int, "indicator": _str}, frozenset()),
    "key": ({"kid": _str, "pub_sha256": _hex, "previous_kid": _str}, frozenset({"kid"})),
    "checkpoint": ({"size": _int, "root": _str, "witness": _str}, frozenset({"size"})),
}

_HEADER: dict[str, Check] = {
    "v": lambda v: None if type(v) is int and v == SCHEMA_VERSION else f"must be {SCHEMA_VERSION}",
    "seq": _int, "ts": _ts, "origin": _str,
    "event_id": lambda v: None if isinstance(v, str) and _UUID.match(v) else "must be a lowercase UUID",
    "event": lambda v: None if v in EVENTS else "is not a known event type",
    "prev_leaf_hash": _hex,
}
_REQUIRED = frozenset({"v", "seq", "ts", "origin", "event_id", "event", "actor"})
_SECTION_CHECKS: dict[str, _Obj] = {name: _obj(*spec) for name, spec in SECTIONS.items()}
_ALL_FIELDS: dict[str, Check] = {**_HEADER, **_SECTION_CHECKS}
HEADER_FIELDS = frozenset(_HEADER)


def format_ts(now: datetime | float) -> str:
    """RFC 3339 UTC with milliseconds; ``now`` is an aware datetime or seconds since the epoch."""
    if isinstance(now, (int, float)):
        now = datetime.fromtimestamp(now, tz=timezone.utc)
    if now.tzinfo is None:
        raise ValueError("audit timestamps need an aware datetime (UTC), not a naive one")
    now = now.astimezone(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _strings(v: Any, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(v, str):
        out.append((path, v))
    elif isinstance(v, dict):
        for k, x in v.items():
            _strings(x, f"{path}.{k}" if path else str(k), out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _strings(x, f"{path}[{i}]", out)


def may_hold_email(raw: bytes) -> bool:
    """False when no string of the JSON text ``raw`` can hold an e-mail address: every "@" in it begins a string."""
    return _MAY_HOLD_EMAIL.search(raw) is not None


def entry_problems(entry: Any, raw: bytes | None = None) -> list[str]:
    """Everything wrong with ``entry`` against schema v1 (empty when it conforms).

    ``raw`` is the entry's serialised form when the caller has it: the e-mail screen then runs only if
    :func:`may_hold_email` says so.
    """
    if not isinstance(entry, dict):
        return ["an entry must be a JSON object"]
    problems = [] if _conforms(entry) else _fields_problems(entry, _ALL_FIELDS, _REQUIRED)
    if "prev_leaf_hash" not in entry and entry.get("seq", 0) != 0:
        problems.append("prev_leaf_hash: missing (required after the first entry)")
    if may_hold_email(raw) if raw is not None else ("@" in repr(entry)):
        found: list[tuple[str, str]] = []
        _strings(entry, "", found)
        problems += [f"{path}: looks like an e-mail address; personal data has no place in the log"
                     for path, s in found if "@" in s and _EMAIL.search(s)]
    return problems


_NONE = object()


def _conforms(e: dict[str, Any]) -> bool:
    """The same verdict as the field table for a conforming entry, faster: the header is tested inline and good
    sections are remembered. Any doubt returns False and the caller runs the full check for the messages."""
    seq, ts, eid, prev, v = e.get("seq"), e.get("ts"), e.get("event_id"), e.get("prev_leaf_hash", _NONE), e.get("v")
    origin = e.get("origin")
    if not (type(v) is int and v == SCHEMA_VERSION and type(seq) is int and 0 <= seq < _LIMIT
            and type(ts) is str and _TS.match(ts) and type(origin) is str and len(origin) <= _MAX_STR
            and type(eid) is str and _UUID.match(eid) and e.get("event") in EVENTS and "actor" in e
            and (prev is _NONE or type(prev) is str and len(prev) == 64 and _HEX64.match(prev))):
        return False
    for k, v in e.items():
        if k in HEADER_FIELDS:
            continue
        check = _SECTION_CHECKS.get(k)
        if check is None or type(v) is not dict:
            return False
        try:
            key: tuple | None = (k, *v.items())
            if key in _GOOD_SECTIONS:
                continue
        except TypeError:
            key = None
        if _fields_problems(v, check.fields, check.required):
            return False
        if key is not None:
            if len(_GOOD_SECTIONS) > 4096:
                _GOOD_SECTIONS.clear()
            _GOOD_SECTIONS.add(key)
    return True


def build_entry(*, seq: int, ts: str, origin: str, event_id: str, event: str, body: Mapping[str, Any],
                prev_leaf_hash: str | None, screen_later: bool = False) -> dict[str, Any]:
    """The entry dict for ``event`` with the sections in ``body``; raises :class:`EntryError` listing all problems.

    ``screen_later``: the caller serialises the entry next and runs the e-mail screen on those bytes
    (``entry_problems(entry, raw)``), which is cheaper than looking for an "@" in the dict's ``repr`` here."""
    clash = sorted(set(body) & HEADER_FIELDS)
    if clash:
        raise EntryError([f"{k}: set by the log, not by the caller" for k in clash])
    entry: dict[str, Any] = {"v": SCHEMA_VERSION, "seq": seq, "ts": ts, "origin": origin, "event_id": event_id,
                             "event": event, **body}
    if prev_leaf_hash is not None:
        entry["prev_leaf_hash"] = prev_leaf_hash
    problems = entry_problems(entry, b"" if screen_later else None)
    if problems and screen_later:
        problems = entry_problems(entry)   # a refused entry lists every problem, the e-mail screen's too
    if problems:
        raise EntryError(problems)
    return entry


def _bad_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class LineParser:
    """Parses exported entry lines and tells whether each is its exact JCS form; one per thread or process (it
    reuses one decoder, whose float hook records whether the current line held a fractional number).

    For ASCII lines without fractional numbers, JCS and ``json`` with sorted keys agree byte for byte (same escapes,
    same key order, integers as written), so that cheap encoder answers; anything else goes to rfc8785.
    """

    def __init__(self) -> None:
        self._float_seen = False
        self._decoder = json.JSONDecoder(parse_float=self._float, parse_constant=_bad_constant)

    def _float(self, s: str) -> float:
        self._float_seen = True
        return float(s)

    def parse(self, line: bytes) -> tuple[Any, bool]:
        """(value, is_jcs); raises ``ValueError`` when the line is not UTF-8 JSON.

        With orjson installed, an ASCII line without escapes is parsed and re-encoded by it (six times faster): for
        such lines its sorted-key output is the JCS form as long as no fractional number is involved, and the only
        fields of a conforming entry that may hold one, or an integer beyond 2^53 (``decision.constraints``,
        ``agreement.policy``), are looked at. An entry that breaks the schema gets its verdict from :meth:`exact`.
        """
        if _orjson is not None and line.isascii() and b"\\" not in line:
            try:
                value = _orjson.loads(line)
            except _orjson.JSONDecodeError:
                pass  # let the standard parser give the verdict (e.g. integers beyond 64 bits)
            else:
                if not _needs_exact(value):
                    return value, _orjson.dumps(value, option=_orjson.OPT_SORT_KEYS) == line
                return value, self.exact(line, value)
        return self._parse_std(line)

    def exact(self, line: bytes, value: Any) -> bool:
        """The JCS verdict without shortcuts."""
        try:
            return rfc8785.dumps(value) == line
        except Exception:
            return False

    def _parse_std(self, line: bytes) -> tuple[Any, bool]:
        self._float_seen = False
        text = line.decode("utf-8")
        value = self._decoder.decode(text)
        if not self._float_seen and text.isascii() and not _needs_exact(value):
            return value, _SORTED.encode(value) == text
        try:
            return value, rfc8785.dumps(value) == line
        except Exception:
            return value, False


def _loose_number(v: Any) -> bool:
    """A float, or an integer beyond JCS's exact range, anywhere in ``v``."""
    t = type(v)
    if t is float:
        return True
    if t is int:
        return not -_LIMIT < v < _LIMIT
    if t is dict:
        return any(_loose_number(x) for x in v.values())
    if t is list:
        return any(_loose_number(x) for x in v)
    return False


def _needs_exact(entry: Any) -> bool:
    # the only fields of a conforming entry that may hold such numbers
    if type(entry) is not dict:
        return False
    decision, agreement = entry.get("decision"), entry.get("agreement")
    return (type(decision) is dict and _loose_number(decision.get("constraints"))) or \
        (type(agreement) is dict and _loose_number(agreement.get("policy")))


def parse_line(line: bytes) -> tuple[Any, bool]:
    """One-off form of :meth:`LineParser.parse`."""
    return LineParser().parse(line)
