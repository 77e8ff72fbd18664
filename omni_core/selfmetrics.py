"""One set of self-metrics per Prometheus registry.

Why: registering the same metric names twice in one ``CollectorRegistry`` is an error in
``prometheus_client``, yet several queues or receivers of one process share a registry. A
class deriving from :class:`PerRegistry` is built once per registry and handed out again by
:meth:`PerRegistry.for_registry`; a registry that goes away takes its metrics with it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry

__all__ = ["PerRegistry"]

_Self = TypeVar("_Self", bound="PerRegistry")


class PerRegistry:
    """Base of a set of metrics built from one registry: ``__init__(self, registry)``."""

    _by_registry: "weakref.WeakKeyDictionary[CollectorRegistry, Any]"
    _lock: threading.Lock

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._by_registry = weakref.WeakKeyDictionary()  # each subclass keeps its own instances
        cls._lock = threading.Lock()

    def __init__(self, registry: CollectorRegistry) -> None:
        raise NotImplementedError

    @classmethod
    def for_registry(cls: type[_Self], registry: CollectorRegistry | None = None) -> _Self:
        """The metrics registered in ``registry`` (the global one by default), created on first use."""
        registry = REGISTRY if registry is None else registry
        with cls._lock:
            metrics = cls._by_registry.get(registry)
            if metrics is None:
                metrics = cls(registry)
                cls._by_registry[registry] = metrics
            return metrics
