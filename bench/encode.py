"""Client-side cost of one insert, per row: the column path against pre-encoded Native blocks.

Both encode the same steady-state scrapes of bench/parse.py's Envoy-like target (converted by
the collectors' steady-state converter) into the bytes sent to ClickHouse, without sending
them: the column path as clickhouse-connect serialises the writer's columns, the pre-encoded
path as ``NativeEncoder`` builds its blocks. CPU time of this thread only, alternating the two
per scrape, median over the scrapes; the ratio is the figure to read.

    .venv/bin/python bench/encode.py [--samples 50000] [--scrapes 12]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from parse import envoy_like  # noqa: E402

from clickhouse_connect.datatypes.registry import get_from_name  # noqa: E402
from clickhouse_connect.driver.insert import InsertContext  # noqa: E402
from clickhouse_connect.driver.transform import NativeTransform  # noqa: E402
from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.util.instrumentation import InstrumentationScope  # noqa: E402

from collectors.exposition import TargetConverter  # noqa: E402
from exporters.clickhouse import SchemaOptions, expected_columns  # noqa: E402
from exporters.clickhouse._attributes import SortedMapCache  # noqa: E402
from exporters.clickhouse._columns import to_columns  # noqa: E402
from exporters.clickhouse._encoded import NativeEncoder  # noqa: E402

T0 = 1_700_000_000_000_000_000


def column_path(batch: MetricsData, options: SchemaOptions, cache: SortedMapCache) -> int:
    tables, _ = to_columns(batch, options.generation, cache)
    sent = 0
    for kind, column_set in tables.items():
        described = expected_columns(options, kind)
        context = InsertContext(
            "t", [name for name, _ in described], [get_from_name(type_) for _, type_ in described],
            data=column_set.columns, column_oriented=True,
        )
        sent += sum(map(len, NativeTransform.build_insert(context)))
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--scrapes", type=int, default=12)
    args = parser.parse_args()
    body = envoy_like(args.samples)
    converter = TargetConverter()
    resource = Resource({"service.name": "envoy", "service.instance.id": "10.0.0.1:9901"})
    scope = InstrumentationScope("omni-telemetry")
    options = SchemaOptions()
    column_cache, encoder_cache = SortedMapCache(), SortedMapCache()
    encoder = NativeEncoder(options, encoder_cache)
    plain_us: list[float] = []
    encoded_us: list[float] = []
    for i in range(args.scrapes + 2):
        scraped = converter.convert(body, "text/plain; version=0.0.4", T0 + i * 2_000_000_000)
        batch = MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, scraped.metrics, "")], "")])
        start = time.thread_time()
        column_path(batch, options, column_cache)
        middle = time.thread_time()
        encoded = encoder.encode(batch)
        end = time.thread_time()
        if encoded is None or encoder.plain:
            raise SystemExit("the batch was not served by the layout cache; the bench measures the steady state")
        rows = sum(table.rows for table in encoded.tables.values())
        if i >= 2 and scraped.steady:  # warm caches, steady-state conversion on both sides
            plain_us.append((middle - start) * 1e6 / rows)
            encoded_us.append((end - middle) * 1e6 / rows)
    plain, fast = statistics.median(plain_us), statistics.median(encoded_us)
    print(f"{args.samples} samples, {rows} rows per scrape, {len(plain_us)} steady scrapes, layout cache hits {encoder.hits}")
    print(f"column path (clickhouse-connect): {plain:6.2f} CPU-us per row")
    print(f"pre-encoded Native blocks:        {fast:6.2f} CPU-us per row")
    print(f"ratio column / pre-encoded:       {plain / fast:6.2f}x")


if __name__ == "__main__":
    main()
