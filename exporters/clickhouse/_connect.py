"""One way to reach ClickHouse: a DSN naming either embedded chDB or an HTTP server.

chDB runs the engine inside this process and hosts exactly one data directory per process,
so every caller asking for the same ``chdb://`` path gets the same client, and a lock per
path (:func:`engine_lock`) keeps writers from interleaving their statements on it. Closing
that client releases the directory; the next :func:`connect` opens a fresh one.

chDB itself (a ~390 MiB RSS library) is loaded only when a ``chdb://`` DSN is opened:
clickhouse-connect imports its chDB backend on first use, and nothing here imports it
eagerly, so a collector writing to a ClickHouse server never maps it.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from omni_core.errors import ConfigError, StorageUnavailable

from ._failures import storage_failure

__all__ = [
    "StorageDsn",
    "cheap_insert_settings",
    "close_embedded_engines",
    "connect",
    "engine_lock",
    "parse_dsn",
    "redact_dsn",
]

logger = logging.getLogger(__name__)

_ACCEPTED_FORMS = (
    "use chdb:///absolute/data/directory (embedded chDB) or "
    "http(s)://user:password@host:port/database (ClickHouse server; user, password, port and database optional)"
)


@dataclass(frozen=True)
class StorageDsn:
    """A parsed storage DSN. ``password`` is kept out of ``repr`` so it never reaches a log."""

    kind: Literal["chdb", "http", "https"]
    path: str = ""
    host: str = ""
    port: int | None = None
    username: str | None = None
    password: str = ""
    database: str | None = None

    def __repr__(self) -> str:
        where = self.path if self.kind == "chdb" else f"{self.host}:{self.port}"
        return f"StorageDsn({self.kind}://{where}, database={self.database!r})"


def parse_dsn(dsn: str) -> StorageDsn:
    """Check and split a DSN; anything else raises ``ConfigError(field="storage_dsn")``."""
    try:
        parts = urlsplit(dsn.strip())
        port = parts.port
    except (ValueError, AttributeError) as exc:
        raise ConfigError(f"cannot parse {redact_dsn(dsn)!r} ({exc}); {_ACCEPTED_FORMS}", field="storage_dsn") from None
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise ConfigError(f"{redact_dsn(dsn)!r} has query parameters, which are not supported; {_ACCEPTED_FORMS}",
                          field="storage_dsn")
    if scheme == "chdb":
        if parts.netloc or not parts.path.startswith("/") or parts.path.strip("/") == "":
            raise ConfigError(
                f"{redact_dsn(dsn)!r} does not name an absolute data directory (note the three slashes); {_ACCEPTED_FORMS}",
                field="storage_dsn",
            )
        return StorageDsn(kind="chdb", path=os.path.realpath(unquote(parts.path)))
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise ConfigError(f"{redact_dsn(dsn)!r} has no host; {_ACCEPTED_FORMS}", field="storage_dsn")
        database = unquote(parts.path.strip("/")) or None
        if database is not None and "/" in database:
            raise ConfigError(f"{redact_dsn(dsn)!r}: the path must be a single database name; {_ACCEPTED_FORMS}",
                              field="storage_dsn")
        return StorageDsn(
            kind="https" if scheme == "https" else "http",
            host=parts.hostname,
            port=port or (8443 if scheme == "https" else 8123),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else "",
            database=database,
        )
    raise ConfigError(f"unsupported scheme in {redact_dsn(dsn)!r}; {_ACCEPTED_FORMS}", field="storage_dsn")


def redact_dsn(dsn: str) -> str:
    """``dsn`` with its password replaced by ``***``: the form to print or log.

    Works on DSNs that do not parse too (error messages show what was given), for every
    scheme (``chdb://user:pw@...`` included); a DSN without a password is returned as is.
    """
    scheme, sep, rest = dsn.partition("://")
    if not sep:
        return dsn
    authority, slash, tail = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return dsn
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{tail}"


@dataclass
class _SharedEngine:
    client: Client
    lock: threading.RLock


_shared_lock = threading.Lock()
_shared: dict[str, _SharedEngine] = {}
#: Locks for clients this module did not hand out (HTTP clients, foreign chDB clients).
_other_locks: "weakref.WeakKeyDictionary[Client, threading.RLock]" = weakref.WeakKeyDictionary()


def engine_lock(client: Client) -> threading.RLock:
    """The lock serialising statements on ``client``'s engine within this process.

    Shared chDB clients get their path's lock, so all writers on one data directory take
    turns; any other client gets a lock of its own.
    """
    with _shared_lock:
        for engine in _shared.values():
            if engine.client is client:
                return engine.lock
        lock = _other_locks.get(client)
        if lock is None:
            lock = _other_locks[client] = threading.RLock()
        return lock


def connect(
    dsn: "str | StorageDsn",
    *,
    database: str | None = None,
    connect_timeout_s: float = 5.0,
    send_receive_timeout_s: float = 30.0,
) -> Client:
    """A ready client for ``dsn``.

    ``database`` (or the DSN's path) becomes the client's default database for unqualified
    ad-hoc queries on a server; this package always qualifies table names, so the database
    does not need to exist yet. A shared chDB client keeps the engine's default database,
    because a per-caller default on a shared client would leak between callers. ``dsn`` may
    come parsed already (the settings parse it once).
    """
    parsed = dsn if isinstance(dsn, StorageDsn) else parse_dsn(dsn)
    if parsed.kind == "chdb":
        return _shared_chdb(parsed.path)
    return _http_client(parsed, database or parsed.database, connect_timeout_s, send_receive_timeout_s)


def _shared_chdb(path: str) -> Client:
    with _shared_lock:
        engine = _shared.get(path)
        if engine is not None:
            if engine.client.ping():
                return engine.client
            del _shared[path]
        for other_path, other in list(_shared.items()):
            if other.client.ping():
                raise ConfigError(
                    f"chDB hosts one data directory per process and {other_path} is already open here; "
                    f"point every component at the same chdb:// DSN (or close that client first) instead of {path}",
                    field="storage_dsn",
                )
            del _shared[other_path]
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(
                f"cannot create the chDB data directory {path}: {exc.strerror or exc}; choose a writable path in storage_dsn (OMNI_STORAGE_DSN)"
            ) from exc
        try:
            client = clickhouse_connect.get_client(interface="chdb", path=path)
        except Exception as exc:
            if "already initialized with path" in str(exc):
                raise ConfigError(
                    f"chDB hosts one data directory per process and another one is already open in this process; "
                    f"use the same chdb:// DSN everywhere instead of {path} ({exc})",
                    field="storage_dsn",
                ) from exc
            raise StorageUnavailable(
                f"cannot open the chDB data directory {path}: {exc}. Check that it is a writable directory "
                "that no other process holds open"
            ) from exc
        _shared[path] = _SharedEngine(client, threading.RLock())
        return client


def _http_client(parsed: StorageDsn, database: str | None, connect_timeout_s: float, send_receive_timeout_s: float) -> Client:
    where = f"{parsed.kind}://{parsed.host}:{parsed.port}"
    try:
        client = clickhouse_connect.get_client(
            interface=parsed.kind,
            host=parsed.host,
            port=parsed.port,
            username=parsed.username,
            password=parsed.password,
            connect_timeout=connect_timeout_s,
            send_receive_timeout=send_receive_timeout_s,
            # Session-less, so several threads can share the client without "session is locked".
            autogenerate_session_id=False,
        )
    except Exception as exc:
        failure = storage_failure(exc, f"connecting to {where}")
        if isinstance(failure, StorageUnavailable):
            raise StorageUnavailable(
                f"ClickHouse at {where} is unreachable ({exc}). Check that the server is running, that "
                f"storage_dsn (OMNI_STORAGE_DSN) names the right host and HTTP port (8123, or 8443 for https) and that no "
                "firewall blocks it"
            ) from exc
        raise failure from exc
    if database:
        try:
            exists = client.command("EXISTS DATABASE {db:Identifier}", parameters={"db": database})
        except Exception as exc:
            raise storage_failure(exc, f"checking database {database!r} on {where}") from exc
        if str(exists).strip() == "1":
            client.database = database
        else:
            logger.info("database %r does not exist yet on %s; the schema step creates it", database, where)
    return client


def close_embedded_engines() -> None:
    """Close every shared chDB engine this process opened.

    chDB hosts one data directory per process; a process that moves to another directory
    (a test suite giving each test its own store) closes the current one first. Clients
    handed out before the call must not be used after it.
    """
    with _shared_lock:
        engines = list(_shared.values())
        _shared.clear()
    for engine in engines:
        with engine.lock:
            try:
                engine.client.close()
            except Exception:  # closing is best effort: the engine may already be gone
                logger.debug("closing chDB client failed", exc_info=True)


#: Insert settings that make each new part cheaper without changing what is stored: skip
#: indexes are built by the next merge instead of on every small insert.
_CHEAP_INSERT_SETTINGS: dict[str, str] = {"materialize_skip_indexes_on_insert": "0"}


def cheap_insert_settings(client: Client) -> dict[str, str]:
    """The cheap-part insert settings this engine knows (an older server rejects unknown ones).

    clickhouse-connect reads ``system.settings`` once when the client connects
    (``server_settings``); this only filters by it, so it costs no statement.
    """
    known = getattr(client, "server_settings", None) or {}
    return {name: value for name, value in _CHEAP_INSERT_SETTINGS.items() if name in known}
