"""The one tree of errors raised by omni-telemetry.

Callers catch by branch: the scrape loop catches :class:`ScrapeError` and turns it into
``up=0`` with the message as the reason; the delivery queue catches :class:`StorageError`
and retries; the ingest endpoint maps :class:`IngestError` subclasses to HTTP status codes.
Every message is written for an operator: what failed, where, and what to do about it.

Context travels as attributes (``field``, ``target``, ``line``) and ``str(exc)`` is the raw
message, so nobody has to strip a prefix back off; :meth:`OmniError.describe` joins the two
(``"storage_dsn: unsupported scheme ..."``) for a person reading one line.

    OmniError
    ├── ConfigError                  bad settings, named by field, with the fix
    ├── ScrapeError                  one target could not be read (carries the target URL)
    │   ├── TargetUnreachable        connection refused, DNS failure, TLS failure
    │   ├── TargetTimeout            no complete answer within the scrape timeout
    │   ├── TargetHTTPError          an HTTP status other than 2xx
    │   ├── SourceAPIError           a control-plane API answered with an unknown shape
    │   └── ExpositionError          the body is not valid exposition (carries the line number)
    │       └── ExpositionLimitExceeded   body, line or label-count bound exceeded
    ├── StorageError                 ClickHouse refused or failed a statement
    │   ├── StorageUnavailable       the server or embedded engine cannot be reached (retryable)
    │   ├── SchemaError              tables missing or not in the expected layout
    │   └── SpoolCorrupt             a spooled batch no longer parses (set aside, counted)
    └── IngestError                  an OTLP request that cannot be accepted
        ├── Unauthorized             missing or wrong bearer token (401)
        ├── UnsupportedContentType   not protobuf or JSON (415)
        ├── PayloadTooLarge          body above the configured bound (413)
        ├── MalformedPayload         cannot be decoded (400)
        ├── BodyTimeout              body not complete within the read deadline (408)
        ├── ClientGone               the client went away before its body was in (no answer)
        └── IngestOverloaded         storage down and nowhere to buffer; retry later (503)
            └── IngestBusy           too many requests at once or buffer full; retry later (429)
"""

from __future__ import annotations

__all__ = [
    "BodyTimeout",
    "ClientGone",
    "ConfigError",
    "DashboardError",
    "GrafanaAPIError",
    "StaleDashboards",
    "ExpositionError",
    "ExpositionLimitExceeded",
    "IngestBusy",
    "IngestError",
    "IngestOverloaded",
    "MalformedPayload",
    "OmniError",
    "PayloadTooLarge",
    "SchemaError",
    "ScrapeError",
    "SourceAPIError",
    "SpoolCorrupt",
    "StorageError",
    "StorageUnavailable",
    "TargetHTTPError",
    "TargetTimeout",
    "TargetUnreachable",
    "Unauthorized",
    "UnsupportedContentType",
]


class OmniError(Exception):
    """Base of every error omni-telemetry raises on purpose. ``str(exc)`` is the message alone."""

    @property
    def message(self) -> str:
        return str(self)

    def describe(self) -> str:
        """The message with its context in front, as one line for logs and the command line."""
        return str(self)


class ConfigError(OmniError):
    """Settings that cannot work. Raised at start, before anything is scraped or written.

    ``field`` names the setting (``storage_dsn``), the place in a config file
    (``targets[0].sorce``) or the command-line option (``--target``) to fix.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)

    def describe(self) -> str:
        return f"{self.field}: {self}" if self.field else str(self)


class ScrapeError(OmniError):
    """A target could not be read. The scrape loop records it as ``up=0`` and goes on."""

    def __init__(self, message: str, *, target: str = "") -> None:
        self.target = target
        super().__init__(message)

    def describe(self, *, with_target: bool = True) -> str:
        return f"{self.target}: {self._located()}" if with_target and self.target else self._located()

    def _located(self) -> str:
        return str(self)


class TargetUnreachable(ScrapeError):
    """Connection refused, name not resolved, or TLS handshake failed."""


class TargetTimeout(ScrapeError):
    """The target did not answer completely within the scrape timeout."""


class TargetHTTPError(ScrapeError):
    """The target answered with a non-2xx HTTP status."""

    def __init__(self, message: str, *, target: str = "", status_code: int = 0) -> None:
        self.status_code = status_code
        super().__init__(message, target=target)


class SourceAPIError(ScrapeError):
    """A control-plane API (Kuma, Mayastor REST, Kubernetes) answered with an error or an unknown shape."""


class ExpositionError(ScrapeError):
    """The body is not valid Prometheus or OpenMetrics text. ``line`` is 1-based; 0 when unknown."""

    def __init__(self, message: str, *, line: int = 0, target: str = "") -> None:
        self.line = line
        super().__init__(message, target=target)

    @property
    def problem(self) -> str:
        """The message without the line (kept for callers written before ``str`` became raw)."""
        return str(self)

    def _located(self) -> str:
        return f"line {self.line}: {self}" if self.line else str(self)


class ExpositionLimitExceeded(ExpositionError):
    """The body, a line, or a label set is larger than the configured bound."""


class StorageError(OmniError):
    """ClickHouse refused or failed a statement."""


class StorageUnavailable(StorageError):
    """ClickHouse (server or embedded engine) cannot be reached right now; retrying may succeed."""


class SchemaError(StorageError):
    """The metric tables are missing or differ from the layout this version writes."""


class SpoolCorrupt(StorageError):
    """A spooled batch that no longer parses; the spool sets the file aside as ``*.corrupt``."""


class IngestError(OmniError):
    """An OTLP request the receiver cannot accept. ``status_code`` is the HTTP answer."""

    status_code = 400

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class Unauthorized(IngestError):
    status_code = 401


class UnsupportedContentType(IngestError):
    status_code = 415


class PayloadTooLarge(IngestError):
    status_code = 413


class MalformedPayload(IngestError):
    status_code = 400


class BodyTimeout(IngestError):
    """The client did not send its whole body within the receiver's read deadline (slowloris)."""

    status_code = 408


class ClientGone(IngestError):
    """The client disconnected mid-body: nothing to answer, nothing accepted."""

    status_code = 499


class IngestOverloaded(IngestError):
    """The buffer is full or storage is down: the client should retry after ``retry_after`` seconds."""

    status_code = 503


class IngestBusy(IngestOverloaded):
    """Too many requests in progress, or the buffer is full while storage keeps up: slow down."""

    status_code = 429


# -- dashboards --------------------------------------------------------------------------------


class DashboardError(OmniError):
    """Generated dashboards: stale committed files, a panel query that failed, a Grafana refusal."""


class StaleDashboards(DashboardError):
    """Committed dashboard files differ from what the code generates; ``diff`` shows how."""

    def __init__(self, message: str, *, files: tuple[str, ...] = (), diff: str = "") -> None:
        super().__init__(message)
        self.files = files
        self.diff = diff


class GrafanaAPIError(DashboardError):
    """Grafana refused a request (401 bad token, 403 no permission, 412 version or name conflict)."""

    def __init__(self, message: str, *, status_code: int = 0, uid: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.uid = uid
