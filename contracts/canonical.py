"""RFC 8785 (JCS) canonical JSON bytes, fast for the usual case.

Both the fingerprints of protocol messages (``contracts.protocol.fingerprint``) and the audit log's entries
(``connector.audit``) are JCS bytes. For text that is ASCII once encoded and values without fractional numbers or
integers beyond 2^53, JCS is exactly ``json`` with sorted keys and no spaces (same escapes, same key order,
integers as written), which the C encoders write several times faster than the general serialiser; anything else
goes through rfc8785.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

try:  # optional: faster still, with the same bytes where it is used
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None  # type: ignore[assignment]

__all__ = ["canonical", "plain", "SORTED", "SAFE_INTEGER"]

SAFE_INTEGER = 2 ** 53
SORTED = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plain(v: Any) -> bool:
    """True when ``v`` holds no float, no integer beyond 2^53 and no non-string key: the cases where JCS and a
    sorted-key ``json`` encoding could differ (besides non-ASCII text, checked on the output)."""
    t = type(v)
    if t is dict:
        return all(type(k) is str and plain(x) for k, x in v.items())
    if t is list:
        return all(plain(x) for x in v)
    if t is int:
        return -SAFE_INTEGER < v < SAFE_INTEGER
    return t is not float


def canonical(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value``."""
    if plain(value):
        if _orjson is not None:
            raw = _orjson.dumps(value, option=_orjson.OPT_SORT_KEYS)
            if raw.isascii() and b"\\" not in raw:  # no escapes: orjson and JCS agree
                return raw
        out = SORTED.encode(value)
        if out.isascii():
            return out.encode()
    return rfc8785.dumps(value)
