"""Writes a ready node directory: config, keys (0600), admin token, migrated empty database."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from connector.config import load_config

__all__ = ["init_node", "did_for", "InitError"]

ROLE_DEFAULTS = {"hub": ["national_hub"], "node": ["regional_node"]}


class InitError(Exception):
    pass


def did_for(host: str, port: int) -> str:
    return f"did:web:{host}%3A{port}"


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def init_node(directory: Path, *, name: str, role: str, port: int, host: str = "127.0.0.1",
              legal_name: str | None = None, siren: str = "000000000", roles: list[str] | None = None,
              territory: list[str] | None = None, authority_did: str | None = None,
              authority_url: str | None = None, authority_key: Path | None = None,
              database_url: str = "", insecure: bool = True, workers: int = 2) -> Path:
    """Create ``directory`` with everything a node needs to start; refuse to overwrite an existing node."""
    from connector.identity import generate_private_key, private_key_pem, public_key_pem

    directory = directory.resolve()
    config_path = directory / "node.toml"
    if config_path.exists():
        raise InitError(f"{config_path}: a node already exists here; choose another --dir")
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    os.chmod(directory / "keys", 0o700)
    (directory / "data").mkdir(exist_ok=True)
    (directory / "logs").mkdir(exist_ok=True)
    names = ["auth", "audit", "dataplane"] + (["issuer"] if role == "hub" else [])
    for key_name in names:
        _write_secret(directory / "keys" / f"{key_name}.pem", private_key_pem(generate_private_key()))
    _write_secret(directory / "keys" / "pseudonymisation.key", secrets.token_bytes(32))
    _write_secret(directory / "admin.token", secrets.token_urlsafe(32).encode())

    did = did_for(host, port)
    url = f"http://{host}:{port}"
    if role == "hub":
        from connector.identity import load_private_key
        issuer = load_private_key(directory / "keys" / "issuer.pem")
        (directory / "keys" / "authority-issuer.pub.pem").write_bytes(public_key_pem(issuer.public_key()))
        authority_did, authority_url = did, url
        anchor = "keys/authority-issuer.pub.pem"
    else:
        if not (authority_did and authority_url and authority_key):
            raise InitError("a node needs its authority: --authority-did, --authority-url and --authority-key")
        if not authority_key.is_file():
            raise InitError(f"--authority-key: file not found: {authority_key}")
        (directory / "keys" / "authority-issuer.pub.pem").write_bytes(authority_key.read_bytes())
        anchor = "keys/authority-issuer.pub.pem"
    roles = roles or ROLE_DEFAULTS[role]
    lines = [
        "# Passerelle node configuration (paths are relative to this file)",
        "[node]",
        f'name = "{name}"',
        f'role = "{role}"',
        f'did = "{did}"',
        f'host = "{host}"',
        f"port = {port}",
        f'public_url = "{url}"',
        f"insecure_test_mode = {'true' if insecure else 'false'}",
        f"workers = {workers}",
        "",
        "[organisation]",
        f'legal_name = "{legal_name or name}"',
        f'siren = "{siren}"',
        f"roles = {_toml_list(roles)}",
        f"territory = {_toml_list(territory or [])}",
        "",
        "[keys]",
        'auth = "keys/auth.pem"',
        'audit = "keys/audit.pem"',
        'dataplane = "keys/dataplane.pem"',
    ]
    if role == "hub":
        lines.append('issuer = "keys/issuer.pem"')
    lines += ["", "[database]", f'url = "{database_url}"', "",
              "[authority]", f'did = "{authority_did}"', f'url = "{authority_url}"', f'issuer_key = "{anchor}"', ""]
    config_path.write_text("\n".join(lines), encoding="utf-8")
    cfg = load_config(config_path)
    from connector.store import make_engine, upgrade
    engine = make_engine(cfg.database_url)
    upgrade(engine)
    engine.dispose()
    return config_path
