"""The fast canonical form gives RFC 8785's bytes for any JSON value, whichever path it takes."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import fingerprint
from contracts.canonical import canonical

_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 53) + 1, max_value=2 ** 53 - 1)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
            | st.sampled_from(["é", "\u2028", "\x00", "\x1f", "\x7f", "😀", "\ufffd", '"\\', "\ue000"]))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=6) | st.sampled_from(["😀", "\ue000", "a", "B"]), inner,
                                       max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_canonical_equals_rfc8785(value: object) -> None:
    assert canonical(value) == rfc8785.dumps(value)


def test_key_order_is_by_utf16_code_units_not_code_points() -> None:
    # U+E000 sorts after U+1F600 in UTF-16 (0xE000 > 0xD83D), before it by code point: the slow path answers
    value = {"\ue000": 1, "😀": 2}
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical(value).index("😀".encode()) < canonical(value).index("\ue000".encode())


def test_fingerprints_ignore_key_order_and_see_every_value() -> None:
    a = {"@type": "ContractRequestMessage", "consumerPid": "urn:uuid:1", "offer": {"@id": "o", "target": "d"}}
    b = {"offer": {"target": "d", "@id": "o"}, "consumerPid": "urn:uuid:1", "@type": "ContractRequestMessage"}
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint({**a, "offer": {"@id": "o", "target": "e"}})
    assert fingerprint({"x": 1}) != fingerprint({"x": 1.5}) != fingerprint({"x": "1"})
