"""What the OTLP receiver accepts, from whom, and how long it waits: one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field

from omni_core.errors import ConfigError

__all__ = ["DEFAULT_INGEST_PORT", "IngestOptions"]

#: The OTLP/HTTP port registered for the protocol.
DEFAULT_INGEST_PORT = 4318


@dataclass(frozen=True)
class IngestOptions:
    """Bounds, auth and timeouts of the receiver. Defaults follow the Collector's OTLP receiver.

    Sizes: ``max_body_bytes`` bounds the body as sent (checked against ``Content-Length``
    before reading, and while reading); ``max_decompressed_bytes`` bounds it after
    gzip/deflate; ``max_request_points`` (the buffer's capacity, set by whoever builds the
    sink) refuses with 413 a request that could never fit, instead of 429 forever.

    ``max_reading_bytes`` bounds the bodies being read at once (memory), reserved from
    ``Content-Length`` (``max_body_bytes`` when a body comes without one) before reading: a
    request that would pass it is answered 429 at once, so many slow or large uploads cannot
    add up to more than this (never less than ``max_body_bytes``).

    Time: ``header_read_timeout_s`` bounds how long a connection may take to send its request
    line and headers, ``body_read_timeout_s`` the whole body (408 after it), ``keep_alive_s`` an
    idle connection; ``max_connections`` caps open connections (503 beyond). A body being
    read holds no slot: ``max_concurrent_requests`` counts only
    requests whose body is in and that are being decoded or handed to the sink (429 beyond).

    Acknowledgement: with ``durable_ack`` (set when the sink has a spool) a 200 is sent only
    once the sink says the batch is stored or on the fsynced spool, waiting at most
    ``offer_timeout_s``; without it a 200 means queued in memory.

    ``bearer_token``: when set, every request, ``/metrics`` included, must carry
    ``Authorization: Bearer <token>``. ``retry_after_s`` is the ``Retry-After`` given with
    429/503 when the sink cannot say better. ``shutdown_timeout_s`` is the whole budget after
    SIGTERM: finishing requests in progress, then delivering what was acknowledged.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_INGEST_PORT
    max_body_bytes: int = 20 * 1024 * 1024
    max_decompressed_bytes: int = 64 * 1024 * 1024
    max_json_depth: int = 64
    max_concurrent_requests: int = 16
    max_reading_bytes: int = 64 * 1024 * 1024
    max_connections: int = 1024
    max_request_points: int | None = None
    bearer_token: str | None = field(default=None, repr=False)
    retry_after_s: float = 5.0
    serve_metrics: bool = True
    durable_ack: bool = False
    offer_timeout_s: float = 10.0
    header_read_timeout_s: float = 10.0
    body_read_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    shutdown_timeout_s: float = 20.0

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_decompressed_bytes", "max_json_depth", "max_concurrent_requests",
                     "max_reading_bytes", "max_connections"):
            if getattr(self, name) < 1:
                raise ConfigError(f"must be at least 1, got {getattr(self, name)}", field=_setting(name))
        if self.max_request_points is not None and self.max_request_points < 1:
            raise ConfigError(f"must be at least 1, got {self.max_request_points}", field="queue_max_samples")
        if self.bearer_token is not None and not self.bearer_token.strip():
            raise ConfigError("the bearer token is empty; put the token in the file or drop the option",
                              field="ingest_token_file")
        for name in ("offer_timeout_s", "header_read_timeout_s", "body_read_timeout_s", "keep_alive_s",
                     "shutdown_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"must be positive, got {getattr(self, name)}", field=_setting(name))
        if self.retry_after_s < 0:
            raise ConfigError(f"must not be negative, got {self.retry_after_s}", field="ingest_retry_after_s")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"must be a TCP port (0-65535), got {self.port}", field="ingest_port")


#: Options an operator sets, by the setting that carries them; the others are fixed bounds,
#: named as the option so an error never points at a setting that does not exist.
_SETTINGS = {
    "max_body_bytes": "ingest_max_body_bytes",
    "header_read_timeout_s": "ingest_header_read_timeout_s",
    "body_read_timeout_s": "ingest_body_read_timeout_s",
    "shutdown_timeout_s": "shutdown_timeout_s",
}


def _setting(name: str) -> str:
    return _SETTINGS.get(name, f"IngestOptions.{name}")
