"""``passerelle``: one command per user task; each is thin and calls the library.

Errors a person can act on become one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from connector.config import ConfigError, load_config

__all__ = ["main", "cli"]


def _config_path(directory: str | None, config: str | None) -> Path:
    if config:
        return Path(config)
    if directory:
        return Path(directory) / "node.toml"
    return Path("node.toml")


def load_node_config(directory: str | None, config: str | None):  # type: ignore[no-untyped-def]
    try:
        return load_config(_config_path(directory, config))
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


@click.group()
@click.version_option(package_name="passerelle")
def cli() -> None:
    """Passerelle: a data-space connector node for French tourism data (DSP 2025-1)."""


@cli.command()
@click.option("--role", type=click.Choice(["node", "hub"]), required=True, help="hub = the authority")
@click.option("--name", required=True, help="short name, e.g. occitanie")
@click.option("--dir", "directory", type=click.Path(file_okay=False), required=True)
@click.option("--port", type=click.IntRange(1, 65535), required=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--legal-name", default=None)
@click.option("--siren", default="000000000", show_default=True)
@click.option("--member-role", "member_roles", multiple=True,
              help="membership role(s): regional_node, departmental_node, private_provider, national_hub, auditor")
@click.option("--territory", multiple=True, help="INSEE territory, e.g. REG-76 or DEP-34")
@click.option("--authority-did", default=None)
@click.option("--authority-url", default=None)
@click.option("--authority-key", type=click.Path(dir_okay=False), default=None,
              help="the authority's issuer keys (JWKS file written by the hub's init: keys/authority.jwks.json)")
@click.option("--database-url", default="", help="PostgreSQL URL; default: SQLite in the node directory")
def init(role: str, name: str, directory: str, port: int, host: str, legal_name: str | None, siren: str,
         member_roles: tuple[str, ...], territory: tuple[str, ...], authority_did: str | None,
         authority_url: str | None, authority_key: str | None, database_url: str) -> None:
    """Write a ready node directory: config, keys (0600), admin token, empty database."""
    from connector.init_node import InitError, init_node
    try:
        path = init_node(Path(directory), name=name, role=role, port=port, host=host, legal_name=legal_name,
                         siren=siren, roles=list(member_roles) or None, territory=list(territory),
                         authority_did=authority_did, authority_url=authority_url,
                         authority_key=Path(authority_key) if authority_key else None, database_url=database_url)
    except (InitError, ConfigError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"node {name} ready: {path}")


@cli.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="node directory")
@click.option("--config", type=click.Path(dir_okay=False), default=None, help="node.toml (default: DIR/node.toml)")
@click.option("--workers", type=click.IntRange(1, 64), default=None)
def serve(directory: str | None, config: str | None, workers: int | None) -> None:
    """Serve the node over HTTP ([node] workers processes, or --workers)."""
    from connector.serve import serve as run
    cfg = load_node_config(directory, config)
    try:
        run(cfg, workers=workers)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


@cli.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), required=True, help="node directory")
@click.option("--aud", required=True, help="the peer's DID")
@click.option("--ttl", type=click.IntRange(1, 600), default=120, show_default=True)
def token(directory: str, aud: str, ttl: int) -> None:
    """Print a fresh self-issued token of this node, to call a peer's protocol endpoints with curl."""
    from connector.node import Node
    from connector.trust import Trust
    node = Node(load_node_config(directory, None), migrate=False)
    click.echo(Trust(node).self_issued_token(aud, ttl=ttl))


@cli.command()
@click.option("--once", is_flag=True, help="run the flow and exit (0 when every step succeeded)")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="keep the nodes' directories here (default: a temporary directory)")
@click.option("--base-port", type=click.IntRange(1024, 65000), default=8100, show_default=True)
@click.option("--database-url", default="", help="PostgreSQL URL for every node (one schema each)")
def demo(once: bool, directory: str | None, base_port: int, database_url: str) -> None:
    """Start a local data space on loopback: hub/authority, campsite federation, Occitanie, Bretagne, Hérault and
    three sustainable-tourism providers, each a real process."""
    from connector.demo import DemoError, run_demo
    try:
        ok = run_demo(once=once, directory=Path(directory) if directory else None, base_port=base_port,
                      database_url=database_url, echo=click.echo)
    except DemoError as e:
        raise click.ClickException(str(e)) from None
    sys.exit(0 if ok else 1)


def _register() -> None:
    """Attach the command groups that live in connector/commands/."""
    import importlib
    for module, attr in _GROUPS:
        cli.add_command(getattr(importlib.import_module(module), attr))


_GROUPS: list[tuple[str, str]] = [
    ("connector.commands.policy", "policy"),
    ("connector.commands.audit", "audit"),
    ("connector.commands.generate", "generate"),
    ("connector.commands.catalog", "publish"),
    ("connector.commands.catalog", "catalog"),
    ("connector.commands.indicators", "indicators"),
    ("connector.commands.negotiate", "negotiate"),
    ("connector.commands.negotiate", "agreements"),
    ("connector.commands.transfer", "pull"),
    ("connector.commands.transfer", "transfers"),
]


def main() -> None:
    cli(prog_name="passerelle")


_register()


if __name__ == "__main__":
    main()
