"""``build_collect`` with shard settings: the loop scrapes only this replica's targets,
static ones at start and discovered ones after every refresh.

The expected bucket is computed here from the documented rule (SHA-256 of job, NUL, URL;
the first 8 bytes big-endian, modulo the count), not by the code under test.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from pathlib import Path

import pytest

from omni_telemetry._wiring import build_collect
from omni_telemetry.settings import load_settings

sys.path.insert(0, str(Path(__file__).parents[1] / "collectors" / "discovery"))
from test_kubernetes import ApiServerState, api_server  # noqa: E402  (the local API server)

COUNT = 3


def bucket(job: str, url: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{job}\x00{url}".encode()).digest()[:8], "big") % count


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OMNI_"):
            monkeypatch.delenv(name)


def static_targets() -> list[dict[str, str]]:
    return [{"url": f"http://10.0.{i // 10}.{i}:9502/metrics", "source": "mayastor"} for i in range(30)]


def test_each_replica_scrapes_only_its_share_of_the_static_targets(tmp_path: Path) -> None:
    configured = static_targets()
    shares = []
    for index in range(COUNT):
        settings = load_settings(
            storage_dsn=f"chdb://{tmp_path / 'data'}", targets=configured, shard_count=COUNT, shard_index=index
        )
        urls = [t.url for t in build_collect(settings).loop.targets()]
        assert urls == [t["url"] for t in configured if bucket("mayastor", t["url"], COUNT) == index]
        shares.append(urls)
    assert sorted(u for share in shares for u in share) == sorted(t["url"] for t in configured)
    assert all(shares), "a replica with nothing to scrape out of 30 targets"


def test_a_single_collector_scrapes_every_static_target(tmp_path: Path) -> None:
    configured = static_targets()
    settings = load_settings(storage_dsn=f"chdb://{tmp_path / 'data'}", targets=configured)
    assert [t.url for t in build_collect(settings).loop.targets()] == [t["url"] for t in configured]


def test_each_replica_scrapes_only_its_share_of_the_discovered_targets(tmp_path: Path, data_dir: Path) -> None:
    state = ApiServerState(data_dir)
    state.set_pods("pods_mayastor.json", "pods_kuma_workloads.json")
    state.slices = state.load("endpointslices.json")["items"]
    state.objects[("services", "kuma-system", "kuma-control-plane")] = state.load("service_kuma_control_plane.json")
    with api_server(state) as url:
        found: list[set[tuple[str, str]]] = []
        everything: set[tuple[str, str]] = set()
        for index in range(COUNT):
            settings = load_settings(
                storage_dsn=f"chdb://{tmp_path / 'data'}",
                discovery_enabled=True,
                discovery_mode="url",
                discovery_api_url=url,
                discovery_sources=["mayastor", "kuma-dp", "kuma-api"],
                discovery_ca_dir=str(tmp_path / "ca"),
                shard_count=COUNT,
                shard_pod_name=f"omni-collector-{index}",
            )
            process = build_collect(settings)
            assert list(process.loop.targets()) == []  # nothing before the first refresh
            result = asyncio.run(process.discovered.refresh())
            everything |= {(t.job, t.url) for t in result.targets}
            scraped = {(t.job, t.url) for t in process.loop.targets()}
            assert scraped == {(t.job, t.url) for t in result.targets if bucket(t.job, t.url, COUNT) == index}
            found.append(scraped)
    assert len(everything) > COUNT
    assert set().union(*found) == everything and sum(map(len, found)) == len(everything)


def test_the_stored_series_do_not_say_which_replica_scraped_them(tmp_path: Path) -> None:
    """A target scraped by its replica yields the same resource and point attributes as when
    one collector scrapes everything: moving a target between replicas keeps its series."""
    from http_targets import Answer, http_target

    body = b"# TYPE requests_total counter\nrequests_total{pool=\"p1\"} 3\n# TYPE temp gauge\ntemp{node=\"n1\"} 21.5\n"
    with http_target(Answer(body=body)) as server:
        configured = [{"url": f"{server.url}/metrics", "source": "prometheus", "job": f"job-{i}"} for i in range(6)]

        def identities(**shard: object) -> dict[str, list]:
            settings = load_settings(storage_dsn=f"chdb://{tmp_path / 'data'}", targets=configured, **shard)
            loop = build_collect(settings).loop
            out = {}
            for target in loop.targets():
                result = asyncio.run(loop.scraper.scrape(target))
                assert result.up, result.error
                resource = dict(result.resource_metrics.resource.attributes)
                points = sorted(
                    (metric.name, tuple(sorted(dict(point.attributes).items())))
                    for scope in result.resource_metrics.scope_metrics
                    for metric in scope.metrics
                    for point in metric.data.data_points
                )
                out[target.job] = [resource, points]
            return out

        whole = identities()
        by_replica: dict[str, list] = {}
        for index in range(COUNT):
            by_replica |= identities(shard_count=COUNT, shard_pod_name=f"omni-collector-{index}")
    assert by_replica == whole
    assert all(resource["service.instance.id"] == server.url.removeprefix("http://") for resource, _ in whole.values())
