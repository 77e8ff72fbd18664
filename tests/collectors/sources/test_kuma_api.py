"""Kuma's control plane API through the kuma-api source: status rule, pagination, versions, errors."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from collectors import ScrapeTarget
from collectors.sources._kuma_status import UnknownShape, dataplane_status, service_statuses
from collectors.sources.kuma_api import KumaApiSource
from http_targets import Answer, http_target

JSON = "application/json"
NOT_FOUND = Answer(b'{"title":"Not found","details":"Requested resource not found"}', 404, JSON)


def load(data_dir, name):
    return json.loads((data_dir / "kuma" / name).read_text())


def json_answer(document, status=200):
    return Answer(json.dumps(document).encode(), status, JSON)


def kuma_api(routes):
    """A local Kuma API: path (without query) -> Answer; anything else is Kuma's 404."""

    def answer(path):
        parts = urlsplit(path)
        key = parts.path + (f"?{parts.query}" if f"{parts.path}?{parts.query}" in routes else "")
        return routes.get(key, routes.get(parts.path, NOT_FOUND))

    return http_target(answer)


def scrape(scrape_once, server, options=None, path=""):
    target = ScrapeTarget(f"{server.url}{path}", source="kuma-api", options=options or {})
    return scrape_once(KumaApiSource(), target)


def statuses(points):
    """{(mesh, name): status} from the one-hot kuma_dataplane_status points."""
    return {(a["mesh"], a["name"]): a["status"] for a, v in points if v == 1.0}


def test_dataplane_status_follows_kumas_rule_and_services_are_derived_when_insights_404(
    data_dir, scrape_once, points_of
):
    routes = {
        "/meshes": json_answer({"total": 1, "items": [{"type": "Mesh", "name": "mesh1"}], "next": None}),
        "/mesh-insights": json_answer({"total": 0, "items": [], "next": None}),
        "/meshes/mesh1/dataplanes/_overview": json_answer(load(data_dir, "kuma_api_dataplanes_insights_list.golden.json")),
    }
    with kuma_api(routes) as server:
        result = scrape(scrape_once, server)
    assert result.up, result.error
    got = statuses(points_of(result, "kuma_dataplane_status"))
    assert got == {
        ("mesh1", "dp-1"): "online",  # connected, its one inbound ready
        ("mesh1", "dp-no-insights"): "offline",  # no insight: never connected
        ("mesh1", "gateway-delegated"): "online",  # gateway: connection alone decides
    }
    # Every state has a series, so "how many offline" is a sum and a change leaves nothing stale.
    assert len(points_of(result, "kuma_dataplane_status")) == 3 * 3
    gateway = [a for a, v in points_of(result, "kuma_dataplane_status") if a["name"] == "gateway-delegated"][0]
    assert gateway["gateway"] == "true" and gateway["service"] == "gateway"
    # /service-insights answered 404 (Kuma 3.x): service status comes from the proxies.
    services = {(a["service"], a["status"], a["origin"]) for a, v in points_of(result, "kuma_service_status") if v}
    assert services == {("gateway", "online", "dataplanes")}
    mesh_counts = {a["status"]: v for a, v in points_of(result, "kuma_mesh_dataplanes")}
    assert mesh_counts == {"online": 2.0, "partially_degraded": 0.0, "offline": 1.0}
    assert all(v == 1.0 for _, v in points_of(result, "kuma_api_up"))


