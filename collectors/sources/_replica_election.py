"""Which of several identical replicas reports series that every replica exposes.

Why: KubeVirt runs its VM and VMI collectors in every virt-controller replica, so each
replica's scrape carries the same ``kubevirt_vm_info`` series. Stored as they are, every
VM would be counted once per replica. Deduplicating inside one scrape cannot help (each
scrape holds one copy); the scrapes of all replicas must agree on one reporter.

The rule: within a group (one KubeVirt install), the live member with the smallest key
reports; a member is live while it was seen within ``stale_after_s``. It is sticky — the
same replica reports scrape after scrape, so series keep one ``service.instance.id`` — and
it heals by itself: when the reporter stops answering, it ages out and the next replica
takes over, after at most ``stale_after_s`` without VM series. The cost of having no
coordination: in the first round after start, a replica that is scraped before a smaller
one reports once too, so one scrape interval may count a VM twice.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Hashable

__all__ = ["ReplicaElection"]


class ReplicaElection:
    def __init__(self, stale_after_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stale_after_s = stale_after_s
        self._clock = clock
        self._last_seen: dict[Hashable, dict[str, float]] = {}
        self._lock = threading.Lock()

    def is_reporter(self, group: Hashable, member: str, stale_after_s: float | None = None) -> bool:
        """Record that ``member`` answered now; True when it is the group's reporter."""
        horizon = self.stale_after_s if stale_after_s is None else stale_after_s
        now = self._clock()
        with self._lock:
            members = self._last_seen.setdefault(group, {})
            members[member] = now
            for other, seen in list(members.items()):
                if now - seen > horizon:
                    del members[other]
            return member == min(members)
