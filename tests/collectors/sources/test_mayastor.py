"""Mayastor's io-engine exporter, on captures from every exporter generation."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import Gauge, Sum

from collectors import ScrapeTarget, SeriesTracker, parse_exposition, to_metrics
from collectors.sources.mayastor import POOL_STATES, MayastorExporterSource

T0 = 1_700_000_000_000_000_000
TARGET = ScrapeTarget("http://10.0.0.7:9502/metrics", source="mayastor")


def convert(text: str, tracker: SeriesTracker | None = None, time_ns: int = T0):
    source = MayastorExporterSource()
    exposition = source.normalize(parse_exposition(text), TARGET)
    metrics = to_metrics(
        exposition, scrape_time_ns=time_ns, tracker=tracker if tracker is not None else SeriesTracker(), type_overrides=source.type_overrides
    )
    return source, exposition, {m.name: m for m in metrics}


def test_legacy_disk_pool_names_become_diskpool_names(data_dir):
    text = (data_dir / "mayastor" / "v2_0_disk_pool_legacy_names.prom").read_text()
    _, _, metrics = convert(text)
    assert "disk_pool_status" not in metrics
    status = metrics["diskpool_status"].data.data_points[0]
    assert dict(status.attributes) == {"name": "mayastor-disk-pool", "node": "worker-0", "state": "online"}
    assert metrics["diskpool_total_size_bytes"].data.data_points[0].value == 5.360320512e09


def test_every_generation_exposes_the_expected_pool_families(data_dir):
    for path in sorted((data_dir / "mayastor").glob("*.prom")):
        if "callhome" in path.name:
            continue
        source, exposition, _ = convert(path.read_text())
        assert source.missing_families(exposition) == [], path.name


def test_io_totals_declared_as_gauges_become_monotonic_sums(data_dir):
    text = (data_dir / "mayastor" / "io_engine_exporter_full_sample_website_main.prom").read_text()
    _, _, metrics = convert(text)
    for name in ("diskpool_bytes_read", "volume_num_read_ops", "replica_bytes_read", "volume_read_latency_us"):
        assert isinstance(metrics[name].data, Sum), name
        assert metrics[name].data.is_monotonic
    assert isinstance(metrics["diskpool_used_size_bytes"].data, Gauge)
    assert isinstance(metrics["diskpool_status"].data, Gauge)


def test_io_total_going_down_after_io_engine_restart_starts_new_series(data_dir):
    text = (data_dir / "mayastor" / "io_engine_exporter_full_sample_website_main.prom").read_text()
    tracker = SeriesTracker()
    convert(text, tracker, T0)
    restarted = text.replace("diskpool_bytes_read{name=\"pool-on-node-2-477115\",node=\"node-2-477115\"} 3198976",
                             "diskpool_bytes_read{name=\"pool-on-node-2-477115\",node=\"node-2-477115\"} 4096")
    assert restarted != text
    later = T0 + 15 * 10**9
    _, _, metrics = convert(restarted, tracker, later)
    point = metrics["diskpool_bytes_read"].data.data_points[0]
    assert point.value == 4096 and point.start_time_unix_nano == later
    unchanged = metrics["diskpool_bytes_written"].data.data_points[0]
    assert unchanged.start_time_unix_nano == T0


def test_pool_status_keeps_number_and_adds_state_name():
    lines = "\n".join(
        f'diskpool_status{{name="p{code}",node="n"}} {code}' for code in (0, 1, 2, 3, 4, 7)
    )
    _, _, metrics = convert("# TYPE diskpool_status gauge\n" + lines + "\n")
    states = {p.attributes["name"]: (p.value, p.attributes["state"]) for p in metrics["diskpool_status"].data.data_points}
    for code in (0, 1, 2, 3, 4):
        assert states[f"p{code}"] == (code, POOL_STATES[code])
    assert states["p7"] == (7, "unknown")
    assert POOL_STATES[4] == "suspected"


def test_label_set_with_space_after_comma_is_accepted(data_dir):
    text = (data_dir / "mayastor" / "openebs_docs_4_2_disk_pool_with_committed.prom").read_text()
    _, exposition, metrics = convert(text)
    pools = {p.attributes["name"] for p in metrics["diskpool_used_size_bytes"].data.data_points}
    assert len(pools) >= 1
    assert exposition.dropped == 0
