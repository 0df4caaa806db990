"""DSP 2025-1 JSON Schemas, bundled and loaded offline, keyed by message ``@type``.

Every inbound protocol message is checked here before it reaches a state machine, and tests check every outbound
one. Schemas are read once from the package (never fetched); the upstream ``#definitions`` defect is patched in memory.
Validation runs on ``jsonschema-rs`` (compiled): a message costs microseconds instead of the 0.1–2 ms of the pure-Python
validator, which was a tenth of a node's CPU per negotiation. The tests keep the pure-Python ``jsonschema`` as an
independent second opinion on the same files (``tests/contracts/test_tck_schemas.py``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema_rs

__all__ = ["DSP_CONTEXT", "SCHEMA_BY_TYPE", "validation_errors", "validate_message", "SchemaError", "context_document",
           "schema_documents"]

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
ODRL_PROFILE_CONTEXT = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"

#: message ``@type`` → schema file (folder/file) of the bundled 2025-1 artefacts
SCHEMA_BY_TYPE: dict[str, str] = {
    "CatalogRequestMessage": "catalog/catalog-request-message-schema.json",
    "DatasetRequestMessage": "catalog/dataset-request-message-schema.json",
    "Catalog": "catalog/catalog-schema.json",
    "Dataset": "catalog/dataset-schema.json",
    "CatalogError": "catalog/catalog-error-schema.json",
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractOfferMessage": "negotiation/contract-offer-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": "negotiation/contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": "negotiation/contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
    "TransferRequestMessage": "transfer/transfer-request-message-schema.json",
    "TransferStartMessage": "transfer/transfer-start-message-schema.json",
    "TransferSuspensionMessage": "transfer/transfer-suspension-message-schema.json",
    "TransferCompletionMessage": "transfer/transfer-completion-message-schema.json",
    "TransferTerminationMessage": "transfer/transfer-termination-message-schema.json",
    "TransferProcess": "transfer/transfer-process-schema.json",
    "TransferError": "transfer/transfer-error-schema.json",
    "VersionResponse": "common/protocol-version-schema.json",
}

_BASE = "https://w3id.org/dspace/2025/1/"


class SchemaError(ValueError):
    """A message that does not validate; ``problems`` lists every violation found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _read(rel: str) -> str:
    return resources.files("contracts.dsp_schemas").joinpath(rel).read_text(encoding="utf-8")


def schema_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every bundled schema as (its ``$id``, its contents), with the upstream ``#definitions`` references fixed."""
    root = resources.files("contracts.dsp_schemas")
    out: list[tuple[str, dict[str, Any]]] = []
    for folder in ("catalog", "common", "negotiation", "transfer"):
        for entry in sorted(root.joinpath(folder).iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".json"):
                continue
            text = entry.read_text(encoding="utf-8").replace('.json#definitions/', '.json#/definitions/')
            doc = json.loads(text)
            out.append((doc.get("$id", _BASE + f"{folder}/{entry.name}"), doc))
    return out


@lru_cache(maxsize=1)
def _registry() -> tuple[Any, dict[str, dict[str, Any]]]:
    docs = schema_documents()
    return jsonschema_rs.Registry(docs, draft=jsonschema_rs.Draft201909), dict(docs)


@lru_cache(maxsize=None)
def _validator(rel: str) -> Any:
    registry, docs = _registry()
    return jsonschema_rs.Draft201909Validator(docs[_BASE + rel], registry=registry)


def _where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "(root)"


def validation_errors(message: Any, type_: str | None = None) -> list[str]:
    """Every schema violation of ``message`` (empty when valid); unknown ``@type`` is itself a violation."""
    if not isinstance(message, dict):
        return ["message is not a JSON object"]
    t = type_ or message.get("@type")
    if not isinstance(t, str) or t not in SCHEMA_BY_TYPE:
        return [f"unknown or missing @type: {t!r}"]
    validator = _validator(SCHEMA_BY_TYPE[t])
    try:
        if validator.is_valid(message):   # the common case: one pass, no error objects
            return []
        errors = list(validator.iter_errors(message))
    except ValueError as e:   # a value JSON cannot carry (a float NaN, a set...): say so rather than crash
        return [f"(root): not a JSON document: {e}"]
    errors.sort(key=lambda e: [str(p) for p in e.instance_path])
    return [f"{_where(e.instance_path)}: {e.message}" for e in errors]


def validate_message(message: Any, type_: str | None = None) -> None:
    """Raise :class:`SchemaError` listing every violation, or return when ``message`` is valid."""
    problems = validation_errors(message, type_)
    if problems:
        raise SchemaError(problems)


def context_document(url: str) -> dict[str, Any]:
    """The bundled JSON-LD context for ``url`` (an offline document loader serves these; never fetched)."""
    files = {DSP_CONTEXT: "context/dspace.jsonld", ODRL_PROFILE_CONTEXT: "context/odrl.jsonld"}
    if url not in files:
        raise KeyError(f"context not bundled: {url}")
    return json.loads(_read(files[url]))
