"""Building OpenTelemetry points fast: conversion creates one per sample of every scrape."""

from __future__ import annotations

import math
from typing import Sequence

from opentelemetry.sdk.metrics import Exemplar as OtelExemplar
from opentelemetry.sdk.metrics.export import AggregationTemporality

from ._model import Exemplar, Sample

_CUMULATIVE = AggregationTemporality.CUMULATIVE

_NO_EXEMPLARS: tuple[OtelExemplar, ...] = ()


def _whole(value: float) -> int:
    """A count as an integer; NaN and infinities (which a broken exporter can expose) become 0."""
    return int(value) if math.isfinite(value) else 0


def _exemplar(exemplar: Exemplar | None, default_ns: int) -> Sequence[OtelExemplar]:
    if exemplar is None:
        return _NO_EXEMPLARS
    labels = dict(exemplar.labels)
    trace_id = _hex_id(labels.pop("trace_id", None))
    span_id = _hex_id(labels.pop("span_id", None))
    time_ns = int(exemplar.timestamp * 1e9) if exemplar.timestamp is not None else default_ns
    return [OtelExemplar(labels, exemplar.value, time_ns, span_id, trace_id)]


def _hex_id(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def _sample_time(sample: Sample, scrape_time_ns: int) -> int:
    return sample.timestamp_ms * 1_000_000 if sample.timestamp_ms is not None else scrape_time_ns
