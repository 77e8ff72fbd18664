"""What a source is: how to read one kind of target into an :class:`Exposition`.

Every source (Mayastor's exporter, Envoy, Kuma's API, ...) is a subclass of :class:`Source`
registered by name in :mod:`collectors.sources`. Exposition-serving sources
(``reads_exposition = True``) only declare their expected families, type overrides and a
``normalize`` step, and may wrap :meth:`Source.fetch`; API sources (``reads_exposition = False``)
override ``collect`` and build families of gauges themselves. Either way the result goes through the
single conversion path, so the Prometheus-receiver rules live in one place.
"""

from __future__ import annotations

from abc import ABC
from typing import ClassVar, Mapping

import httpx

from ._http import HttpBody, fetch
from ._target import ParseLimits, ScrapeTarget
from .exposition import Exposition, parse_exposition

__all__ = ["Source"]


class Source(ABC):
    """A kind of target.

    ``expected_families`` maps each family name a healthy target of this kind exposes to its
    type; a scrape that lacks one logs a warning (wrong port, or a version change).
    ``type_overrides`` corrects families a system declares with the wrong type (Mayastor
    declares cumulative I/O totals as gauges) before conversion.
    """

    name: ClassVar[str] = "prometheus"
    description: ClassVar[str] = "any Prometheus or OpenMetrics text endpoint"
    expected_families: ClassVar[Mapping[str, str]] = {}
    type_overrides: ClassVar[Mapping[str, str]] = {}
    #: The converted result depends only on the body text (and the target's options): a scrape
    #: whose layout equals the previous one may then be converted from its values alone. Off for
    #: sources whose normalisation looks at values or at other targets.
    layout_cache: ClassVar[bool] = True
    #: True: the scraper calls :meth:`fetch` and converts the body itself (with the steady-state
    #: shortcut); :meth:`collect` is not called. False: the scraper calls :meth:`collect`, which
    #: builds the families (API sources). Every source says which, so overriding a method can
    #: never move a source from one path to the other unnoticed.
    reads_exposition: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(getattr(cls, "reads_exposition", None), bool):
            raise TypeError(
                f"source {cls.__name__} must set reads_exposition: ClassVar[bool] (True when the scraper "
                "fetches and converts its exposition text, False when its collect() builds the families)"
            )

    @classmethod
    def shard_group(cls, target: ScrapeTarget) -> str | None:
        """Targets whose results depend on each other share a group, which collector replicas
        sharing the targets keep on one replica (:mod:`collectors._shard`); ``None``, the
        default: the target stands alone."""
        return None

    async def collect(
        self, client: httpx.AsyncClient, target: ScrapeTarget, limits: ParseLimits
    ) -> Exposition:
        """Read the target once. Raises a :class:`~omni_core.errors.ScrapeError` branch."""
        body = await self.fetch(client, target, limits)
        return self.parse(body, target, limits)

    async def fetch(self, client: httpx.AsyncClient, target: ScrapeTarget, limits: ParseLimits) -> HttpBody:
        """GET the target's exposition text."""
        return await fetch(client, target, params=self.query_params(target), limits=limits)

    def parse(self, body: HttpBody, target: ScrapeTarget, limits: ParseLimits) -> Exposition:
        """Parse and normalise a fetched body."""
        return self.normalize(parse_exposition(body.content, body.content_type, limits=limits), target)

    def query_params(self, target: ScrapeTarget) -> dict[str, str] | None:
        """Query parameters for the scrape request (Envoy's ``usedonly``, ``filter``)."""
        return None

    def normalize(self, exposition: Exposition, target: ScrapeTarget) -> Exposition:
        """Source-specific fix-ups before conversion: renames, derived labels, dedupe."""
        return exposition

    def missing_families(self, exposition: Exposition) -> list[str]:
        """Expected families absent from a scrape, for the wrong-port/wrong-version warning."""
        if not self.expected_families:
            return []
        present = {f.name for f in exposition.families}
        for family in exposition.families:
            present.update(family.sample_names())
        return sorted(name for name in self.expected_families if name not in present)
