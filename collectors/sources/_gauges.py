"""Gauge families built from control-plane API answers (Kuma, Mayastor REST, Kubernetes).

API sources read JSON, not exposition; they still hand the scraper an :class:`Exposition`
so the one conversion path applies. This builder keeps the family bookkeeping (one family
per name, HELP and unit set once) out of each source, and ``state_set`` writes an enum the
way kube-state-metrics does: one series per possible state, the current one at 1, so a
state change never leaves a stale series behind and "how many are offline" is a sum.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from ..exposition import Exposition, MetricFamily, Sample

__all__ = ["GaugeFamilies"]


class GaugeFamilies:
    """Accumulates gauge samples by family name, in first-seen order."""

    def __init__(self) -> None:
        self._families: dict[str, MetricFamily] = {}
        self.warnings: list[str] = []

    def add(
        self,
        name: str,
        labels: Mapping[str, str],
        value: float,
        *,
        help: str = "",
        unit: str = "",
    ) -> None:
        family = self._families.get(name)
        if family is None:
            family = MetricFamily(name=name, type="gauge", help=help, unit=unit)
            self._families[name] = family
        family.samples.append(Sample(name, dict(labels), float(value)))

    def state_set(
        self,
        name: str,
        labels: Mapping[str, str],
        current: str,
        states: Iterable[str],
        *,
        label: str = "status",
        help: str = "",
    ) -> None:
        """One series per state in ``states`` (plus ``current`` if it is not among them)."""
        known = list(states)
        if current not in known:
            known.append(current)
        for state in known:
            self.add(name, {**labels, label: state}, 1.0 if state == current else 0.0, help=help)

    def exposition(self) -> Exposition:
        families = [f for f in self._families.values() if f.samples]
        return Exposition(families=families, warnings=list(self.warnings))
