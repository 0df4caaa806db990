"""Declared, versioned table schemas for collected files (referenced by ``conformsTo``)."""

from hub.schemas.loader import Field, SchemaError, TableSchema, load_schema, schema_by_iri, schema_names

__all__ = ["Field", "SchemaError", "TableSchema", "load_schema", "schema_by_iri", "schema_names"]
