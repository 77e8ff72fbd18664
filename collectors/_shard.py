"""Sharing targets between identical collector replicas: each keeps the targets in its bucket.

Why a hash of the target and not a list per replica: replicas of one StatefulSet run the
same configuration and discover the same targets, so each must decide on its own, with no
coordination, which targets are its. Prometheus does this with ``hashmod`` relabeling
(``modulus: N`` on the address, keep the bucket equal to the replica's number); this module
does the same with SHA-256 of the target's job and URL. SHA-256 (not Python's ``hash()``,
which is salted per process) makes the assignment the same in every process and after
every restart, so a target stays with one replica and its series state stays there too.

Nothing about the replica reaches the data: the shard only decides who scrapes a target,
never how its series are named (``service.instance.id`` stays the target's instance).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ._target import ScrapeTarget

__all__ = ["TargetShard", "shard_identity", "shard_of"]


def shard_identity(target: ScrapeTarget) -> str:
    """What is hashed to place ``target``: its job and URL, or its source's group.

    Job and URL: two entries for one endpoint under one job are one target (the identity the
    scraper keys series state by), so they land in the same bucket wherever they were
    configured or discovered. A source whose targets depend on each other (KubeVirt elects
    one virt-controller per install to report VM series) names a group instead
    (:meth:`Source.shard_group`), and the whole group lands in one bucket.
    """
    from .sources import SOURCES

    source = SOURCES.get(target.source)
    group = source.shard_group(target) if source is not None else None
    if group is not None:
        return f"group\x00{target.source}\x00{group}"
    return f"{target.job}\x00{target.url}"


def shard_of(target: ScrapeTarget, count: int) -> int:
    """The bucket (``0 <= bucket < count``) that scrapes ``target`` among ``count`` replicas:
    the first 8 bytes of SHA-256 of :func:`shard_identity`, big-endian, modulo ``count``."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, not {count}")
    digest = hashlib.sha256(shard_identity(target).encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class TargetShard:
    """Replica ``index`` of ``count``: keeps the targets whose bucket is ``index``.

    ``TargetShard()`` (1 of 1) keeps every target, which is what a single collector does.
    """

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard index {self.index} of {self.count}: the index must be in 0..count-1")

    @property
    def is_whole(self) -> bool:
        """True when this replica scrapes every target (no sharing)."""
        return self.count == 1

    def owns(self, target: ScrapeTarget) -> bool:
        return self.is_whole or shard_of(target, self.count) == self.index

    def select(self, targets: Iterable[ScrapeTarget]) -> tuple[ScrapeTarget, ...]:
        """The targets this replica scrapes, in their given order."""
        return tuple(t for t in targets if self.owns(t))

    def __str__(self) -> str:
        return f"shard {self.index} of {self.count}"
