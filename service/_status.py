"""The four statuses and the one function that combines them.

Order, best to worst: ``ok`` < ``unknown`` < ``degraded`` < ``critical``. The worst status
wins everywhere (rule -> entity -> component -> overall). ``unknown`` ranks above ``ok`` so
that missing or stale data can never make anything read as healthy.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

__all__ = ["Status", "worst"]


class Status(str, Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    DEGRADED = "degraded"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Status.OK: 0, Status.UNKNOWN: 1, Status.DEGRADED: 2, Status.CRITICAL: 3}


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of ``statuses`` by the documented order; ``ok`` for none."""
    result = Status.OK
    for status in statuses:
        if status.rank > result.rank:
            result = status
    return result
