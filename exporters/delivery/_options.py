"""How long to wait between attempts, how much to hold, and where to keep the overflow.

Defaults follow the OpenTelemetry Collector's exporterhelper (``retry_on_failure``: first
wait 5 s, growing by 1.5 up to 30 s, randomised by ±50 %), except that there is no maximum
elapsed time: a sink that is down keeps its data waiting until the bounds below evict it,
because giving up after five minutes would make the spool pointless.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from omni_core.errors import ConfigError

__all__ = ["DeliveryOptions", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter: attempt ``n`` (0-based) waits about ``initial * multiplier**n``."""

    initial_interval_s: float = 5.0
    max_interval_s: float = 30.0
    multiplier: float = 1.5
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial_interval_s < 0 or self.max_interval_s < self.initial_interval_s:
            raise ConfigError(
                f"need 0 <= initial ({self.initial_interval_s}) <= max ({self.max_interval_s}) seconds",
                field="retry_initial_s",
            )
        if self.multiplier < 1:
            raise ConfigError(f"multiplier must be >= 1, got {self.multiplier}", field="retry_multiplier")
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"jitter must be within [0, 1], got {self.jitter}", field="retry_jitter")

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        base = min(self.max_interval_s, self.initial_interval_s * self.multiplier ** min(attempt, 64))
        spread = base * self.jitter
        return max(0.0, (rng or random).uniform(base - spread, base + spread))


@dataclass(frozen=True)
class DeliveryOptions:
    """Bounds of a :class:`~exporters.delivery.DeliveryQueue`.

    ``max_memory_points``: data points held in memory. Beyond it the oldest batches move to
    ``spool_dir`` when one is set, or are dropped (and counted) when not.
    ``max_spool_bytes``: size of the spool on disk; beyond it the oldest spooled batches are
    dropped (and counted). ``max_error_attempts``: attempts for a batch the sink refuses
    outright (a statement error, not an outage) before it is dropped, so one poisoned batch
    cannot block everything behind it. ``attempt_timeout_s`` is handed to SDK exporters.
    ``name`` labels the queue's metrics and log lines.
    """

    name: str = "clickhouse"
    max_memory_points: int = 500_000
    spool_dir: Path | str | None = None
    max_spool_bytes: int = 512 * 1024 * 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_error_attempts: int = 5
    attempt_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_memory_points < 1:
            raise ConfigError(f"must be at least 1, got {self.max_memory_points}", field="queue_max_samples")
        if self.max_spool_bytes < 1:
            raise ConfigError(f"must be at least 1, got {self.max_spool_bytes}", field="spool_max_bytes")
        if self.max_error_attempts < 1:
            raise ConfigError(f"must be at least 1, got {self.max_error_attempts}", field="delivery.max_error_attempts")
        if self.attempt_timeout_s <= 0:
            raise ConfigError(f"must be positive, got {self.attempt_timeout_s}", field="delivery.attempt_timeout_s")
