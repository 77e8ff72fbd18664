"""Discovered targets shared between replicas: each refresh re-shards what discovery found,
the replicas together scrape every target once, and a target that stays keeps its replica."""

from __future__ import annotations

import asyncio

from collectors import ScrapeTarget, TargetShard
from collectors.discovery import DiscoveredTargets, default_rules

from test_kubernetes import cluster, discovery_for  # noqa: F401  (the local API server fixture)

COUNT = 3


def replicas(cluster, tmp_path, static: list[ScrapeTarget]) -> list[DiscoveredTargets]:  # noqa: F811
    """``COUNT`` replicas, each with its own discovery of the same cluster, as in a StatefulSet."""
    return [
        DiscoveredTargets(
            discovery_for(cluster, default_rules(), tmp_path / str(index)),
            static_targets=static,
            interval_s=3600,
            shard=TargetShard(index, COUNT),
        )
        for index in range(COUNT)
    ]


def refresh_all(sharded: list[DiscoveredTargets]) -> list[set[tuple[str, str, str]]]:
    for replica in sharded:
        asyncio.run(replica.refresh())
    return [{t.key for t in replica()} for replica in sharded]


def assert_partition(shares: list[set[tuple[str, str, str]]], everything: set[tuple[str, str, str]]) -> None:
    assert set().union(*shares) == everything, "a target no replica scrapes"
    assert sum(len(s) for s in shares) == len(everything), "a target two replicas scrape"


def test_each_refresh_shares_the_discovered_and_static_targets_between_the_replicas(cluster, tmp_path):  # noqa: F811
    static = [ScrapeTarget(f"http://10.0.9.{i}:9100/metrics", job="node") for i in range(6)]
    unsharded = DiscoveredTargets(discovery_for(cluster, default_rules(), tmp_path / "all"), static_targets=static)
    sharded = replicas(cluster, tmp_path, static)

    asyncio.run(unsharded.refresh())
    before = {t.key for t in unsharded()}
    shares = refresh_all(sharded)
    assert len(before) > 2 * COUNT
    assert_partition(shares, before)
    assert sum(1 for s in shares if s) > 1, "every target in one replica"

    cluster.set_pods("pods_mayastor_after_rollout.json", "pods_kuma_workloads.json")
    asyncio.run(unsharded.refresh())
    after = {t.key for t in unsharded()}
    assert after != before
    moved_shares = refresh_all(sharded)
    assert_partition(moved_shares, after)
    # A target discovered both times stays with its replica: its series state stays there.
    for old, new in zip(shares, moved_shares):
        assert old & after <= new