def test_overview_pages_are_followed_through_next_on_the_targets_own_host(data_dir, scrape_once, points_of):
    first = load(data_dir, "kuma_docs_dataplane_overviews_list.json")  # next: http://localhost:5681/...?offset=1
    second_item = {
        "type": "DataplaneOverview",
        "mesh": "default",
        "name": "backend-2",
        "dataplane": {
            "networking": {
                "address": "10.0.0.8",
                "inbound": [
                    {"port": 8080, "tags": {"kuma.io/service": "backend", "kuma.io/zone": "east"}},
                    {"port": 9090, "tags": {"kuma.io/service": "backend-admin"}, "health": {"ready": False}},
                ],
            }
        },
        "dataplaneInsight": {"subscriptions": [{"id": "s", "connectTime": "2024-01-01T00:00:00Z"}]},
    }
    routes = {
        "/meshes/default/dataplanes+insights": json_answer(first),
        "/meshes/default/dataplanes+insights?offset=1": json_answer({"total": 2, "items": [second_item], "next": None}),
    }
    with kuma_api(routes) as server:
        result = scrape(scrape_once, server, {"meshes": "default"})
        requested = [urlsplit(path).path for path, _ in server.requests]
    assert result.up, result.error
    # Kuma older than 2.5 answers 404 on _overview: the older path is used.
    overview_paths = [p for p in requested if "/dataplanes" in p]
    assert overview_paths[:2] == ["/meshes/default/dataplanes/_overview", "/meshes/default/dataplanes+insights"]
    got = statuses(points_of(result, "kuma_dataplane_status"))
    assert got == {("default", "example"): "online", ("default", "backend-2"): "partially_degraded"}
    ready = {a["name"]: v for a, v in points_of(result, "kuma_dataplane_inbounds_ready")}
    total = {a["name"]: v for a, v in points_of(result, "kuma_dataplane_inbounds")}
    assert (ready["backend-2"], total["backend-2"]) == (1.0, 2.0)
    zone = [a["zone"] for a, _ in points_of(result, "kuma_dataplane_inbounds") if a["name"] == "backend-2"]
    assert zone == ["east"]
    # A partially degraded proxy counts as offline for its services (Kuma's rule).
    derived = {(a["service"], a["status"]): v for a, v in points_of(result, "kuma_service_dataplanes")}
    assert derived[("backend", "online")] == 1.0 and derived[("backend", "offline")] == 1.0
    partially = [a["service"] for a, v in points_of(result, "kuma_service_status") if v and a["status"] == "partially_degraded"]
    assert partially == ["backend"]


def test_service_and_mesh_insights_are_used_when_the_control_plane_computes_them(data_dir, scrape_once, points_of):
    routes = {
        "/meshes": json_answer({"items": [{"name": "mesh-1"}], "next": None}),
        "/mesh-insights": json_answer(load(data_dir, "kuma_api_mesh_insights_list.golden.json")),
        "/meshes/mesh-1/dataplanes/_overview": json_answer({"total": 0, "items": [], "next": None}),
        "/meshes/mesh-1/service-insights": json_answer(load(data_dir, "kuma_api_service_insights_list.golden.json")),
    }
    with kuma_api(routes) as server:
        result = scrape(scrape_once, server)
    assert result.up, result.error
    mesh = {(a["status"], a["origin"]): v for a, v in points_of(result, "kuma_mesh_dataplanes")}
    assert mesh == {("online", "mesh_insight"): 90.0, ("partially_degraded", "mesh_insight"): 0.0, ("offline", "mesh_insight"): 10.0}
    frontend = {a["status"]: v for a, v in points_of(result, "kuma_service_dataplanes") if a["service"] == "frontend"}
    assert frontend == {"online": 70.0, "offline": 30.0}
    current = {a["service"]: (a["status"], a["origin"]) for a, v in points_of(result, "kuma_service_status") if v}
    assert current == {
        "backend": ("partially_degraded", "service_insight"),
        "frontend": ("partially_degraded", "service_insight"),
    }


def test_an_empty_service_insight_list_while_proxies_have_services_is_derived_from_proxies(scrape_once, points_of):
    overview = {
        "items": [
            {
                "mesh": "default",
                "name": f"web-{i}",
                "dataplane": {"networking": {"inbound": [{"port": 80, "tags": {"kuma.io/service": "web"}}]}},
                "dataplaneInsight": {
                    "subscriptions": [
                        {"connectTime": "2025-01-01T00:00:00Z", **({"disconnectTime": "2025-01-02T00:00:00Z"} if i else {})}
                    ]
                },
            }
            for i in range(2)
        ],
        "next": None,
    }
    routes = {
        "/meshes/default/dataplanes/_overview": json_answer(overview),
        "/meshes/default/service-insights": json_answer({"total": 0, "items": [], "next": None}),
        "/mesh-insights": json_answer({"total": 0, "items": [], "next": None}),
    }
    with kuma_api(routes) as server:
        result = scrape(scrape_once, server, {"meshes": "default"})
    assert statuses(points_of(result, "kuma_dataplane_status")) == {
        ("default", "web-0"): "online",
        ("default", "web-1"): "offline",  # its only subscription was disconnected
    }
    web = [(a["status"], a["origin"]) for a, v in points_of(result, "kuma_service_status") if v]
    assert web == [("partially_degraded", "dataplanes")]


