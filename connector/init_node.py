"""Writes a ready node directory: config, keys (0600), admin token, migrated empty database."""

from __future__ import annotations

import copy
import os
import secrets
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import tomli_w

from connector.config import load_config

__all__ = ["init_node", "init_from_template", "did_for", "InitError", "public_key_pem"]

ROLE_DEFAULTS = {"hub": ["national_hub"], "node": ["regional_node"]}
ANCHOR = "keys/authority.jwks.json"  # the pinned trust anchor: {kid: public JWK}


class InitError(Exception):
    pass


def did_for(host: str, port: int) -> str:
    return f"did:web:{host}%3A{port}"


def public_key_pem(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def init_node(directory: Path, *, name: str, role: str, port: int, host: str = "127.0.0.1",
              legal_name: str | None = None, siren: str = "000000000", roles: list[str] | None = None,
              territory: list[str] | None = None, authority_did: str | None = None,
              authority_url: str | None = None, authority_key: Path | None = None,
              database_url: str = "", insecure: bool = True, workers: int | None = None,
              extra: dict[str, Any] | None = None) -> Path:
    """Create ``directory`` with everything a node needs to start; refuse to overwrite an existing node.

    ``workers`` (server processes) defaults to 1: a lone process lets every concurrent change of the node share
    commits (``GroupCommit``). On SQLite the database has a single writer anyway; on PostgreSQL one process with
    grouped commits did a quarter more negotiations per second than two processes committing alone, for a quarter
    less CPU (docs/negotiation.md). More processes, or nodes on several hosts, share the outbox by leases."""
    from connector.identity.keys import generate_key, load_private_key, write_private_key

    directory = directory.resolve()
    config_path = directory / "node.toml"
    if config_path.exists():
        raise InitError(f"{config_path}: a node already exists here; choose another --dir")
    if role != "hub" and not (authority_did and authority_url and authority_key):
        raise InitError("a node needs its authority: --authority-did, --authority-url and --authority-key")
    if authority_key is not None and role != "hub" and not authority_key.is_file():
        raise InitError(f"--authority-key: file not found: {authority_key}")
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    os.chmod(directory / "keys", 0o700)
    (directory / "data").mkdir(exist_ok=True)
    (directory / "logs").mkdir(exist_ok=True)
    names = ["auth", "audit", "dataplane"] + (["issuer"] if role == "hub" else [])
    for key_name in names:
        write_private_key(directory / "keys" / f"{key_name}.pem", generate_key())
    _write_secret(directory / "keys" / "pseudonymisation.key", secrets.token_bytes(32))
    _write_secret(directory / "admin.token", secrets.token_urlsafe(32).encode())

    did = did_for(host, port)
    url = f"http://{host}:{port}"
    if role == "hub":
        import json
        from connector.identity.keys import public_jwk
        issuer = load_private_key(directory / "keys" / "issuer.pem")
        kid = f"{did}#issuer-{datetime.now(timezone.utc):%Y-%m}"
        (directory / ANCHOR).write_text(json.dumps({kid: public_jwk(issuer.public_key())}, indent=2))
        authority_did, authority_url = did, url
    else:
        assert authority_key is not None
        (directory / ANCHOR).write_bytes(authority_key.read_bytes())
    keys = {"auth": "keys/auth.pem", "audit": "keys/audit.pem", "dataplane": "keys/dataplane.pem",
            "created": datetime.now(timezone.utc).strftime("%Y-%m")}
    if role == "hub":
        keys["issuer"] = "keys/issuer.pem"
    doc: dict[str, Any] = {
        "node": {"name": name, "role": role, "did": did, "host": host, "port": port, "public_url": url,
                 "insecure_test_mode": insecure, "workers": workers or 1},
        "organisation": {"legal_name": legal_name or name, "siren": siren, "roles": roles or ROLE_DEFAULTS[role],
                         "territory": territory or []},
        "keys": keys,
        "database": {"url": database_url},
        "authority": {"did": authority_did, "url": authority_url, "issuer_key": ANCHOR},
    }
    if extra:
        doc = _merge(extra, doc)
    text = "# Passerelle node configuration (paths are relative to this file)\n" + tomli_w.dumps(doc)
    config_path.write_text(text, encoding="utf-8")
    cfg = load_config(config_path)
    from connector.store import make_engine, upgrade
    engine = make_engine(cfg.database_url)
    upgrade(engine)
    engine.dispose()
    return config_path


def init_from_template(template: Path, directory: Path, *, port: int, authority_did: str | None = None,
                       authority_url: str | None = None, authority_key: Path | None = None,
                       database_url: str = "") -> Path:
    """A node directory from a config template (e.g. ``config/demo/occitanie.toml``) on a given port.

    Identity fields (DID, URL, port, keys, authority) are generated; everything else comes from the template.
    """
    raw = tomllib.loads(template.read_text(encoding="utf-8"))
    node, org = raw.get("node", {}), raw.get("organisation", {})
    extra = {k: v for k, v in raw.items() if k not in ("node", "organisation", "keys", "database", "authority")}
    return init_node(directory, name=node["name"], role=node["role"], port=port, legal_name=org.get("legal_name"),
                     siren=org.get("siren", "000000000"), roles=org.get("roles"), territory=org.get("territory"),
                     authority_did=authority_did, authority_url=authority_url, authority_key=authority_key,
                     database_url=database_url, extra=extra)


