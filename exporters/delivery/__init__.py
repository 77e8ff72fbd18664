"""Delivery that survives outages: a bounded, coalescing queue with retries and an on-disk spool."""

from ._options import DeliveryOptions, RetryPolicy
from ._queue import DeliveryQueue, DeliveryStatus, group_token
from ._reconnecting import ReconnectingWriter
from ._spool import Spool, SpoolCorrupt, SpoolEntry

__all__ = [
    "DeliveryOptions",
    "DeliveryQueue",
    "DeliveryStatus",
    "ReconnectingWriter",
    "RetryPolicy",
    "Spool",
    "SpoolCorrupt",
    "SpoolEntry",
    "group_token",
]
