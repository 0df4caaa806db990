"""``passerelle audit``: read the exchange log, export a bundle for an auditor, and verify a bundle offline.

``verify`` exits 0 when the bundle is valid, 1 when an integrity check fails (naming the first failing entry) and 2
when it is valid but with warnings, such as keys that were not pinned (trust.md §2.4); unreadable input (a missing
or malformed trusted-key file) is a one-line error with exit 3. ``export`` and ``show`` exit 2 on bad input.

``show``, ``export`` and ``checkpoint`` read a node's log either from its directory (``--dir NODE_DIR``: the node's
config gives the database, the audit key and the hub) or from a database URL (``--database-url``, with ``--key``
for signing). ``fetch`` is the auditor's side: from its own node directory (its identity and membership
credential; that node must be serving, since the audited node queries its credential service), it downloads another
node's bundle over HTTP.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from sqlalchemy.exc import SQLAlchemyError

from connector.audit import (AuditError, NoteError, NoteSigner, checkpoint, export_bundle, load_trusted_keys,
                             parse_vkey, query, verify_bundle)
from connector.audit.log import head

__all__ = ["audit"]


class BadInput(click.ClickException):
    exit_code = 2


class BadVerifyInput(click.ClickException):
    exit_code = 3  # 2 already means "valid, with warnings"


def _session(database_url: str):  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    from connector.store import make_engine
    try:
        engine = make_engine(database_url)
    except Exception as exc:  # bad URL, unknown driver
        raise BadInput(f"cannot open the database {database_url!r}: {exc}") from None
    return Session(engine)


def _open_node(node_dir: str):  # type: ignore[no-untyped-def]
    from connector.config import ConfigError, load_config
    from connector.node import Node
    path = Path(node_dir)
    path = path / "node.toml" if path.is_dir() else path
    try:
        return Node(load_config(path))
    except ConfigError as exc:
        raise BadInput(str(exc)) from None


def _source(database_url: str | None, node_dir: str | None) -> tuple[Any, Any]:
    """(session, node or None) for ``--database-url`` or ``--dir``: exactly one of them."""
    if (database_url is None) == (node_dir is None):
        raise BadInput("give either --dir NODE_DIR or --database-url URL")
    if database_url is not None:
        return _session(database_url), None
    node = _open_node(node_dir)  # type: ignore[arg-type]
    try:
        return node.session(), node
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot open the node's database: {_first_line(exc)}") from None


def _node_signer(node: Any) -> NoteSigner:
    from connector.audit_node import log_signer
    from connector.audit_service import ensure_log
    try:
        ensure_log(node)
        return log_signer(node)
    except AuditError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"cannot read the audit key: {exc}") from None


_SOURCE = [
    click.option("--dir", "node_dir", default=None, type=click.Path(), help="the node's directory (or its node.toml)"),
    click.option("--database-url", default=None, help="the node's database (instead of --dir)"),
]


def _with_source(f: Any) -> Any:
    for option in reversed(_SOURCE):
        f = option(f)
    return f


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def _signer(session: Any, key_path: str) -> NoteSigner:
    from connector.identity.keys import load_private_key
    try:
        key = load_private_key(key_path)
    except Exception as exc:
        raise BadInput(str(exc)) from None
    try:
        origin = head(session).origin
    except AuditError as exc:
        raise BadInput(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the audit log: {_first_line(exc)}") from None
    return NoteSigner(origin, key)


def _when(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{option}: {value!r} is not a date or an RFC 3339 time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    from connector.audit import format_ts
    return format_ts(t)


_FILTERS = [
    click.option("--agreement", default=None, help="agreement id"),
    click.option("--participant", default=None, help="counterparty DID"),
    click.option("--dataset", default=None, help="dataset id"),
    click.option("--since", default=None, help="from this time (RFC 3339 or date), inclusive"),
    click.option("--until", default=None, help="up to this time, exclusive"),
]


def _with_filters(f: Any) -> Any:
    for option in reversed(_FILTERS):
        f = option(f)
    return f


@click.group("audit")
def audit() -> None:
    """Inspect, export and verify the tamper-evident exchange log."""


@audit.command("verify")
@click.argument("bundle", type=click.Path())
@click.option("--trusted-key", "trusted", multiple=True, type=click.Path(dir_okay=False),
              help="file of pinned verifier keys (vkeys), one per line: the node's audit key and its witnesses' keys "
                   "(a member's: the hub's; the hub's: its witnessing members')")
@click.option("--json", "as_json", is_flag=True, help="print the full report as JSON")
@click.pass_context
def verify_cmd(ctx: click.Context, bundle: str, trusted: tuple[str, ...], as_json: bool) -> None:
    """Verify BUNDLE fully offline: inclusion of every entry, consistency between checkpoints, every signature."""
    if not os.path.exists(bundle):
        raise BadVerifyInput(f"{bundle} does not exist")
    try:
        keys = load_trusted_keys(trusted) if trusted else None
    except OSError as exc:
        raise BadVerifyInput(f"cannot read trusted key file {exc.filename}: {exc.strerror}") from None
    except NoteError as exc:
        raise BadVerifyInput(str(exc)) from None
    report = verify_bundle(bundle, keys)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        ctx.exit(report.exit_code)
    first = report.first_failure
    summary = (f"{report.entries} entries, {report.checkpoints} checkpoints up to size {report.tree_size}, "
               f"{report.cosigned} witnessed"
               + (f" (by {', '.join(sorted(report.witnesses))})" if report.witnesses else ""))
    if first is not None:
        where = f"entry {first.seq}" if first.seq is not None and first.exact else \
            f"from entry {first.seq}" if first.seq is not None else "bundle"
        click.echo(f"FAIL {bundle}: {where}: {first.message} [{first.code}]")
        click.echo(f"  {summary}")
    else:
        click.echo(f"OK   {bundle}: {summary}")
    for f in report.findings:
        if f is not first:
            click.echo(f"  {f.level}: {f.message} [{f.code}]")
    for code, n in report.suppressed.items():
        click.echo(f"  … {n} more {code}")
    ctx.exit(report.exit_code)


@audit.command("export")
@_with_source
@click.option("--out", "out", required=True, type=click.Path(), help="bundle path: NAME.zip, or a new directory")
@click.option("--key", "key_path", default=None, type=click.Path(dir_okay=False),
              help="the audit key (PEM): cut a fresh checkpoint and sign the manifest (with --dir: the node's)")
@click.option("--witness-key", "witness_keys", multiple=True, help="witness vkey to list in the bundle")
@_with_filters
def export_cmd(node_dir: str | None, database_url: str | None, out: str, key_path: str | None,
               witness_keys: tuple[str, ...], agreement: str | None, participant: str | None, dataset: str | None,
               since: str | None, until: str | None) -> None:
    """Write an audit bundle (entries, checkpoints, proofs) for an auditor."""
    since, until = _when(since, "--since"), _when(until, "--until")
    for vkey in witness_keys:
        try:
            parse_vkey(vkey)
        except NoteError as exc:
            raise BadInput(f"--witness-key: {exc}") from None
    session, node = _source(database_url, node_dir)
    with session:
        if node is not None and key_path is None:
            signer: NoteSigner | None = _node_signer(node)
        else:
            signer = _signer(session, key_path) if key_path else None
        now = node.clock.utcnow() if node is not None else datetime.now(timezone.utc)
        try:
            summary = export_bundle(session, out, signer=signer, now=now, agreement=agreement,
                                    participant=participant, dataset=dataset, since=since, until=until,
                                    witness_keys=witness_keys)
            session.commit()
        except FileExistsError:
            raise BadInput(f"{out} already exists") from None
        except AuditError as exc:
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            raise click.ClickException(f"cannot read the audit log: {_first_line(exc)}") from None
    click.echo(f"wrote {summary.path}: {summary.entries} entries, {summary.checkpoints} checkpoints up to size "
               f"{summary.tree_size}")


@audit.command("fetch")
@click.option("--dir", "node_dir", required=True, type=click.Path(),
              help="the auditor's own node directory (its identity and credential; the node must be serving)")
@click.option("--from", "target", required=True, help="DID of the node to audit")
@click.option("--out", "out", required=True, type=click.Path(), help="where to write the bundle (zip)")
@_with_filters
def fetch_cmd(node_dir: str, target: str, out: str, agreement: str | None, participant: str | None,
              dataset: str | None, since: str | None, until: str | None) -> None:
    """As an auditor, download a node's bundle (GET /audit/bundle); check it with `passerelle audit verify`."""
    from connector.identity import IdentityError
    from connector.peers import PeerError
    from connector.trust import Trust
    since, until = _when(since, "--since"), _when(until, "--until")
    if os.path.exists(out):
        raise BadInput(f"{out} already exists")
    node = _open_node(node_dir)
    trust = Trust(node)
    params = {k: v for k, v in (("agreement", agreement), ("participant", participant), ("dataset", dataset),
                                ("since", since), ("until", until)) if v is not None}
    try:
        import httpx
        url = trust.peer_url(target) + "/audit/bundle"
        token = trust.self_issued_token(target)
        with httpx.stream("GET", url, params=params, headers={"Authorization": f"Bearer {token}"},
                          timeout=300) as resp:
            if resp.status_code != 200:
                resp.read()
                try:
                    detail = resp.json().get("message", resp.text)
                except ValueError:
                    detail = resp.text[:200]
                raise click.ClickException(f"{target} refused ({resp.status_code}): {detail}")
            tmp = out + ".part"
            with open(tmp, "wb") as f:
                for chunk in resp.iter_bytes():
                    f.write(chunk)
            os.replace(tmp, out)
            entries = resp.headers.get("X-Audit-Entries", "?")
    except (IdentityError, PeerError, httpx.HTTPError) as exc:
        raise click.ClickException(f"cannot reach {target}: {exc}") from None
    click.echo(f"wrote {out}: {entries} entries from {target}")


