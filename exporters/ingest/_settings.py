"""What the OTLP receiver accepts, and from whom."""

from __future__ import annotations

from dataclasses import dataclass, field

from omni_core.errors import ConfigError

__all__ = ["IngestSettings"]


@dataclass(frozen=True)
class IngestSettings:
    """Bounds and auth of the receiver. Defaults follow the OpenTelemetry Collector's OTLP receiver.

    ``max_body_bytes`` bounds the body as sent (checked against ``Content-Length`` before
    reading, and while reading); ``max_decompressed_bytes`` bounds it after gzip/deflate, so
    a small bomb cannot inflate into memory. ``max_concurrent_requests`` caps bodies being
    read and decoded at once; beyond it clients get 429. ``bearer_token``: when set, requests
    must carry ``Authorization: Bearer <token>``. ``retry_after_s`` is the ``Retry-After``
    given with 429/503 when the sink cannot say better.
    """

    max_body_bytes: int = 20 * 1024 * 1024
    max_decompressed_bytes: int = 64 * 1024 * 1024
    max_json_depth: int = 64
    max_concurrent_requests: int = 16
    bearer_token: str | None = field(default=None, repr=False)
    retry_after_s: float = 5.0
    serve_metrics: bool = True

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_decompressed_bytes", "max_json_depth", "max_concurrent_requests"):
            if getattr(self, name) < 1:
                raise ConfigError(f"must be at least 1, got {getattr(self, name)}", field=f"ingest.{name}")
        if self.bearer_token is not None and not self.bearer_token.strip():
            raise ConfigError("the bearer token is empty; put the token in the file or drop the option",
                              field="ingest_token_file")
        if self.retry_after_s < 0:
            raise ConfigError(f"must not be negative, got {self.retry_after_s}", field="ingest_retry_after_s")
