"""The one place OTLP/JSON differs from proto3 JSON in a metrics document: exemplar ids.

OTLP/JSON spells ``traceId``/``spanId`` as hex where proto3 JSON expects base64. Both the
encoder (``exporters.otlp``) and the receiver's decoder (``collectors.otlp_receiver``) walk
the same document shape to convert them, each in its own direction; the walk lives here so
neither package imports the other.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["convert_exemplar_ids"]

_METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram", "summary")
_ID_FIELDS = ("traceId", "spanId", "trace_id", "span_id")


def convert_exemplar_ids(document: dict[str, Any], convert: Callable[[str, str], str]) -> None:
    """Replace every exemplar's non-empty trace/span id by ``convert(value, field)``, in place.

    Exemplars are the only place ids occur in a metrics document; anything not shaped like
    one (a client's garbage) is skipped and left for the protobuf parser to refuse.
    """
    for resource_metrics in _list(document, "resourceMetrics", "resource_metrics"):
        for scope_metrics in _list(resource_metrics, "scopeMetrics", "scope_metrics"):
            for metric in _list(scope_metrics, "metrics"):
                if not isinstance(metric, dict):
                    continue
                for kind in _METRIC_KINDS:
                    data = metric.get(kind)
                    if not isinstance(data, dict):
                        continue
                    for point in _list(data, "dataPoints", "data_points"):
                        for exemplar in _list(point, "exemplars"):
                            if not isinstance(exemplar, dict):
                                continue
                            for id_field in _ID_FIELDS:
                                value = exemplar.get(id_field)
                                if isinstance(value, str) and value:
                                    exemplar[id_field] = convert(value, id_field)


def _list(container: Any, *names: str) -> list[Any]:
    if not isinstance(container, dict):
        return []
    for name in names:
        value = container.get(name)
        if isinstance(value, list):
            return value
    return []
