"""Pre-encoded Native inserts store exactly the rows the plain column path stores.

Every exposition fixture goes through the collectors' steady-state conversion for several
scrapes with changing values, and each scrape is written by a plain writer into one database
and by a pre-encoding writer into another, in the same chDB; the tables are then compared as
RowBinary bytes, ``ORDER BY ALL``.
"""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from collectors.exposition import TargetConverter
from exporters.clickhouse import ClickHouseWriter, MetricKind, SchemaOptions, apply_schema, connect, qualified

DATA = Path(__file__).resolve().parents[2] / "data"


def _fixtures() -> list[Path]:
    """Every Prometheus-text fixture once (tests/data/exposition holds copies of some)."""
    seen: dict[str, Path] = {}
    for path in sorted(DATA.rglob("*.prom")):
        text = path.read_text()
        if "# EOF" not in text:
            seen.setdefault(text, path)
    return list(seen.values())


FIXTURES = _fixtures()
T0 = 1_700_000_000_123_456_789
STEP = 15_000_000_000
_VALUE = re.compile(r"^([^#\n][^\n]* )(\S+)$", re.M)


def evolve(text: str, seed: int) -> str:
    """Same layout, new values: counters grow, some lines reset, a few become -0, NaN or Inf."""
    rng = random.Random(seed)

    def new_value(match: re.Match[str]) -> str:
        try:
            old = float(match.group(2))
        except ValueError:
            return match.group(0)
        if math.isnan(old) or math.isinf(old):
            return match.group(0)
        roll = rng.random()
        if roll < 0.05:
            return f"{match.group(1)}{rng.choice(['-0', '0', 'NaN', '+Inf', '1e-300'])}"
        if roll < 0.1:
            return f"{match.group(1)}{rng.randint(0, 3)}"
        return f"{match.group(1)}{old + rng.randint(0, 50) + rng.random():.17g}"

    return _VALUE.sub(new_value, text)


def batches(path: Path, scrapes: int = 3) -> list[MetricsData]:
    text = path.read_text()
    converter = TargetConverter()
    resource = Resource({"service.name": path.stem, "service.instance.id": "10.0.0.1:9090", "port": 9090})
    scope = InstrumentationScope("omni-telemetry", "1.0")
    out = []
    for i in range(scrapes):
        body = text if i == 0 else evolve(text, i)
        converted = converter.convert(body, "text/plain; version=0.0.4", T0 + i * STEP)
        out.append(MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, converted.metrics, "")], "")]))
    return out


def plain_and_encoded(tmp_path, generation: str = "classic"):
    """One store with two databases of the same layout, one written by the plain column path and
    one by the pre-encoded path, so that their tables can be compared byte for byte."""
    client = connect(f"chdb://{tmp_path}/store")
    plain_options = SchemaOptions(database="plain", generation=generation)
    encoded_options = SchemaOptions(database="encoded", generation=generation)
    apply_schema(client, plain_options)
    apply_schema(client, encoded_options)
    plain = ClickHouseWriter(client, plain_options, pre_encoded=False)
    encoded = ClickHouseWriter(client, encoded_options)
    return client, plain_options, encoded_options, plain, encoded


def table_bytes(client, options: SchemaOptions, kind: MetricKind) -> bytes:
    return client.raw_query(f"SELECT * FROM {qualified(options, kind)} ORDER BY ALL", fmt="RowBinary")


@pytest.mark.parametrize("generation", ["classic", "v2"])
def test_every_fixture_stores_the_same_rows_by_both_paths(tmp_path, generation):
    client, plain_options, encoded_options, plain, encoded = plain_and_encoded(tmp_path, generation)
    for path in FIXTURES:
        for batch in batches(path):
            plain_report = plain.write(batch)
            encoded_report = encoded.write(batch)
            assert {k.split(".")[-1]: v for k, v in encoded_report.rows.items()} == {
                k.split(".")[-1]: v for k, v in plain_report.rows.items()
            }, path.name
    encoder = encoded._encoder
    assert encoder is not None
    # The cache was used (most scrapes reuse the layout) and stored something in every table but one.
    assert encoder.hits >= len(FIXTURES), (encoder.hits, encoder.misses)
    stored = 0
    for kind in MetricKind:
        expected = table_bytes(client, plain_options, kind)
        actual = table_bytes(client, encoded_options, kind)
        assert actual == expected, kind
        stored += len(expected)
    assert stored > 0
    count = client.query(f"SELECT count() FROM {qualified(plain_options, MetricKind.HISTOGRAM)}").result_rows[0][0]
    assert count > 0


def test_a_changed_layout_falls_back_and_still_stores_the_same_rows(tmp_path):
    client, plain_options, encoded_options, plain, encoded = plain_and_encoded(tmp_path)
    path = DATA / "exposition" / "envoy_netdata_envoy_front_proxy.prom"
    first, second = batches(path, 2)
    # Same metrics, one label value changed in place on a shared attribute dict.
    metrics = second.resource_metrics[0].scope_metrics[0].metrics
    victim = next(m for m in metrics if m.data.data_points)
    attributes = victim.data.data_points[0].attributes
    for batch in (first, second):
        plain.write(batch)
        encoded.write(batch)
    hits_before = encoded._encoder.hits
    key = next(iter(attributes))
    attributes[key] = attributes[key] + "-changed"  # type: ignore[index]
    plain.write(second)
    encoded.write(second)
    assert encoded._encoder.hits == hits_before  # the mutated dict was noticed
    for kind in MetricKind:
        assert table_bytes(client, encoded_options, kind) == table_bytes(client, plain_options, kind)


