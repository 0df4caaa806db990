"""Named crash points for the kill tests, enabled by an environment variable (trust.md §4.3).

``PASSERELLE_FAILPOINTS="neg.after_commit_before_send=exit,neg.provider.after_receive=kill@2"``: ``exit`` ends
the process at once with status 137, ``kill`` sends SIGKILL to the whole process group (a served node:
server and workers, so nothing restarts it), ``raise`` raises :class:`Failpoint`, ``sleep:S`` pauses. ``@N`` fires
on the N-th time the point is reached in this process (default: the first). A point may be narrowed to one message
kind: ``neg.after_send_before_ack:ContractAgreementMessage=kill``. Unset, a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading
import time

__all__ = ["failpoint", "Failpoint", "configure", "NAMES"]

#: every failpoint the negotiation code calls, in the order a negotiation meets them
NAMES = (
    "neg.consumer.after_start_commit",      # consumer: request committed to the outbox, not yet sent
    "neg.after_commit_before_send",         # any side: a state change committed, its message not yet delivered
    "neg.after_send_before_ack",            # any side: the peer acknowledged, the acknowledgement not yet recorded
    "neg.provider.after_receive",           # provider: a message received and committed, answer not yet sent
    "neg.consumer.after_receive",           # consumer: a message received and committed, answer not yet sent
)

_ACTIVE: dict[str, str] = {}
_HITS: dict[str, int] = {}
_LOCK = threading.Lock()


class Failpoint(RuntimeError):
    """Raised by a failpoint set to ``raise``."""


def configure(spec: str | None = None) -> dict[str, str]:
    """Read ``spec`` (default: the environment variable); returns the active failpoints."""
    _ACTIVE.clear()
    _HITS.clear()
    text = os.environ.get("PASSERELLE_FAILPOINTS", "") if spec is None else spec
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, _, action = item.partition("=")
        _ACTIVE[name.strip()] = action.strip() or "exit"
    return dict(_ACTIVE)


def failpoint(name: str, detail: str | None = None) -> None:
    """Fire ``name`` (or ``name:detail``, e.g. ``neg.after_send_before_ack:ContractAgreementMessage``)."""
    if not _ACTIVE:
        return
    if detail is not None and f"{name}:{detail}" in _ACTIVE:
        name = f"{name}:{detail}"
    action = _ACTIVE.get(name)
    if action is None:
        return
    action, _, nth = action.partition("@")
    with _LOCK:
        _HITS[name] = hits = _HITS.get(name, 0) + 1
    if hits != int(nth or 1):
        return
    if action == "exit":
        os._exit(137)
    if action == "kill":
        os.killpg(os.getpgid(0), signal.SIGKILL)
        os._exit(137)
    if action == "raise":
        raise Failpoint(name)
    if action.startswith("sleep:"):
        time.sleep(float(action[6:]))


configure()
