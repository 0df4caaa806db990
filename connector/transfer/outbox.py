"""The transfer outbox sender: the negotiation's :class:`Sender` (dispatcher, delivery threads, back-off, leases,
recovery scan) over the ``transfer_outbox`` table."""

from __future__ import annotations

from sqlalchemy import and_, exists, update
from sqlalchemy.orm import aliased
from sqlmodel import select

from connector.negotiation.outbox import Sender, _owner_gone
from connector.negotiation.store import LEASE_SECONDS

from .records import TransferOutboxRow

__all__ = ["TransferSender"]


class TransferSender(Sender):
    def claim(self, limit: int = 100) -> tuple[list[tuple[int, float]], float | None]:
        """Pending rows nobody holds, the first of each transfer only (PostgreSQL: ``SKIP LOCKED``)."""
        engine = self._engine()
        now = self._clock()
        earlier = aliased(TransferOutboxRow)
        first = ~exists().where(and_(earlier.transfer_id == TransferOutboxRow.transfer_id,
                                     earlier.status == "pending", earlier.id < TransferOutboxRow.id))
        q = (select(TransferOutboxRow.id, TransferOutboxRow.lease_owner, TransferOutboxRow.lease_until,
                    TransferOutboxRow.next_at)
             .where(TransferOutboxRow.status == "pending", first).order_by(TransferOutboxRow.id).limit(limit))
        if engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=TransferOutboxRow)  # type: ignore[call-arg]
        taken: list[tuple[int, float]] = []
        held: float | None = None
        with engine.begin() as conn:
            for rid, owner, until, next_at in conn.execute(q).all():
                if owner == self.owner:
                    taken.append((rid, next_at))
                    continue
                if owner is not None and until is not None and until > now and not _owner_gone(owner, self.owner):
                    held = until if held is None else min(held, until)
                    continue
                conn.execute(update(TransferOutboxRow).where(TransferOutboxRow.id == rid).values(
                    lease_owner=self.owner, lease_until=max(now, next_at) + LEASE_SECONDS))
                taken.append((rid, next_at))
        return taken, held

    def start(self) -> None:
        super().start()
        if self._thread is not None:
            self._thread.name = "transfer-outbox-dispatch"
