"""What to scrape and how: the collectors' view of one configured or discovered target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit

__all__ = ["ParseLimits", "ScrapeTarget"]


@dataclass(frozen=True)
class ParseLimits:
    """Bounds that keep one hostile or broken target from exhausting the collector."""

    max_body_bytes: int = 64 * 1024 * 1024
    max_line_bytes: int = 1024 * 1024
    max_labels: int = 128


@dataclass(frozen=True)
class ScrapeTarget:
    """One endpoint of one source.

    ``job`` becomes ``service.name`` and ``instance`` (default ``host:port`` of the URL)
    ``service.instance.id``, as the Collector's Prometheus receiver does. ``resource`` holds extra
    resource attributes (``k8s.pod.name`` and the like from discovery). ``options`` carries
    source-specific settings (Envoy's ``usedonly``/``filter``, a Kuma mesh list, ...).
    """

    url: str
    source: str = "prometheus"
    job: str = ""
    instance: str = ""
    timeout_s: float = 10.0
    bearer_token_file: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    resource: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if not self.instance:
            object.__setattr__(self, "instance", parts.netloc)
        if not self.job:
            object.__setattr__(self, "job", self.source)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme or "http"

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the target for per-series state: the receiver keys it by job and instance."""
        return (self.job, self.instance, self.url)
