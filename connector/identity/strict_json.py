"""Strict JSON decoding for untrusted security tokens and documents.

Duplicate keys are refused (two parsers could otherwise disagree on which ``aud`` counts), as are the non-standard
constants ``NaN``/``Infinity``, invalid UTF-8, overlong input and pathological nesting.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads_object", "dumps_compact"]


class _Refused(ValueError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused("DUPLICATE_KEY", f"duplicate JSON key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise _Refused("MALFORMED", f"non-standard JSON constant {name}")


def loads_object(data: bytes, *, what: str, max_bytes: int, max_depth: int = 32) -> tuple[dict[str, Any] | None, str, str]:
    """Decode ``data`` as one JSON object.

    Returns ``(object, "", "")`` or ``(None, code, reason)``; callers wrap the code into their own exception type so
    that every module raises only its declared errors.
    """
    if len(data) > max_bytes:
        return None, "OVERSIZE", f"{what} is {len(data)} bytes, limit {max_bytes}"
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return None, "MALFORMED", f"{what} is not valid UTF-8"
    if text.count("[") + text.count("{") > max_depth and _depth(text) > max_depth:
        return None, "MALFORMED", f"{what} nests deeper than {max_depth} levels"
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except _Refused as exc:
        return None, exc.code, f"{what}: {exc.reason}"
    except (ValueError, RecursionError) as exc:
        return None, "MALFORMED", f"{what} is not JSON ({type(exc).__name__})"
    if not isinstance(value, dict):
        return None, "MALFORMED", f"{what} is not a JSON object"
    return value, "", ""


def _depth(text: str) -> int:
    """Upper bound of the nesting depth, counted before parsing so that the parser never recurses deeply."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def dumps_compact(value: Any) -> bytes:
    """The compact UTF-8 JSON we sign (no spaces; keys in insertion order)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
