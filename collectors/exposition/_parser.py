"""Prometheus text 0.0.4 and OpenMetrics 1.0 parsing (placeholder until the parser lands)."""

from __future__ import annotations

from .._target import ParseLimits
from ._model import Exposition

__all__ = ["parse_exposition"]


def parse_exposition(
    body: bytes | str, content_type: str = "", *, limits: ParseLimits = ParseLimits()
) -> Exposition:
    raise NotImplementedError
