"""Mayastor's control-plane REST API through the mayastor-api source."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from collectors import ScrapeTarget
from collectors.sources.mayastor_api import MayastorApiSource
from http_targets import Answer, http_target

JSON = "application/json"


def rest_api(data_dir, broken=()):
    def answer(path):
        parts = urlsplit(path)
        name = parts.path.rsplit("/", 1)[-1]
        if name in broken:
            return Answer(b'{"details":"gRPC request to core agent failed","kind":"Unavailable"}', 503, JSON)
        if name == "volumes":
            query = parse_qs(parts.query)
            page = "2" if query.get("starting_token") == ["2"] else "1"
            return Answer((data_dir / f"mayastor_api/volumes_page{page}.json").read_bytes(), 200, JSON)
        file = data_dir / f"mayastor_api/{name}.json"
        if parts.path.startswith("/v0/") and file.exists():
            return Answer(file.read_bytes(), 200, JSON)
        return Answer(b'{"details":"not found","kind":"NotFound"}', 404, JSON)

    return http_target(answer)


def current(points, key):
    return {a[key]: a.get("status", a.get("state")) for a, v in points if v == 1.0}


def test_pools_nodes_volumes_and_nexuses_become_state_gauges(data_dir, scrape_once, points_of):
    with rest_api(data_dir) as server:
        result = scrape_once(MayastorApiSource(), ScrapeTarget(server.url, source="mayastor-api"))
        volume_queries = [parse_qs(urlsplit(p).query) for p, _ in server.requests if "/volumes" in p]
    assert result.up and result.warnings == (), (result.error, result.warnings)
    assert current(points_of(result, "mayastor_node_status"), "node") == {
        "worker-1": "online", "worker-2": "online", "worker-3": "offline",
    }
    assert current(points_of(result, "mayastor_node_cordon_state"), "node") == {
        "worker-1": "uncordoned", "worker-2": "cordoned", "worker-3": "draining",
    }
    # pool-worker-3 has a spec but no state (its node is offline): unknown, not healthy.
    assert current(points_of(result, "mayastor_pool_status"), "pool") == {
        "pool-worker-1": "online", "pool-worker-2": "degraded", "pool-worker-3": "unknown",
    }
    committed = {a["pool"]: v for a, v in points_of(result, "mayastor_pool_committed_bytes")}
    assert committed == {"pool-worker-1": 536870912000.0, "pool-worker-2": 429496729600.0}
    # Volumes came in two pages: max_entries, then starting_token from next_token.
    assert volume_queries[0] == {"max_entries": ["200"]} and volume_queries[1]["starting_token"] == ["2"]
    volumes = current(points_of(result, "mayastor_volume_status"), "pv_name")
    assert volumes == {
        "pvc-0c08667c-8b6d-4ad6-a00b-71f0e0f7d6a1": "online",
        "pvc-7e3f9a2b-0d4c-4f5e-8a6b-1c2d3e4f5a6b": "degraded",
        "pvc-f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9": "faulted",
    }
    assert len(points_of(result, "mayastor_volume_status")) == 3 * 5  # every state, one-hot


def test_replica_counts_and_rebuild_progress_of_a_degraded_volume(data_dir, scrape_once, points_of):
    with rest_api(data_dir) as server:
        result = scrape_once(MayastorApiSource(), ScrapeTarget(f"{server.url}/v0", source="mayastor-api"))
    degraded = "7e3f9a2b-0d4c-4f5e-8a6b-1c2d3e4f5a6b"
    faulted = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"

    def of(name):
        return {a["volume"]: v for a, v in points_of(result, name)}

    assert of("mayastor_volume_replicas")[degraded] == 2.0
    assert of("mayastor_volume_replicas_desired")[degraded] == 2.0
    assert of("mayastor_volume_replicas_online")[faulted] == 0.0
    (rebuild,) = points_of(result, "mayastor_volume_rebuild_progress_ratio")
    assert rebuild == (
        {"volume": degraded, "pv_name": f"pvc-{degraded}", "replica": "9a1b2c3d-4444-4e5f-8a9b-bbbbbbbbbbb2",
         "node": "worker-2", "pool": "pool-worker-2"},
        0.45,
    )
    nexus = current(points_of(result, "mayastor_nexus_status"), "nexus")
    assert nexus[degraded] == "degraded"
    (child,) = points_of(result, "mayastor_nexus_child_rebuild_progress_ratio")
    assert child[1] == 0.45 and child[0]["child"].startswith("nvmf://10.0.0.12:8420/")


def test_a_failing_part_sets_its_up_to_0_with_the_reason_and_keeps_the_others(data_dir, scrape_once, points_of):
    with rest_api(data_dir, broken=("volumes",)) as server:
        result = scrape_once(MayastorApiSource(), ScrapeTarget(server.url, source="mayastor-api"))
    assert result.up
    up = {a["part"]: v for a, v in points_of(result, "mayastor_api_up")}
    assert up == {"nodes": 1.0, "pools": 1.0, "volumes": 0.0, "nexuses": 1.0}
    assert any("volumes" in w and "HTTP 503" in w and "core agent" in w for w in result.warnings)
    assert points_of(result, "mayastor_volume_status") == []
    assert len(points_of(result, "mayastor_pool_status")) == 3 * 5


def test_all_parts_failing_fails_the_scrape(data_dir, scrape_once):
    with rest_api(data_dir, broken=("nodes", "pools", "volumes", "nexuses")) as server:
        result = scrape_once(MayastorApiSource(), ScrapeTarget(server.url, source="mayastor-api"))
    assert not result.up and "no part of the Mayastor API could be read" in result.error


def test_an_answer_of_the_wrong_shape_is_a_clear_part_failure(scrape_once, points_of):
    def answer(path):
        if path.startswith("/v0/nodes"):
            return Answer(b'{"entries": []}', 200, JSON)  # an object where a list is documented
        return Answer(b"[]", 200, JSON)

    with http_target(answer) as server:
        result = scrape_once(MayastorApiSource(), ScrapeTarget(server.url, source="mayastor-api"))
    up = {a["part"]: v for a, v in points_of(result, "mayastor_api_up")}
    assert up["nodes"] == 0.0 and up["pools"] == 1.0
    assert any("unknown answer shape" in w and "nodes" in w for w in result.warnings)


def test_a_url_naming_one_collection_reads_only_that(data_dir, scrape_once, points_of):
    with rest_api(data_dir) as server:
        result = scrape_once(MayastorApiSource(), ScrapeTarget(f"{server.url}/v0/pools", source="mayastor-api"))
        paths = {urlsplit(p).path for p, _ in server.requests}
    assert paths == {"/v0/pools"}
    assert [a["part"] for a, _ in points_of(result, "mayastor_api_up")] == ["pools"]
