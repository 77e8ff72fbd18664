"""ClickHouse's own Prometheus endpoint (``<prometheus>`` in the server config, :9363 ``/metrics``).

A server configured with ``<prometheus><port>9363</port><metrics>true</metrics><events>true</events>
<asynchronous_metrics>true</asynchronous_metrics><errors>true</errors></prometheus>`` exposes
``ClickHouseProfileEvents_*`` (cumulative event counters: queries, failed inserts, merged
rows...), ``ClickHouseMetrics_*`` (gauges of what runs now: queries, merges, read-only
replicas, delayed inserts), ``ClickHouseAsyncMetrics_*`` (gauges computed in the background:
free bytes of the main path, the most parts in one partition, replica queue sizes) and
``ClickHouseErrorMetric_*`` (one counter per error code since the server started, plus
``_ALL``). All are plain families, kept as exposed.

This reads one server from the outside and needs the endpoint enabled on every replica; the
store-state reader (``collectors.store``) reads the same facts through the pipeline's own
client, also works on embedded chDB, and knows per-table parts and rows. Use the reader for
the store the pipeline writes to; use this source for ClickHouse servers the pipeline does
not write to, or when per-server detail (thousands of event counters) is wanted.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

from .._source import Source

__all__ = ["ClickHouseSource"]


class ClickHouseSource(Source):
    name: ClassVar[str] = "clickhouse"
    reads_exposition: ClassVar[bool] = True
    description: ClassVar[str] = "ClickHouse server's own Prometheus endpoint (:9363 /metrics)"
    expected_families: ClassVar[Mapping[str, str]] = {
        "ClickHouseProfileEvents_Query": "counter",
        "ClickHouseMetrics_Query": "gauge",
    }
