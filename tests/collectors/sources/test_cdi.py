"""CDI's operator/controller metrics through the cdi source."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import Gauge

from collectors import ScrapeTarget
from collectors.exposition import parse_exposition
from collectors.sources.cdi import CdiSource
from http_targets import Answer, http_target


def test_operator_metrics_convert_and_identify_cdi(data_dir, scrape_once, points_of):
    body = (data_dir / "cdi/cdi_operator_metrics_synthesized.prom").read_bytes()
    with http_target(Answer(body)) as server:
        result = scrape_once(CdiSource(), ScrapeTarget(f"{server.url}/metrics", source="cdi"))
    assert result.up and result.warnings == ()
    assert points_of(result, "kubevirt_cdi_cr_ready") == [({}, 1.0)]
    (profile,) = points_of(result, "kubevirt_cdi_storageprofile_info")
    assert profile[0]["storageclass"] == "mayastor" and profile[0]["rwx"] == "false"


def test_importer_progress_percentage_is_a_gauge_not_a_cumulative_sum(data_dir, scrape_once, points_of):
    body = (data_dir / "cdi/cdi_importer_pod_progress.prom").read_bytes()
    with http_target(Answer(body)) as server:
        result = scrape_once(CdiSource(), ScrapeTarget(f"{server.url}/metrics", source="cdi"))
    metrics = {m.name: m for s in result.resource_metrics.scope_metrics for m in s.metrics}
    assert isinstance(metrics["kubevirt_cdi_import_progress_total"].data, Gauge)
    assert points_of(result, "kubevirt_cdi_import_progress_total") == [
        ({"ownerUID": "b856691e-1038-11e9-a5ab-525500d15501"}, 13.45)
    ]


def test_kubevirt_metrics_on_the_cdi_port_are_the_wrong_source(data_dir):
    kubevirt = parse_exposition((data_dir / "kubevirt/virt_controller_metrics_synthesized.prom").read_bytes())
    assert CdiSource().missing_families(kubevirt) == sorted(CdiSource.expected_families)
