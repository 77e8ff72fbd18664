"""The metric store's own state (disks, parts, tables, errors, replication) as metrics."""

from ._reader import StoreReading, StoreStateReader

__all__ = ["StoreReading", "StoreStateReader"]
