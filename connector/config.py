"""Node configuration: one TOML file per node, validated at start-up.

Every problem names the file, the key and what was expected, so an operator can fix it without reading code.
Paths in the file are relative to the file's own directory.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["ConfigError", "NodeConfig", "load_config", "ROLES", "MEMBER_ROLES"]

ROLES = ("node", "hub")
MEMBER_ROLES = ("regional_node", "departmental_node", "private_provider", "national_hub", "auditor")


class ConfigError(Exception):
    """A configuration problem, already phrased for the operator (file, key, expectation)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NodeSection(_Section):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    role: Literal["node", "hub"]
    did: str = Field(pattern=r"^did:web:[A-Za-z0-9.%:_-]+$")
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    public_url: str = Field(pattern=r"^https?://")
    insecure_test_mode: bool = False
    workers: int = Field(default=1, ge=1, le=64)
    data_dir: str = "data"
    log_dir: str = "logs"
    admin_token_file: str = "admin.token"


class OrganisationSection(_Section):
    legal_name: str = Field(min_length=1)
    siren: str = Field(pattern=r"^[0-9]{9}$")
    roles: list[str] = Field(min_length=1)
    territory: list[str] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, v: list[str]) -> list[str]:
        unknown = [r for r in v if r not in MEMBER_ROLES]
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; expected some of {list(MEMBER_ROLES)}")
        return v


class KeysSection(_Section):
    auth: str = "keys/auth.pem"
    audit: str = "keys/audit.pem"
    dataplane: str = "keys/dataplane.pem"
    issuer: str | None = None  # authority (hub) only
    pseudonymisation: str = "keys/pseudonymisation.key"
    created: str = Field(default="2026-01", pattern=r"^[0-9]{4}-[0-9]{2}$")  # dates the key ids (#key-YYYY-MM)


class DatabaseSection(_Section):
    url: str = ""  # empty: SQLite file in the data directory


class AuthoritySection(_Section):
    did: str = Field(pattern=r"^did:web:[A-Za-z0-9.%:_-]+$")
    url: str = Field(pattern=r"^https?://")
    issuer_key: str = Field(min_length=1)  # pinned trust anchor: the authority's issuer public key (PEM)


class NodeConfigModel(_Section):
    node: NodeSection
    organisation: OrganisationSection
    keys: KeysSection = KeysSection()
    database: DatabaseSection = DatabaseSection()
    authority: AuthoritySection
    catalog: dict[str, Any] = Field(default_factory=dict)   # DCAT catalogue metadata, see docs/catalog.md
    datasets: dict[str, Any] = Field(default_factory=dict)  # [datasets.<id>] metadata used when publishing
    policies: dict[str, Any] = Field(default_factory=dict)
    schedule: dict[str, Any] = Field(default_factory=dict)
    negotiation: dict[str, Any] = Field(default_factory=dict)  # approval = "auto" | "manual", see docs/negotiation.md
    audit: dict[str, Any] = Field(default_factory=dict)  # checkpoint_seconds, checkpoint_entries, witness: docs/audit.md
    transfer: dict[str, Any] = Field(default_factory=dict)  # schedules, retry settings: docs/transfer.md


class NodeConfig:
    """A validated configuration with paths resolved against the config file's directory."""

    def __init__(self, path: Path, model: NodeConfigModel):
        self.path = path
        self.base = path.parent
        self.model = model

    def __getattr__(self, item: str) -> Any:
        return getattr(self.model, item)

    def resolve(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else (self.base / p)

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.model.node.data_dir)

    @property
    def log_dir(self) -> Path:
        return self.resolve(self.model.node.log_dir)

    @property
    def database_url(self) -> str:
        if self.model.database.url:
            return self.model.database.url
        return f"sqlite:///{(self.data_dir / 'node.db').resolve()}"

    @property
    def is_authority(self) -> bool:
        return self.model.node.role == "hub"

    def key_path(self, name: str) -> Path:
        rel = getattr(self.model.keys, name)
        if rel is None:
            raise ConfigError(f"{self.path}: [keys] {name}: missing (required for this role)")
        return self.resolve(rel)


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    if not parts:
        return "(top level)"
    if len(parts) == 1:
        return parts[0]
    head, rest = parts[0], parts[1:]
    return f"[{head}] " + ".".join(rest)


def _describe(err: dict[str, Any]) -> str:
    kind = err["type"]
    where = _loc(err["loc"])
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    if kind == "missing":
        return f"{where}: missing (required)"
    got = err.get("input")
    got_s = f"{type(got).__name__} {got!r}" if not isinstance(got, dict) else "a table"
    msg = err["msg"]
    if kind.endswith("_type") or kind in ("literal_error", "string_pattern_mismatch"):
        return f"{where}: {msg.lower()}, got {got_s}"
    return f"{where}: {msg}"


def load_config(path: str | Path, *, check_files: bool = True) -> NodeConfig:
    """Read and validate a node's TOML file; raise :class:`ConfigError` with one readable line."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    try:
        model = NodeConfigModel.model_validate(raw)
    except ValidationError as e:
        problems = [_describe(err) for err in e.errors()]
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None
    cfg = NodeConfig(path.resolve(), model)
    if model.node.role == "hub" and model.keys.issuer is None:
        raise ConfigError(f"{path}: [keys] issuer: missing (required for role \"hub\", the authority)")
    if model.node.insecure_test_mode and model.node.host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(f"{path}: [node] insecure_test_mode: allowed only with a loopback host, got host "
                          f"{model.node.host!r}")
    _check_catalogue(cfg)
    if check_files:
        for name in ("auth", "audit", "dataplane", "issuer"):
            rel = getattr(model.keys, name)
            if rel is not None and not cfg.resolve(rel).is_file():
                raise ConfigError(f"{path}: [keys] {name}: key file not found: {cfg.resolve(rel)}")
        anchor = cfg.resolve(model.authority.issuer_key)
        if not anchor.is_file():
            raise ConfigError(f"{path}: [authority] issuer_key: key file not found: {anchor}")
    return cfg


def catalogue_section(cfg: NodeConfig) -> dict[str, Any]:
    """The ``[catalog]`` section completed with what the node's identity already says (DID, DSP base, names)."""
    org = cfg.model.organisation
    base = cfg.model.node.public_url.rstrip("/") + "/dsp/2025-1"
    section: dict[str, Any] = {
        "title": {"fr": f"Catalogue de {org.legal_name}", "en": f"Catalogue of {org.legal_name}"},
        "description": {"fr": f"Jeux de données publiés par {org.legal_name} dans l'espace de données du tourisme.",
                        "en": f"Datasets published by {org.legal_name} in the tourism data space."},
        "publisher": {"name": {"fr": org.legal_name, "en": org.legal_name}},
    }
    section.update(cfg.model.catalog)
    section["participant_id"] = cfg.model.node.did
    section["endpoint_url"] = base
    return section


def _check_catalogue(cfg: NodeConfig) -> None:
    from catalog import MetadataError, catalogue_from_mapping
    try:
        catalogue_from_mapping(catalogue_section(cfg))
    except MetadataError as e:
        raise ConfigError(f"{cfg.path}: " + "; ".join(f"[{p.field.split('.')[0]}] {'.'.join(p.field.split('.')[1:])}: "
                                                      f"{p.message}" for p in e.problems)) from None
