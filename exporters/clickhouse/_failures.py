"""Sorting driver exceptions into what callers act on: wait and retry, or never retry.

The delivery queue retries :class:`StorageUnavailable` with back-off. Any other
:class:`StorageError` is a refusal, and :func:`write_outcome` splits refusals once more:
the store's own configuration (a missing table, a rejected password) is retried too,
because fixing the server makes the same batch acceptable and dropping it would lose data
for an operator's mistake; a refusal of the data itself (a value out of range, a type the
column cannot hold, a malformed point) is never retried, because the same bytes will be
refused again and would hold back every batch behind them.
"""

from __future__ import annotations

from clickhouse_connect.driver.exceptions import OperationalError, ProgrammingError

from omni_core.errors import StorageError, StorageUnavailable
from omni_core.sink import WriteOutcome

__all__ = ["NOT_ENOUGH_SPACE", "storage_failure", "write_outcome"]

NOT_ENOUGH_SPACE = 243

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
        NOT_ENOUGH_SPACE,  # the disk is full: space comes back when parts merge, TTLs drop or an operator acts
        252,  # TOO_MANY_PARTS
        319,  # UNKNOWN_STATUS_OF_INSERT
        425,  # SYSTEM_ERROR
        999,  # KEEPER_EXCEPTION
    }
)

#: Codes that describe the server's setup: retried (after an operator fixes it), never dropped.
_SETUP_CODES = frozenset(
    {
        60,  # UNKNOWN_TABLE
        81,  # UNKNOWN_DATABASE
        164,  # READONLY
        192,  # UNKNOWN_USER
        194,  # REQUIRED_PASSWORD
        497,  # ACCESS_DENIED
        516,  # AUTHENTICATION_FAILED
    }
)

_CLOSED_ENGINE_MARKERS = ("client has been closed", "unable to open the chdb engine")


def _code(exc: BaseException | None) -> int | None:
    while exc is not None:
        code = getattr(exc, "code", None)
        if isinstance(code, int):
            return code
        exc = exc.__cause__
    return None


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
    if getattr(exc, "code", None) == NOT_ENOUGH_SPACE:
        return StorageUnavailable(
            f"ClickHouse is out of disk space (NOT_ENOUGH_SPACE) while {doing}: {exc}. Free space on the "
            "server's data disk (or the chDB data directory); the batch waits and is retried."
        )
    if _is_unavailable(exc):
        return StorageUnavailable(
            f"ClickHouse could not be reached while {doing}: {exc}. Check that the server (or the chDB data "
            "directory) named by storage_dsn (OMNI_STORAGE_DSN) is up and reachable; the batch can be retried."
        )
    return StorageError(f"ClickHouse rejected a statement while {doing}: {exc}")


def write_outcome(exc: StorageError) -> WriteOutcome:
    """RETRY for outages and for the server's own setup; REFUSED when the data itself was refused."""
    if isinstance(exc, StorageUnavailable):
        return WriteOutcome.RETRY
    if _code(exc) in _SETUP_CODES:
        return WriteOutcome.RETRY
    return WriteOutcome.REFUSED

