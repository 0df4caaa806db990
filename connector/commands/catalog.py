"""``passerelle publish`` and ``passerelle catalog search|crawl``: thin commands over the node's catalogue.

They work on the node directory directly (its database and data directory), so they run with or without the server;
a running server sees a new publication on its next request (it checks the catalogue's revision per request).
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import click

__all__ = ["publish", "catalog"]


def _node(directory: str | None) -> Any:
    from connector.config import ConfigError, load_config
    from connector.node import Node
    path = Path(directory or ".") / "node.toml"
    try:
        return Node(load_config(path))
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


def _read_metadata(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
    except OSError as e:
        raise click.ClickException(f"{p}: cannot read metadata file ({e.strerror})") from None
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise click.ClickException(f"{p}: not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'} ({e})") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{p}: the metadata must be an object/table")
    return data


@click.command("publish")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dataset", "dataset_id", required=True, help="dataset identifier (its [datasets.<id>] section)")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="node directory")
@click.option("--metadata", "metadata_file", type=click.Path(dir_okay=False), default=None,
              help="JSON or TOML file of metadata merged over the [datasets.<id>] section")
@click.option("--json", "as_json", is_flag=True, help="print the published version as JSON")
def publish(file: str, dataset_id: str, directory: str | None, metadata_file: str | None, as_json: bool) -> None:
    """Publish FILE (CSV, XLSX, Parquet, JSON, ZIP) as a new version of a dataset of this node's catalogue.

    A dataset whose section declares a table schema (``schema = "campsite-bookings"``) takes the file through the
    collection pipeline: validated, pseudonymised, published as Parquet, or refused and kept in quarantine."""
    from catalog import MetadataError
    from connector.collection import CollectionRefused
    from connector.commands.publish_file import describe
    from connector.publishing import publish_dataset
    node = _node(directory)
    metadata = _read_metadata(metadata_file)
    try:
        result = publish_dataset(node, dataset_id, file=Path(file), metadata=metadata, via="publish")
    except CollectionRefused as e:
        lines = describe(e.result, limit=10)
        lines[0] = (f"{dataset_id}: file refused, nothing published (the previous version stays published): "
                    f"{e.result.report.summary()}")
        raise click.ClickException("\n".join(lines)) from None
    except MetadataError as e:
        lines = [f"refused: {len(e.problems)} problem(s) in the metadata of {dataset_id!r}; "
                 "the previous version stays published"] + [f"  {p.field}: {p.message} [{p.code}]" for p in e.problems]
        raise click.ClickException("\n".join(lines)) from None
    finally:
        node.engine.dispose()
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    dist = summary["distributions"][0]
    what = f"version {summary['version']}" if result.changed else f"unchanged (version {summary['version']})"
    click.echo(f"{dataset_id}: {what} — {dist['file_type']}, {dist['byte_size']} bytes, sha256 {dist['sha256'][:16]}…")


@click.group("catalog")
def catalog() -> None:
    """The hub's federated catalogue of every participant."""


def _federation(node: Any) -> Any:
    if not node.is_authority:
        raise click.ClickException(f"{node.name} is not the hub: only the hub keeps a federated catalogue")
    from connector.federation import FederatedCatalogue
    from connector.trust import Trust
    return FederatedCatalogue(node, Trust(node))


@catalog.command("crawl")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="hub directory")
def crawl(directory: str | None) -> None:
    """Fetch every participant's catalogue now (unchanged ones are not parsed again)."""
    node = _node(directory)
    try:
        results = _federation(node).crawl()
    finally:
        node.engine.dispose()
    for r in results:
        state = "stale" if r.stale else ("updated" if r.changed else "unchanged")
        click.echo(f"{r.node:<48} {r.datasets:>5} datasets  {state}" + (f"  ({r.detail})" if r.stale else ""))
    click.echo(f"{len(results)} participants, {sum(1 for r in results if r.stale)} stale")


def _date(ctx: Any, param: Any, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


@catalog.command("search")
@click.argument("text", required=False)
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None, help="hub directory")
@click.option("--theme", help="EU data theme, e.g. ECON")
@click.option("--spatial", help="FR, REG-76, DEP-34 or a NUTS code")
@click.option("--start", callback=_date, help="coverage overlaps from this date (YYYY-MM-DD)")
@click.option("--end", callback=_date, help="coverage overlaps until this date (YYYY-MM-DD)")
@click.option("--publisher", help="publisher IRI or part of its name")
@click.option("--json", "as_json", is_flag=True)
def search(text: str | None, directory: str | None, theme: str | None, spatial: str | None, start: date | None,
           end: date | None, publisher: str | None, as_json: bool) -> None:
    """Search the federated catalogue (every criterion must hold)."""
    from connector.web.catalog import hit_json
    if start and end and start > end:
        raise click.ClickException("--start is after --end")
    node = _node(directory)
    try:
        hits = _federation(node).search(text, theme=theme, spatial=spatial, start=start, end=end,
                                        publisher=publisher)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    finally:
        node.engine.dispose()
    rows = [hit_json(h) for h in hits]
    if as_json:
        click.echo(json.dumps({"count": len(rows), "datasets": rows}, ensure_ascii=False))
        return
    for r in rows:
        period = f"{r['start'] or '…'}–{r['end'] or '…'}"
        stale = " (stale)" if r["stale"] else ""
        click.echo(f"{r['title']} — {r['publisher']} · {','.join(r['themes'])} · {','.join(r['spatial'])} · "
                   f"{period} · {r['node']}{stale}")
    click.echo(f"{len(rows)} dataset(s)")
