"""``passerelle pull`` and ``passerelle transfers``.

``pull`` asks the running node to open a transfer under an agreement (the provider answers on the node's callback
address), then downloads the data itself with a progress bar, verifies size and sha256, lands the file in the
node's data directory (once per agreement and version) and completes the transfer; ``--out`` also copies it
there. ``transfers`` reads the node's database (works with or without the server): transfers, landed files,
schedules and their runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = ["pull", "transfers"]


def _node(directory: str | None) -> Any:
    from connector.config import ConfigError
    from connector.node import open_node
    try:
        return open_node(Path(directory or ".") / "node.toml")
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


@click.command("pull")
@click.option("--agreement", "agreement_id", required=True, help="the agreement's id (passerelle agreements)")
@click.option("--format", "fmt", type=click.Choice(["parquet", "arrow", "csv"]), default="parquet",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="also write the file here")
@click.option("--purpose", default=None, help="the purpose of this use (default: the one fixed in the agreement)")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="node directory")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True)
def pull(agreement_id: str, fmt: str, out: str | None, purpose: str | None, directory: str | None,
         timeout: float) -> None:
    """Pull a dataset under an agreement this node holds (the node must be running)."""
    from connector.transfer.ingest import ApiControl, PullError
    from connector.transfer.ingest import pull as do_pull
    from connector.trust import Trust
    node = _node(directory)
    control = ApiControl(node.public_url, node.admin_token)
    bar: Any = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None and total and total > 8 * 1024 * 1024:   # a bar only for long pulls
            bar = click.progressbar(length=total, label="réception", show_eta=True, show_percent=True)
            bar.__enter__()
        if bar is not None:
            bar.update(done - bar.pos)
    try:
        landed = do_pull(node, Trust(node), control, agreement_id, fmt=fmt, out=Path(out) if out else None,
                         purpose=purpose, timeout=timeout, progress=progress)
    except PullError as e:
        raise click.ClickException(str(e)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    what = "aggregate" if landed.content == "aggregate" else "rows"
    click.echo(f"{'already landed' if landed.duplicate else 'landed'}: {landed.path} ({landed.size:,} bytes, "
               f"{landed.rows if landed.rows is not None else '?'} {what}, sha256 {landed.sha256[:16]}…)"
               + (f"; copied to {out}" if out else ""))


@click.command("transfers")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="node directory")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def transfers(directory: str | None, as_json: bool) -> None:
    """List this node's transfers, landed files, schedules and scheduled runs."""
    from sqlalchemy.exc import OperationalError, ProgrammingError
    from connector.scheduler import PullScheduler
    from connector.transfer.ingest import landed
    from connector.transfer.service import TransferService
    node = _node(directory)
    try:
        svc = TransferService(node, trust=None, catalog=object())
        sched = PullScheduler(node, lambda *a: {})
        data = {"transfers": svc.list(), "landed": landed(node), "schedules": sched.schedules(),
                "runs": sched.runs()}
    except (OperationalError, ProgrammingError) as e:
        raise click.ClickException(f"cannot read the node's database: {str(e).splitlines()[0]}") from None
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if not any(data.values()):
        click.echo("no transfers yet")
        return
    for t in data["transfers"]:
        detail = t["reason"] or (f"{t['outcome']['bytes']:,} bytes sha256 {t['outcome']['sha256'][:12]}…"
                                 if t.get("outcome") and "sha256" in t["outcome"] else "")
        click.echo(f"{t['state']:<10} {t['role'].lower():<8} {t['pid']}  agreement {t['agreement']}  {detail}")
    for f in data["landed"]:
        click.echo(f"landed     {f['format']:<8} {f['bytes']:>12,} bytes  slot {f['slot']}  {f['path']}")
    for s in data["schedules"]:
        click.echo(f"schedule   {s['schedule']:<12} agreement {s['agreement']}  next {s['next_slot']}  "
                   f"last {s['last_slot'] or '—'}")
    for r in data["runs"]:
        click.echo(f"run        {r['status']:<10} slot {r['slot']}  agreement {r['agreement']}  "
                   f"attempts {r['attempts']}" + (f"  {r['error']}" if r["error"] else ""))