def test_a_failing_part_reports_up_0_with_the_apis_reason_and_the_rest_is_kept(data_dir, scrape_once, points_of):
    error = {"title": "Could not list mesh insights", "details": "store: context deadline exceeded"}
    routes = {
        "/meshes": json_answer({"items": [{"name": "mesh1"}], "next": None}),
        "/mesh-insights": json_answer(error, 500),
        "/meshes/mesh1/dataplanes/_overview": json_answer(load(data_dir, "kuma_api_dataplanes_insights_list.golden.json")),
        "/meshes/mesh1/service-insights": json_answer({"items": [], "next": None}),
    }
    with kuma_api(routes) as server:
        result = scrape(scrape_once, server)
    assert result.up
    up = {a["part"]: v for a, v in points_of(result, "kuma_api_up")}
    assert up == {"mesh_insights": 0.0, "meshes": 1.0, "dataplanes": 1.0, "service_insights": 1.0}
    assert any("mesh_insights" in w and "HTTP 500" in w and "context deadline exceeded" in w for w in result.warnings)
    assert len(statuses(points_of(result, "kuma_dataplane_status"))) == 3
    # Mesh counts still come, derived from the proxies.
    assert {a["origin"] for a, _ in points_of(result, "kuma_mesh_dataplanes")} == {"dataplanes"}


@pytest.mark.parametrize(
    "answer, reason",
    [
        (json_answer([{"name": "dp"}]), "unknown answer shape"),
        (json_answer({"data": []}), "unknown answer shape"),
        (json_answer({"items": [{"mesh": "m", "name": "dp", "dataplane": {"networking": {"inbound": "8080"}}}]}), "not a list"),
        (Answer(b"<html>502 Bad Gateway</html>", 200, "text/html"), "not JSON"),
    ],
)
def test_unknown_shapes_fail_the_part_with_a_clear_reason_never_a_crash(scrape_once, points_of, answer, reason):
    routes = {
        "/mesh-insights": json_answer({"items": [{"name": "m", "dataplanes": {"total": 1, "online": 1}}], "next": None}),
        "/meshes/m/dataplanes/_overview": answer,
    }
    with kuma_api(routes) as server:
        result = scrape(scrape_once, server, {"meshes": "m"})
    assert result.up  # the mesh insights still answered
    up = {(a["part"], a.get("mesh", "")): v for a, v in points_of(result, "kuma_api_up")}
    assert up[("dataplanes", "m")] == 0.0
    assert any(reason in w for w in result.warnings), result.warnings
    assert points_of(result, "kuma_dataplane_status") == []


def test_nothing_readable_fails_the_scrape_with_every_reason(scrape_once):
    with kuma_api({}) as server:  # every path answers 404
        result = scrape(scrape_once, server)
    assert not result.up
    assert "no part of the Kuma API could be read" in result.error
    assert "mesh_insights" in result.error and "meshes" in result.error and "HTTP 404" in result.error


def test_a_target_naming_an_overview_list_reads_only_that_and_derives_the_rest(data_dir, scrape_once, points_of):
    path = "/meshes/mesh1/dataplanes/_overview"
    routes = {path: json_answer(load(data_dir, "kuma_api_dataplanes_insights_list.golden.json"))}
    with kuma_api(routes) as server:
        result = scrape(scrape_once, server, path=path)
        requested = {urlsplit(p).path for p, _ in server.requests}
    assert result.up and requested == {path}
    assert len(statuses(points_of(result, "kuma_dataplane_status"))) == 3
    assert {a["origin"] for a, _ in points_of(result, "kuma_mesh_dataplanes")} == {"dataplanes"}


