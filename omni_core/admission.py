"""What a buffered sink answers when a receiver offers it a batch.

Why a separate answer from the SDK's ``MetricExportResult``: a receiver that can tell its
client to retry (OTLP/HTTP 429/503 with ``Retry-After``, 413 for what can never fit) must not
acknowledge data the sink cannot keep. The sink decides; the receiver maps the answer to
HTTP. Both sides import this module, so neither needs to know the other's class.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from opentelemetry.sdk.metrics.export import MetricsData

__all__ = ["Admission", "AdmittingSink", "OfferResult"]


class Admission(Enum):
    """Where an offered batch ended up, or why it was refused."""

    STORED = "stored"
    """Written to the store before the answer."""
    SPOOLED = "spooled"
    """On the fsynced on-disk spool: survives a crash and is written when the store takes it."""
    QUEUED = "queued"
    """In memory only: written later, lost if the process dies before that."""
    BUSY = "busy"
    """The buffer is full while the store keeps up: the client should slow down (429)."""
    UNAVAILABLE = "unavailable"
    """The store is down and nowhere is left to keep the batch (503)."""
    TOO_LARGE = "too_large"
    """Larger than the whole buffer: it can never be accepted, retrying is pointless (413)."""
    CLOSED = "closed"
    """The sink is shutting down (503)."""

    @property
    def accepted(self) -> bool:
        return self in (Admission.STORED, Admission.SPOOLED, Admission.QUEUED)


@dataclass(frozen=True)
class OfferResult:
    """The sink's answer: ``retry_after_s`` is set on refusals worth retrying."""

    admission: Admission
    retry_after_s: float | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.admission.accepted


@runtime_checkable
class AdmittingSink(Protocol):
    """A sink that accepts a batch only when it can keep it.

    ``durable=True`` asks the sink to answer only once the batch is stored or on the fsynced
    spool (or with a refusal), waiting at most ``timeout_s``; without a spool the best it can
    answer is ``QUEUED``.
    """

    def offer(self, metrics_data: MetricsData, *, durable: bool = False, timeout_s: float = 10.0) -> OfferResult: ...