def test_segments_the_cache_cannot_serve_share_the_insert_and_store_the_rows_of_the_column_path(tmp_path):
    from test_writer import hand_built  # exemplars, exponential histograms, summaries, several resources

    client, plain_options, encoded_options, plain, encoded = plain_and_encoded(tmp_path)
    path = DATA / "exposition" / "envoy_netdata_envoy_front_proxy.prom"
    odd = hand_built()
    for scrape in batches(path):
        mixed = MetricsData([*scrape.resource_metrics, *odd.resource_metrics])
        odd = MetricsData(list(reversed(odd.resource_metrics)))  # a different order next time
        plain_report = plain.write(mixed, insert_token=None)
        encoded_report = encoded.write(mixed)
        assert encoded_report.skipped_points == plain_report.skipped_points
    encoder = encoded._encoder
    assert encoder is not None and encoder.hits >= 2 and encoder.plain >= 3
    for kind in MetricKind:
        assert table_bytes(client, encoded_options, kind) == table_bytes(client, plain_options, kind), kind
    assert client.query(f"SELECT count() FROM {qualified(encoded_options, MetricKind.EXPONENTIAL_HISTOGRAM)}").result_rows[0][0] > 0


def listed(batch: MetricsData) -> MetricsData:
    """The same batch with every metric's points as a plain list of SDK point objects."""
    from opentelemetry.sdk.metrics.export import Gauge, Metric, Sum

    def relist(metric: Metric) -> Metric:
        data = metric.data
        if isinstance(data, Sum):
            data = Sum(list(data.data_points), data.aggregation_temporality, data.is_monotonic)
        elif isinstance(data, Gauge):
            data = Gauge(list(data.data_points))
        return Metric(metric.name, metric.description, metric.unit, data)

    return MetricsData([
        ResourceMetrics(rm.resource, [
            ScopeMetrics(sm.scope, [relist(m) for m in sm.metrics], sm.schema_url) for sm in rm.scope_metrics
        ], rm.schema_url)
        for rm in batch.resource_metrics
    ])


def with_own_series(batch: MetricsData, flags: int) -> MetricsData:
    """The batch with a gauge of point objects beside the columns, as a scrape adds ``up``."""
    from opentelemetry.sdk.metrics.export import Gauge, Metric

    from omni_core.datamodel import FlaggedNumberDataPoint

    out = []
    for rm in batch.resource_metrics:
        scopes = []
        for sm in rm.scope_metrics:
            time_ns = T0 + len(out) * STEP
            up = Metric("up", "The scraping was successful", "", Gauge([
                FlaggedNumberDataPoint({}, 0, time_ns, 1.0, (), flags),
            ]))
            scopes.append(ScopeMetrics(sm.scope, [*sm.metrics, up], sm.schema_url))
        out.append(ResourceMetrics(rm.resource, scopes, rm.schema_url))
    return MetricsData(out)


def columnar_points(batch: MetricsData) -> int:
    from omni_core.datamodel import NumberPoints

    return sum(
        len(m.data.data_points)
        for rm in batch.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
        if type(m.data.data_points) is NumberPoints
    )


@pytest.mark.parametrize("generation", ["classic", "v2"])
def test_columnar_points_store_the_rows_of_their_point_objects_by_every_path(tmp_path, generation):
    client = connect(f"chdb://{tmp_path}/store")
    names = ("plain", "encoded", "objects")
    options = {name: SchemaOptions(database=name, generation=generation) for name in names}
    for name in names:
        apply_schema(client, options[name])
    plain = ClickHouseWriter(client, options["plain"], pre_encoded=False)
    encoded = ClickHouseWriter(client, options["encoded"])
    objects = ClickHouseWriter(client, options["objects"])
    columnar = 0
    for path in FIXTURES:
        scrapes = batches(path, 4)
        merged = MetricsData([rm for batch in scrapes[1:] for rm in batch.resource_metrics])  # as the queue merges
        for batch in [*scrapes, merged, with_own_series(merged, 0), with_own_series(scrapes[-1], 1)]:
            columnar += columnar_points(batch)
            plain.write(batch)
            encoded.write(batch)
            objects.write(listed(batch))
    assert columnar > 1000  # the steady scrapes did come as columns
    assert encoded._encoder is not None and encoded._encoder.hits >= len(FIXTURES)
    for kind in MetricKind:
        expected = table_bytes(client, options["objects"], kind)
        assert table_bytes(client, options["encoded"], kind) == expected, kind
        assert table_bytes(client, options["plain"], kind) == expected, kind


def test_a_shared_attribute_map_changed_between_batches_is_noticed_in_columnar_points(tmp_path):
    from omni_core.datamodel import NumberPoints

    client, plain_options, encoded_options, plain, encoded = plain_and_encoded(tmp_path)
    path = DATA / "exposition" / "envoy_netdata_envoy_front_proxy.prom"
    scrapes = batches(path, 4)
    assert columnar_points(scrapes[3]) > 0
    for batch in scrapes:
        plain.write(batch)
        encoded.write(batch)
    hits_before = encoded._encoder.hits
    metrics = scrapes[3].resource_metrics[0].scope_metrics[0].metrics
    victim = next(m for m in metrics if type(m.data.data_points) is NumberPoints and len(m.data.data_points))
    attributes = victim.data.data_points.attributes[0]
    key = next(iter(attributes))
    attributes[key] = attributes[key] + "-changed"  # type: ignore[index]
    plain.write(scrapes[3])
    encoded.write(scrapes[3])
    assert encoded._encoder.hits == hits_before  # the mutated map was noticed: a fresh layout
    for kind in MetricKind:
        assert table_bytes(client, encoded_options, kind) == table_bytes(client, plain_options, kind)
