"""Reconstructing negotiations and transfers from log entries alone, as an auditor does from a bundle.

Each entry with a ``process`` section is one state change of one negotiation or transfer; grouped by process and
read in log order they give its history, and a gap (a change whose ``state_from`` is not the state reached before)
shows an event that was never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["ProcessHistory", "processes", "by_agreement"]


@dataclass
class ProcessHistory:
    kind: str  # negotiation | transfer
    pid: str  # the key it is filed under: the provider's pid if the first entry had it, else the consumer's
    consumer_pid: str | None = None
    provider_pid: str | None = None
    agreement_id: str | None = None
    counterparty: str | None = None
    states: list[str] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # "REQUESTED -> STARTED after OFFERED" for each broken link

    @property
    def state(self) -> str | None:
        return self.states[-1] if self.states else None


def processes(entries: Iterable[dict[str, Any]]) -> dict[tuple[str, str], ProcessHistory]:
    """Histories keyed by (kind, pid), each in log order; entries without a ``process`` section are skipped.

    A process is matched on either of its pids, so entries written before the provider assigned its pid join the
    same history as the later ones.
    """
    histories: dict[tuple[str, str], ProcessHistory] = {}
    alias: dict[tuple[str, str], tuple[str, str]] = {}
    for e in sorted(entries, key=lambda x: x.get("seq", 0)):
        p = e.get("process")
        if not p:
            continue
        kind = p.get("kind", "?")
        cpid, ppid = p.get("consumer_pid"), p.get("provider_pid")
        key = next((alias[(kind, x)] for x in (ppid, cpid) if x and (kind, x) in alias), None)
        if key is None:
            key = (kind, ppid or cpid or f"seq-{e.get('seq')}")
            histories[key] = ProcessHistory(kind, key[1])
        h = histories[key]
        for x in (cpid, ppid):
            if x:
                alias[(kind, x)] = key
        h.consumer_pid = h.consumer_pid or cpid
        h.provider_pid = h.provider_pid or ppid
        h.agreement_id = h.agreement_id or (e.get("agreement") or {}).get("id")
        h.counterparty = h.counterparty or (e.get("counterparty") or {}).get("did")
        before, after = p.get("state_from"), p.get("state_to")
        if before is not None and h.states and before != h.states[-1]:
            h.gaps.append(f"{before} -> {after} after {h.states[-1]}")
        if after is not None:
            h.states.append(after)
            h.seqs.append(e.get("seq", -1))
    return histories


def by_agreement(entries: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Entries grouped by agreement id, in log order: the per-agreement timeline of the auditor's view."""
    out: dict[str, list[dict[str, Any]]] = {}
    for e in sorted(entries, key=lambda x: x.get("seq", 0)):
        agreement = (e.get("agreement") or {}).get("id")
        if agreement:
            out.setdefault(agreement, []).append(e)
    return out