@audit.command("checkpoint")
@_with_source
@click.option("--key", "key_path", default=None, type=click.Path(dir_okay=False),
              help="the audit key (PEM); with --dir the node's own")
@click.option("--no-witness", is_flag=True, help="with --dir: do not submit the checkpoint to the log's witnesses")
def checkpoint_cmd(node_dir: str | None, database_url: str | None, key_path: str | None, no_witness: bool) -> None:
    """Sign a checkpoint of the log now and print it; with --dir, submit it to the log's witnesses too (a member's:
    the hub; the hub's: the members in its [audit] witnesses)."""
    session, node = _source(database_url, node_dir)
    with session:
        if node is not None:
            signer = _node_signer(node) if key_path is None else _signer(session, key_path)
        elif key_path is None:
            raise BadInput("--key: the audit key is required with --database-url")
        else:
            signer = _signer(session, key_path)
        try:
            note = checkpoint(session, signer, node.clock.now() if node is not None else datetime.now(timezone.utc))
            session.commit()
        except AuditError as exc:
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            raise click.ClickException(f"cannot read the audit log: {_first_line(exc)}") from None
    click.echo(note, nl=False)
    if node is not None and not no_witness and (not node.is_authority or _hub_witnesses(node)):
        from connector.audit_node import submit_to_witness
        from connector.trust import Trust
        outcome = submit_to_witness(node, Trust(node))
        click.echo(("witnessed: " if outcome.witnessed else "not witnessed: ") + outcome.detail, err=True)


