"""Keeping discovered targets current while the scrape loop runs.

The scrape loop asks for targets every cycle (a callable); this object answers from the
last refresh at once and refreshes in a worker thread every ``interval_s``, because the
Kubernetes client blocks. Static targets from the settings are always included.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Sequence

from .._target import ScrapeTarget
from ._kubernetes import DiscoveryResult, KubernetesDiscovery

__all__ = ["DiscoveredTargets"]

_log = logging.getLogger(__name__)


class DiscoveredTargets:
    def __init__(
        self,
        discovery: KubernetesDiscovery,
        *,
        static_targets: Sequence[ScrapeTarget] = (),
        interval_s: float = 60.0,
        on_change: Callable[[DiscoveryResult], None] | None = None,
    ) -> None:
        self.discovery = discovery
        self.static_targets = tuple(static_targets)
        self.interval_s = interval_s
        self._on_change = on_change
        self.last: DiscoveryResult | None = None

    def __call__(self) -> tuple[ScrapeTarget, ...]:
        """Static targets, then discovered ones not already configured statically."""
        static_keys = {t.key for t in self.static_targets}
        return self.static_targets + tuple(t for t in self.discovery.targets if t.key not in static_keys)

    async def refresh(self) -> DiscoveryResult:
        result = await asyncio.to_thread(self.discovery.refresh)
        self.last = result
        for error in result.errors:
            _log.warning("discovery: %s", error)
        if result.added or result.removed:
            _log.info("discovery: %d targets (+%d, -%d)", len(result.targets), len(result.added), len(result.removed))
            if self._on_change is not None:
                self._on_change(result)
        return result

    async def run(self, stop: asyncio.Event, *, refresh_first: bool = True) -> None:
        """Refresh (now, unless ``refresh_first`` is false) and then every ``interval_s`` until ``stop`` is set."""
        first = refresh_first
        while not stop.is_set():
            if first:
                try:
                    await self.refresh()
                except Exception:  # a bug in one refresh must not end discovery
                    _log.exception("discovery refresh failed")
            first = True
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
            except asyncio.TimeoutError:
                pass
