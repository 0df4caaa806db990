"""Bundled extract of the ODRL 2.2 vocabulary (see SOURCE.md)."""
