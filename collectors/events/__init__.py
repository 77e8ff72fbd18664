"""Kubernetes Events as OpenTelemetry log records (the ``kubernetes-events`` source)."""

from ._records import event_record
from ._watch import EventWatchStats, KubernetesEventsSource

__all__ = ["EventWatchStats", "KubernetesEventsSource", "event_record"]
