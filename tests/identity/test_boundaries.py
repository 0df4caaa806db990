"""The package stays sans-Flask/SQL, and its other parsers also raise only their own errors on random input."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given, settings, strategies as st

import connector.identity as identity
from connector.identity import DIDError, RegistryError, StatusListError, parse_did_document, parse_did_web
from connector.identity import Participant, StatusList

PACKAGE = Path(identity.__file__).parent
FORBIDDEN = {"flask", "werkzeug", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "sqlite3", "requests"}


def test_no_flask_or_sql_imports():
    found = []
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert found == []


def test_public_names_are_exported():
    missing = [name for name in identity.__all__ if not hasattr(identity, name)]
    assert missing == [] and len(identity.__all__) == len(set(identity.__all__))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"did:web:[a-z0-9.%:A-Z_~-]{0,40}", fullmatch=True))
def test_fuzz_did_parser(text):
    try:
        parsed = parse_did_web(text)
    except DIDError:
        return
    assert parsed.did == text and ".." not in parsed.path


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["id", "type", "controller", "publicKeyJwk", "verificationMethod",
                                         "authentication", "capabilityInvocation", "service", "@context", "x"]),
                        inner, max_size=5), max_leaves=25)


@settings(max_examples=200, deadline=None)
@given(JSON, st.binary(max_size=200))
def test_fuzz_did_document_parser(value, raw):
    for data in (value, raw):
        try:
            doc = parse_did_document(data if isinstance(data, (bytes, dict)) else b"[]", "did:web:a.example.fr")
            for rel in ("authentication", "capabilityInvocation"):
                doc.keys(rel)
        except DIDError:
            pass


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_fuzz_participant_entries(value):
    try:
        Participant.from_json(value, "participants[0]")
    except RegistryError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_status_list_decode(text):
    try:
        StatusList.decode("u" + text)
    except StatusListError:
        pass
