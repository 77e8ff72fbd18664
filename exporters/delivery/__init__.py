"""Delivery that survives outages: a bounded, coalescing queue with retries and an on-disk spool,
for metric batches and, with ``kind=LOG_BATCHES``, for log record batches."""

from ._kinds import LOG_BATCHES, METRIC_BATCHES, BatchKind, LogBatch
from ._options import DeliveryOptions, RetryPolicy
from ._queue import DeliveryQueue, DeliveryStatus, group_token
from ._reconnecting import ReconnectingWriter
from ._spool import Spool, SpoolCorrupt, SpoolEntry

__all__ = [
    "LOG_BATCHES",
    "METRIC_BATCHES",
    "BatchKind",
    "DeliveryOptions",
    "DeliveryQueue",
    "DeliveryStatus",
    "LogBatch",
    "ReconnectingWriter",
    "RetryPolicy",
    "Spool",
    "SpoolCorrupt",
    "SpoolEntry",
    "group_token",
]
