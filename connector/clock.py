"""Time is read only through a clock object, so tests freeze or shift it instead of sleeping."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from datetime import datetime, timezone

__all__ = ["Clock", "SystemClock", "FixedClock"]


class Clock(ABC):
    @abstractmethod
    def now(self) -> float:
        """Seconds since the epoch."""

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)


class SystemClock(Clock):
    def now(self) -> float:
        return time.time()


class FixedClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, t: float):
        self.t = float(t)

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