def _hub_witnesses(node: Any) -> tuple[str, ...]:
    """The members named in the hub's ``[audit] witnesses`` (its log is submitted to them)."""
    from connector.audit_node import audit_settings
    try:
        return audit_settings(node).witnesses
    except ValueError as exc:
        raise BadInput(str(exc)) from None


@audit.command("show")
@_with_source
@_with_filters
@click.option("--event", "kind", default=None, help="event type, or a prefix such as 'transfer.*'")
@click.option("--limit", type=click.IntRange(1), default=None)
@click.option("--json", "as_json", is_flag=True, help="one JSON entry per line")
def show_cmd(node_dir: str | None, database_url: str | None, agreement: str | None, participant: str | None,
             dataset: str | None, since: str | None, until: str | None, kind: str | None, limit: int | None,
             as_json: bool) -> None:
    """List log entries as a timeline, filtered by agreement, participant, dataset and time."""
    from connector.audit_node import describe_entry
    since, until = _when(since, "--since"), _when(until, "--until")
    session, _ = _source(database_url, node_dir)
    with session:
        try:
            entries = query(session, agreement=agreement, participant=participant, dataset=dataset,
                            since=since, until=until, kind=kind, limit=limit)
        except SQLAlchemyError as exc:
            raise click.ClickException(f"cannot read the audit log: {_first_line(exc)}") from None
    for e in entries:
        if as_json:
            click.echo(json.dumps(e, sort_keys=True, separators=(",", ":")))
        else:
            click.echo(f"{e['seq']:>8}  {e['ts']}  {e['event']:<26} {describe_entry(e)}")
