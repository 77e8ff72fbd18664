"""Reading the metric store for the health service: one client, serialised with writers in
this process, reconnected after a failure, and failures sorted into "the store is down",
"the tables are missing" and "this query is wrong"."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any, Callable

from omni_core.errors import SchemaError, StorageError, StorageUnavailable
from exporters.clickhouse import MetricKind, SchemaOptions, connect, engine_lock, qualified, verify_schema

__all__ = ["QueryFailed", "StoreReader"]

_log = logging.getLogger(__name__)


class QueryFailed(StorageError):
    """The store is up and the tables exist, but this statement failed (a rule's SQL is wrong)."""


class StoreReader:
    """Runs read-only statements; ``connect_store`` is called again after any failure."""

    def __init__(self, connect_store: Callable[[], Any], options: SchemaOptions, where: str = "") -> None:
        self._connect = connect_store
        self.options = options
        self.where = where
        self._client: Any = None
        self._lock = threading.Lock()
        #: Settings this store rejected once (an older server); never sent again.
        self._refused: set[str] = set()

    @classmethod
    def for_dsn(cls, dsn: str, options: SchemaOptions) -> "StoreReader":
        return cls(lambda: connect(dsn, database=options.database), options, where=_redact(dsn))

    def _client_now(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _drop(self) -> None:
        with self._lock:
            self._client = None

    def query(self, sql: str, settings: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of ``sql``; raises StorageUnavailable, SchemaError or QueryFailed.

        ``settings`` only tune how the statement runs, never what it answers: when the store
        refuses one (a server too old to know it, a read-only profile, a constraint) and the
        statement succeeds without them, it is answered without them, and this reader stops
        sending them. Any other failure is not retried, so a broken rule costs one query."""
        try:
            client = self._client_now()
        except StorageError:
            self._drop()
            raise
        except Exception as exc:  # a client library failing to construct is the store being unreachable
            self._drop()
            raise StorageUnavailable(f"cannot reach the metric store {self.where}: {exc}") from exc
        wanted = {k: v for k, v in (settings or {}).items() if k not in self._refused}
        try:
            return self._run(client, sql, wanted)
        except Exception as exc:
            if wanted and _refuses_a_setting(exc):
                try:
                    answer = self._run(client, sql, {})
                except Exception:
                    pass
                else:
                    _log.warning("the metric store %s refused the settings %s (%s); querying without them",
                                 self.where, ", ".join(sorted(wanted)), _first_line(exc))
                    self._refused.update(wanted)
                    return answer
            problem = self._diagnose(client, exc)
            raise problem from exc

    @staticmethod
    def _run(client: Any, sql: str, settings: dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        with engine_lock(client):
            result = client.query(sql, settings=settings or None)
        return list(result.column_names), list(result.result_rows)

    def _diagnose(self, client: Any, exc: Exception) -> StorageError:
        try:
            with engine_lock(client):
                alive = bool(client.ping())
        except Exception:
            alive = False
        if not alive:
            self._drop()
            return StorageUnavailable(f"the metric store {self.where} is unreachable: {_first_line(exc)}")
        try:
            self._check_schema(client)
        except StorageUnavailable as down:
            self._drop()
            return down
        except SchemaError as missing:
            return missing
        return QueryFailed(_first_line(exc))

    def check_schema(self, client: Any | None = None) -> None:
        """Raise unless the store answers and the gauge and sum tables exist (cheap: every evaluation).
        After a failure the client is dropped, so the next call connects afresh."""
        try:
            self._check_schema(client or self._client_now())
        except SchemaError:
            raise
        except StorageError:
            self._drop()
            raise
        except Exception as exc:
            self._drop()
            raise StorageUnavailable(f"the metric store {self.where} is unreachable: {_first_line(exc)}") from exc

    def _check_schema(self, client: Any) -> None:
        with engine_lock(client):
            if not client.ping():
                raise StorageUnavailable(f"the metric store {self.where} does not answer a ping")
            for kind in (MetricKind.GAUGE, MetricKind.SUM):
                exists = client.command(f"EXISTS TABLE {qualified(self.options, kind)}")
                if str(exists).strip() != "1":
                    raise SchemaError(
                        f"table {qualified(self.options, kind)} does not exist; run `omni-telemetry schema apply`"
                    )

    def ready(self) -> None:
        """Raise unless the store answers and every metric table has the columns this version reads."""
        try:
            self.check_schema()
            client = self._client_now()
            with engine_lock(client):
                verify_schema(client, self.options)
        except StorageError:
            self._drop()
            raise
        except Exception as exc:
            self._drop()
            raise StorageUnavailable(f"the metric store {self.where} is unreachable: {_first_line(exc)}") from exc


#: How a store says it will not take a setting: the server's error names (unknown setting,
#: read-only profile, settings constraint) and clickhouse-connect's own check over HTTP.
_SETTING_REFUSED = re.compile(r"UNKNOWN_SETTING|READONLY|SETTING_CONSTRAINT_VIOLATION|is unknown or readonly")


def _refuses_a_setting(exc: Exception) -> bool:
    return bool(_SETTING_REFUSED.search(str(exc)))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def _redact(dsn: str) -> str:
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return dsn
