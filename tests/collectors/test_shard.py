"""Sharing targets between replicas: every target in exactly one shard, the same one in
every process, and the buckets about even."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from collectors import ScrapeTarget, TargetShard, shard_of

_jobs = st.sampled_from(["mayastor", "envoy", "kuma-dp", "kubevirt", "custom job"])
_hosts = st.from_regex(r"10\.244\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True)
_ports = st.integers(min_value=1, max_value=65535)
_paths = st.sampled_from(["/metrics", "/stats/prometheus", "/v0/pools", "/stats"])


@st.composite
def targets(draw: st.DrawFn) -> list[ScrapeTarget]:
    found = draw(
        st.lists(st.tuples(_jobs, _hosts, _ports, _paths), max_size=40, unique_by=lambda t: (t[0], t[1], t[2], t[3]))
    )
    return [ScrapeTarget(f"http://{host}:{port}{path}", source="prometheus", job=job) for job, host, port, path in found]


@given(targets(), st.integers(min_value=1, max_value=16))
@settings(max_examples=200, deadline=None)
def test_the_shards_partition_any_set_of_targets(found: list[ScrapeTarget], count: int) -> None:
    shards = [TargetShard(index, count).select(found) for index in range(count)]
    kept = [t.key for shard in shards for t in shard]
    assert sorted(kept) == sorted(t.key for t in found), "a target missing or in two shards"
    for index, shard in enumerate(shards):
        assert all(shard_of(t, count) == index for t in shard)


def test_one_shard_of_one_keeps_every_target_in_order() -> None:
    found = [ScrapeTarget(f"http://10.0.0.{i}:9502/metrics", source="mayastor") for i in range(20)]
    assert TargetShard().select(found) == tuple(found)


def test_the_buckets_are_about_even() -> None:
    found = [ScrapeTarget(f"http://10.244.{i // 250}.{i % 250}:5670/metrics", source="kuma-dp") for i in range(3000)]
    sizes = [len(TargetShard(index, 3).select(found)) for index in range(3)]
    assert sum(sizes) == 3000
    assert all(900 <= size <= 1100 for size in sizes), sizes


def test_job_and_url_together_pick_the_bucket() -> None:
    """The same endpoint under two jobs is two targets and may land in two buckets; one
    endpoint under one job lands in one bucket whatever its other settings."""
    url = "http://10.0.0.5:9502/metrics"
    jobs = [f"job-{i}" for i in range(64)]
    assert len({shard_of(ScrapeTarget(url, job=job), 8) for job in jobs}) > 1
    plain = ScrapeTarget(url, source="mayastor", job="mayastor")
    dressed = ScrapeTarget(url, source="mayastor", job="mayastor", timeout_s=3, resource={"k8s.pod.name": "p"})
    assert shard_of(plain, 8) == shard_of(dressed, 8)


_CHILD = """
import json, sys
from collectors import ScrapeTarget, shard_of
pairs = json.load(sys.stdin)
print(json.dumps([shard_of(ScrapeTarget(url, job=job), count) for job, url, count in pairs]))
"""


@pytest.mark.parametrize("seed", ["0", "12345"])
def test_another_process_assigns_every_target_to_the_same_shard(seed: str) -> None:
    """A restarted replica (a new process, another hash salt) keeps the same targets."""
    pairs = [(job, f"http://10.244.{i % 7}.{i}:{9000 + i}/metrics", count) for i in range(200) for job, count in (("mayastor", 3), ("kuma-dp", 5))]
    here = [shard_of(ScrapeTarget(url, job=job), count) for job, url, count in pairs]
    child = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(child.stdout) == here
    assert len(set(here)) > 1


@pytest.mark.parametrize(("index", "count"), [(3, 3), (-1, 3), (0, 0)])
def test_an_index_outside_the_count_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="0..count-1"):
        TargetShard(index, count)


def test_the_kubevirt_targets_of_one_install_stay_on_one_replica() -> None:
    """KubeVirt elects one virt-controller per install to report VM series; replicas that
    each saw part of the install would elect several and count every VM more than once."""
    install = [
        ScrapeTarget(f"https://10.244.{i}.7:8443/metrics", source="kubevirt", resource={"k8s.cluster.name": "prod"})
        for i in range(24)
    ]
    for count in (2, 3, 5):
        holders = [index for index in range(count) if TargetShard(index, count).select(install)]
        assert len(holders) == 1 and TargetShard(holders[0], count).select(install) == tuple(install)
    # Two installs (explicit replica groups) are two groups, placed independently.
    groups = [
        ScrapeTarget("https://10.244.0.7:8443/metrics", source="kubevirt", options={"replica_group": f"install-{n}"})
        for n in range(32)
    ]
    assert len({shard_of(t, 4) for t in groups}) > 1
    # Other sources' targets on the same addresses are spread, not grouped.
    plain = [ScrapeTarget(t.url, source="prometheus", job="kubevirt") for t in install]
    assert len({shard_of(t, 3) for t in plain}) > 1
