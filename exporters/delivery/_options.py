"""How long to wait between attempts, how much to hold, how large an insert, where the overflow goes.

Retry defaults follow the OpenTelemetry Collector's exporterhelper (``retry_on_failure``:
first wait 5 s, growing by 1.5 up to 30 s, randomised by ±50 %), except that there is no
maximum elapsed time: a sink that is down keeps its data waiting until the bounds below
evict it, because giving up after five minutes would make the spool pointless.

Coalescing follows the Collector's batch processor: queued batches are merged into one
insert when they reach ``batch_max_points`` or the oldest has waited ``batch_max_age_s``,
whichever comes first. Few large inserts keep ClickHouse's parts large, so its background
merges rewrite each row a few times instead of dozens; the price is freshness (data is
visible after at most the age).
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
        if self.initial_interval_s < 0:
            raise ConfigError(f"must not be negative, got {self.initial_interval_s}", field="retry_initial_s")
        if self.max_interval_s < self.initial_interval_s:
            raise ConfigError(
                f"the first wait ({self.initial_interval_s:g} s) is longer than the longest wait, retry_max_s "
                f"({self.max_interval_s:g} s); lower retry_initial_s or raise retry_max_s",
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

    ``max_memory_points`` / ``max_memory_bytes``: what memory holds (bytes estimated from
    the strings and values a batch carries). Beyond either, the oldest batches move to
    ``spool_dir`` when one is set, or are dropped (and counted) when not. The default is
    about what one writer flushes to chDB within the default shutdown budget, so a SIGTERM
    with a healthy store loses nothing.
    ``max_spool_bytes``: size of the spool on disk; beyond it the oldest spooled batches are
    dropped (and counted). Batches the store refuses as data go to ``quarantine/`` in the
    spool while it holds less than a tenth of ``max_spool_bytes``, and are dropped beyond.
    ``batch_max_points`` / ``batch_max_age_s``: coalescing (see the module docstring).
    ``attempt_timeout_s`` is handed to SDK exporters. ``name`` labels metrics and log lines.
    """

    name: str = "clickhouse"
    max_memory_points: int = 1_000_000
    max_memory_bytes: int = 512 * 1024 * 1024
    spool_dir: Path | str | None = None
    max_spool_bytes: int = 512 * 1024 * 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch_max_points: int = 200_000
    batch_max_age_s: float = 10.0
    attempt_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_memory_points < 1:
            raise ConfigError(f"must be at least 1, got {self.max_memory_points}", field="queue_max_samples")
        if self.max_memory_bytes < 1:
            raise ConfigError(f"must be at least 1, got {self.max_memory_bytes}", field="queue_max_bytes")
        if self.max_spool_bytes < 1:
            raise ConfigError(f"must be at least 1, got {self.max_spool_bytes}", field="spool_max_bytes")
        if self.batch_max_points < 1:
            raise ConfigError(f"must be at least 1, got {self.batch_max_points}", field="batch_max_samples")
        if self.batch_max_age_s < 0:
            raise ConfigError(f"must not be negative, got {self.batch_max_age_s}", field="batch_max_age_s")
        if self.attempt_timeout_s <= 0:
            raise ConfigError(f"must be positive, got {self.attempt_timeout_s}", field="otlp_timeout_s")
