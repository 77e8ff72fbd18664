"""Keeping discovered targets current while the scrape loop runs.

The scrape loop asks for targets every cycle (a callable); this object answers from the
last refresh at once and refreshes in a worker thread every ``interval_s``, because the
Kubernetes client blocks. Static targets from the settings are always included.

With a :class:`~collectors.TargetShard` of several replicas, every answer keeps only the
targets in this replica's bucket, so targets that appear or vanish are re-sharded on each
refresh without any coordination between the replicas.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Sequence

from .._shard import TargetShard
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
        shard: TargetShard = TargetShard(),
    ) -> None:
        self.discovery = discovery
        self.static_targets = tuple(static_targets)
        self.interval_s = interval_s
        self._on_change = on_change
        self.shard = shard
        self._answer: tuple[ScrapeTarget, ...] | None = None
        self._answered_from: tuple[ScrapeTarget, ...] | None = None
        self.last: DiscoveryResult | None = None

    def __call__(self) -> tuple[ScrapeTarget, ...]:
        """Static targets, then discovered ones not already configured statically: those of
        this replica's shard only. Worked out once per refresh (the loop asks every cycle)."""
        discovered = self.discovery.targets
        if self._answer is None or discovered is not self._answered_from:
            static_keys = {t.key for t in self.static_targets}
            found = self.static_targets + tuple(t for t in discovered if t.key not in static_keys)
            self._answer, self._answered_from = self.shard.select(found), discovered
        return self._answer

    async def refresh(self) -> DiscoveryResult:
        result = await asyncio.to_thread(self.discovery.refresh)
        self.last = result
        for error in result.errors:
            _log.warning("discovery: %s", error)
        if result.added or result.removed:
            _log.info("discovery: %d targets (+%d, -%d)", len(result.targets), len(result.added), len(result.removed))
            if not self.shard.is_whole:
                _log.info("discovery: %s scrapes %d of them", self.shard, len(self.shard.select(result.targets)))
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