def test_dataplane_versions_and_certificate_expiry_are_exported(data_dir, scrape_once, points_of):
    overview = load(data_dir, "kuma_docs_dataplane_overviews_list.json")
    overview["next"] = None
    overview["items"][0]["dataplaneInsight"]["subscriptions"][0]["version"] = {
        "kumaDp": {"version": "2.7.3"},
        "envoy": {"version": "1.29.4"},
    }
    with kuma_api({"/meshes/default/dataplanes/_overview": json_answer(overview)}) as server:
        result = scrape(scrape_once, server, {"meshes": "default"})
    info = points_of(result, "kuma_dataplane_info")
    assert [(a["kuma_dp_version"], a["envoy_version"]) for a, _ in info] == [("2.7.3", "1.29.4")]
    expiry = points_of(result, "kuma_dataplane_cert_expiration_timestamp_seconds")
    # No zone tag: the empty attribute is left out, as the Prometheus receiver drops empty labels.
    assert expiry == [({"mesh": "default", "name": "example", "service": "backend"}, 1571925897.832482)]


def test_wrong_source_warning_when_the_api_port_serves_no_dataplane_status():
    from collectors.exposition import Exposition

    assert KumaApiSource().missing_families(Exposition(families=[])) == ["kuma_api_up", "kuma_dataplane_status"]


# -- Kuma's status rule on single documents ----------------------------------------------------


def overview(inbounds=None, listeners=None, subscriptions=None, gateway=None):
    networking = {}
    if inbounds is not None:
        networking["inbound"] = inbounds
    if listeners is not None:
        networking["listeners"] = listeners
    if gateway is not None:
        networking["gateway"] = gateway
    doc = {"mesh": "m", "name": "dp", "dataplane": {"networking": networking}}
    if subscriptions is not None:
        doc["dataplaneInsight"] = {"subscriptions": subscriptions}
    return doc


CONNECTED = [{"connectTime": "2025-01-01T00:00:00Z"}]


def test_a_proxy_with_no_ready_inbound_is_offline_even_when_connected():
    status = dataplane_status(overview([{"port": 1, "state": "NotReady"}], subscriptions=CONNECTED))
    assert status.status == "offline" and status.reasons == ("inbound[port=1] is not ready",)


def test_zone_proxy_listeners_count_only_when_ready():
    status = dataplane_status(
        overview(listeners=[{"port": 10001, "state": "Ready"}, {"port": 10002, "state": "NotReady"}], subscriptions=CONNECTED)
    )
    assert (status.status, status.ready, status.total) == ("partially_degraded", 1, 2)


def test_a_disconnected_gateway_is_offline_and_a_connected_one_online_whatever_its_inbounds():
    assert dataplane_status(overview(gateway={"tags": {"kuma.io/service": "edge"}})).status == "offline"
    assert dataplane_status(overview(gateway={"tags": {}}, subscriptions=CONNECTED)).status == "online"


def test_a_newer_subscription_stamps_older_ones_and_any_live_one_keeps_the_proxy_online():
    subscriptions = [
        {"connectTime": "2025-01-01T00:00:00Z", "disconnectTime": "2025-01-02T00:00:00Z"},
        {"connectTime": "2025-01-02T00:00:00Z"},
    ]
    assert dataplane_status(overview([{"port": 1}], subscriptions=subscriptions)).status == "online"


def test_service_status_rule_counts_partially_degraded_proxies_as_offline():
    online = dataplane_status(overview([{"port": 1, "tags": {"kuma.io/service": "s"}}], subscriptions=CONNECTED))
    degraded = dataplane_status(
        overview([{"port": 1, "tags": {"kuma.io/service": "s"}}, {"port": 2, "health": {"ready": False}}], subscriptions=CONNECTED)
    )
    (only,) = service_statuses([online, degraded])
    assert (only.status, only.online, only.offline) == ("partially_degraded", 1, 1)
    (none_online,) = service_statuses([degraded])
    assert none_online.status == "offline"


def test_an_overview_that_is_not_an_object_is_an_unknown_shape():
    with pytest.raises(UnknownShape):
        dataplane_status(["not", "an", "overview"])
