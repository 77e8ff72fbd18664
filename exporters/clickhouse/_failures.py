"""Sorting driver exceptions into the two storage branches callers act on.

The delivery queue retries :class:`StorageUnavailable` with back-off and treats any other
:class:`StorageError` as a statement problem worth an operator's attention, so the split
matters more than the wording: transport failures, a closed embedded engine and the server
error codes that mean "busy, try again" are unavailability; everything else is a statement
failure.
"""

from __future__ import annotations

from clickhouse_connect.driver.exceptions import OperationalError, ProgrammingError

from omni_core.errors import StorageError, StorageUnavailable

__all__ = ["storage_failure"]

#: ClickHouse error codes that describe the server's state rather than the statement.
_TRANSIENT_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        203,  # NO_FREE_CONNECTION
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        252,  # TOO_MANY_PARTS
        319,  # UNKNOWN_STATUS_OF_INSERT
        425,  # SYSTEM_ERROR
        999,  # KEEPER_EXCEPTION
    }
)

_CLOSED_ENGINE_MARKERS = ("client has been closed", "unable to open the chdb engine")


def _is_unavailable(exc: BaseException) -> bool:
    code = getattr(exc, "code", None)
    if code in _TRANSIENT_CODES:
        return True
    if isinstance(exc, OperationalError) and code is None:
        return True
    if isinstance(exc, ProgrammingError) and any(m in str(exc).lower() for m in _CLOSED_ENGINE_MARKERS):
        return True
    return isinstance(exc, (ConnectionError, TimeoutError))


def storage_failure(exc: BaseException, doing: str) -> StorageError:
    """The storage error to raise for ``exc``, raised while ``doing`` (e.g. "inserting into otel.x")."""
    if isinstance(exc, StorageError):
        return exc
    if _is_unavailable(exc):
        return StorageUnavailable(
            f"ClickHouse could not be reached while {doing}: {exc}. Check that the server (or the chDB data "
            "directory) named by storage_dsn (OMNI_STORAGE_DSN) is up and reachable; the batch can be retried."
        )
    return StorageError(f"ClickHouse rejected a statement while {doing}: {exc}")
