"""``passerelle negotiate`` and ``passerelle agreements``: ask a provider for one of its catalogue offers, and list
the agreements this node holds.

``negotiate`` asks the running node (its management API) to negotiate, because the provider answers on the node's
callback address; it waits for the outcome and prints one line (exit 0 when FINALIZED, 1 when refused or
terminated). ``agreements`` reads the node's database, so it works with or without the server.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["negotiate", "agreements"]


def _config(directory: str | None) -> Any:
    from connector.config import ConfigError, load_config
    try:
        return load_config(Path(directory or ".") / "node.toml")
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


@click.command("negotiate")
@click.option("--provider", required=True, help="the provider's DID (did:web:…)")
@click.option("--dataset", "dataset_id", required=True, help="dataset id or IRI in the provider's catalogue")
@click.option("--offer", "offer_id", required=True, help="the offer's @id in that dataset")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="node directory")
@click.option("--wait/--no-wait", default=True, show_default=True, help="wait for FINALIZED or TERMINATED")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True)
def negotiate(provider: str, dataset_id: str, offer_id: str, directory: str | None, wait: bool,
              timeout: float) -> None:
    """Negotiate an agreement for a provider's catalogue offer (the node must be running)."""
    import httpx
    if not provider.startswith("did:web:"):
        raise click.ClickException(f"--provider: expected a did:web DID, got {provider!r}")
    cfg = _config(directory)
    token = cfg.resolve(cfg.node.admin_token_file).read_text().strip()
    base = cfg.node.public_url.rstrip("/")
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    try:
        r = client.post("/api/negotiations", json={"provider": provider, "dataset": dataset_id, "offer": offer_id})
    except httpx.HTTPError as e:
        raise click.ClickException(f"the node at {base} is not answering ({type(e).__name__}); start it with "
                                   f"`passerelle serve --dir {directory or '.'}`") from None
    if r.status_code != 201:
        raise click.ClickException(_message(r))
    view = r.json()
    if not wait:
        click.echo(f"{view['state']}: negotiation {view['pid']} started with {provider}")
        return
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while view["state"] not in ("FINALIZED", "TERMINATED") and time.monotonic() < deadline:
        pause.wait(0.1)
        view = client.get(f"/api/negotiations/{view['pid']}").json()
    if view["state"] == "FINALIZED":
        a = view["agreement"]
        click.echo(f"FINALIZED: agreement {a['@id']} for {a['target']} from {provider}")
        return
    if view["state"] == "TERMINATED":
        click.echo(f"TERMINATED: {view.get('reason') or 'no reason given'}", err=True)
        raise SystemExit(1)
    click.echo(f"{view['state']}: still negotiating after {timeout:.0f} s (negotiation {view['pid']})", err=True)
    raise SystemExit(1)


def _message(r: Any) -> str:
    try:
        return f"{r.json().get('message', r.text)} ({r.status_code})"
    except ValueError:
        return f"the node answered {r.status_code}"


@click.command("agreements")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="node directory")
@click.option("--json", "as_json", is_flag=True, help="print JSON (with the agreed policies)")
def agreements(directory: str | None, as_json: bool) -> None:
    """List the agreements this node granted (provider) or holds (consumer)."""
    from sqlmodel import Session, select

    from connector.negotiation import AgreementRow, agreement_json
    from connector.node import Node
    node = Node(_config(directory))
    with Session(node.engine) as s:
        rows = s.exec(select(AgreementRow).order_by(AgreementRow.finalized_at)).all()  # type: ignore[arg-type]
    items = [agreement_json(r) for r in rows]
    node.engine.dispose()
    if as_json:
        click.echo(json.dumps({"agreements": items}, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("no agreements yet")
        return
    for a in items:
        side = "granted to " + a["consumer"] if a["role"] == "PROVIDER" else "from " + a["provider"]
        status = "REVOKED" if a["revoked"] else "valid"
        click.echo(f"{a['id']}  {status:<7}  {a['dataset']}  {side}  (finalized {a['finalized_at'][:19]})")
