"""Declared table schemas (Frictionless Table Schema JSON with a few project properties).

Each schema file carries an ``id`` IRI that catalogue distributions reference with ``dct:conformsTo``. Project
properties on top of Table Schema: a field's ``arrowType`` (the narrow Arrow integer type), ``pseudonymise`` (the
pseudonym namespace of an identifier column), ``codelist`` (``insee:departement``) and the table's ``rowRules``
(cross-column rules, see ``hub.collection.validate``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import pyarrow as pa

__all__ = ["Field", "TableSchema", "SchemaError", "load_schema", "schema_names", "schema_by_iri"]

_ARROW = {"string": pa.string(), "date": pa.date32(), "number": pa.float64(), "boolean": pa.bool_()}
_INTS = {"int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64()}
_RULE_KINDS = {"constant", "compare", "days_between", "present_iff"}


class SchemaError(ValueError):
    """A schema file that does not hold together."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    constraints: dict[str, Any] = field(default_factory=dict)
    arrow_type_name: str | None = None
    pseudonymise: str | None = None
    codelist: str | None = None
    true_values: tuple[str, ...] = ("true", "True", "TRUE", "1")
    false_values: tuple[str, ...] = ("false", "False", "FALSE", "0")
    description: str = ""

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required", False))

    @property
    def arrow_type(self) -> pa.DataType:
        if self.type == "integer":
            return _INTS[self.arrow_type_name or "int64"]
        return _ARROW[self.type]


@dataclass(frozen=True)
class TableSchema:
    iri: str
    name: str
    version: str
    title: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    row_rules: tuple[dict[str, Any], ...]
    missing_values: tuple[str, ...] = ("",)
    descriptor: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def arrow_schema(self, metadata: dict[str, str] | None = None) -> pa.Schema:
        meta = {"conformsTo": self.iri, "schema_version": self.version}
        meta.update(metadata or {})
        return pa.schema([pa.field(f.name, f.arrow_type, nullable=not f.required) for f in self.fields],
                         metadata=meta)


def _parse(desc: dict[str, Any]) -> TableSchema:
    problems: list[str] = []
    for key in ("id", "name", "version", "fields"):
        if key not in desc:
            problems.append(f"missing '{key}'")
    fields = []
    for i, f in enumerate(desc.get("fields", [])):
        t = f.get("type", "string")
        if t not in (*_ARROW, "integer"):
            problems.append(f"fields[{i}] ({f.get('name')}): unsupported type {t!r}")
        if f.get("arrowType") and f["arrowType"] not in _INTS:
            problems.append(f"fields[{i}] ({f.get('name')}): unsupported arrowType {f['arrowType']!r}")
        fields.append(Field(name=f["name"], type=t, constraints=dict(f.get("constraints", {})),
                            arrow_type_name=f.get("arrowType"), pseudonymise=f.get("pseudonymise"),
                            codelist=f.get("codelist"),
                            true_values=tuple(f.get("trueValues", Field.true_values)),
                            false_values=tuple(f.get("falseValues", Field.false_values)),
                            description=f.get("description", "")))
    names = {f.name for f in fields}
    for k in desc.get("primaryKey", []):
        if k not in names:
            problems.append(f"primaryKey names unknown column {k!r}")
    for r in desc.get("rowRules", []):
        if r.get("kind") not in _RULE_KINDS:
            problems.append(f"rowRules {r.get('id')!r}: unknown kind {r.get('kind')!r}")
        for key in ("column", "left", "right", "start", "end", "equals", "when"):
            if key in r and r[key] not in names:
                problems.append(f"rowRules {r.get('id')!r}: unknown column {r[key]!r}")
    if problems:
        raise SchemaError(f"schema {desc.get('name', '?')}: " + "; ".join(problems))
    return TableSchema(iri=desc["id"], name=desc["name"], version=desc["version"], title=desc.get("title", ""),
                       fields=tuple(fields), primary_key=tuple(desc.get("primaryKey", [])),
                       row_rules=tuple(desc.get("rowRules", [])),
                       missing_values=tuple(desc.get("missingValues", [""])), descriptor=desc)


@lru_cache(maxsize=1)
def schema_names() -> tuple[str, ...]:
    """Names of the bundled schemas: every ``<name>.json`` in this package, sorted."""
    return tuple(sorted(f.name[:-5] for f in resources.files("hub.schemas").iterdir()
                        if f.name.endswith(".json") and f.is_file()))


@lru_cache(maxsize=None)
def load_schema(name: str) -> TableSchema:
    """A bundled schema by name (``campsite-bookings``) or by its IRI."""
    if name.startswith("http"):
        return schema_by_iri(name)
    if name not in schema_names():
        raise SchemaError(f"unknown schema {name!r}; known: {', '.join(schema_names())}")
    text = resources.files("hub.schemas").joinpath(f"{name}.json").read_text(encoding="utf-8")
    schema = _parse(json.loads(text))
    if schema.name != name:
        raise SchemaError(f"schema file {name}.json declares name {schema.name!r}; the file must be named after it")
    return schema


def schema_by_iri(iri: str) -> TableSchema:
    """The bundled schema whose ``id`` is ``iri`` (what a distribution's ``conformsTo`` holds)."""
    for n in schema_names():
        s = load_schema(n)
        if s.iri == iri:
            return s
    raise SchemaError(f"no bundled schema has IRI {iri!r}")
