"""Ingest benchmark: how fast MetricsData reaches ClickHouse, and how small it is once stored.

Measurements (one printed line each):

* ``writer``     samples/s through ``ClickHouseWriter.write`` (conversion + insert), embedded chDB.
* ``raw_insert`` samples/s of a plain clickhouse-connect column insert of the very same columns
  (prepared ahead, insert context reused): the floor the writer is compared against.
* ``writer_vs_raw`` the ratio of the two, measured in the same run (target >= 0.70).
* ``storage``    compressed bytes per stored sample from ``system.parts`` after OPTIMIZE FINAL,
  printed beside Prometheus's published ~1.3 bytes/sample for its TSDB chunks.
* ``otlp_receiver`` samples/s POSTed as OTLP/protobuf to the receiver (uvicorn, decode,
  delivery queue, writer) next to the direct ``ClickHouseWriter.write`` of the same scrapes,
  and their ratio, measured in the same run (``--receiver-minutes`` of the workload).
* ``receiver_sustained`` a real ``omni-telemetry ingest`` process at its default settings on
  its own chDB directory, fed by 8 concurrent clients with many small requests (200 points
  each) for ``--sustained-seconds`` on 127.0.0.1: points acknowledged (200) per second, beside
  a raw clickhouse-connect insert of the same 200-point batches measured in the same run, and
  their ratio.
* ``receiver_sigterm`` the share of the acknowledged points that is stored once the process,
  sent SIGTERM right after the load, has exited (target 1.00), and how long it took to exit.

The workload is scrapes of Envoy- and Mayastor-shaped series (counters and gauges with their
real label shapes) at a fixed interval; each scrape is one MetricsData, as a collector hands
it over. Run ``python bench/ingest.py --help`` for the knobs; the defaults are 30 minutes of
10,000 series at 15 s (1.2M samples) so a run stays under two minutes on two shared cores;
``--minutes 60`` gives the full hour (2.4M samples).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import uvicorn

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.clickhouse import (
    ClickHouseWriter,
    MetricKind,
    SchemaOptions,
    apply_schema,
    connect,
    expected_columns,
    qualified,
)
from exporters.clickhouse._columns import to_columns
from collectors.otlp_receiver import IngestOptions, create_ingest_app
from exporters.delivery import DeliveryOptions, DeliveryQueue
from exporters.otlp import encode_metrics_data
from omni_core.datamodel import FlaggedNumberDataPoint

PROMETHEUS_BYTES_PER_SAMPLE = 1.3
WRITER_TARGET_RATIO = 0.70
#: 2026-01-01T10:00:00Z: the hour stays inside one daily partition.
BASE_TIME_NS = 1_767_261_600 * 1_000_000_000
SCOPE = InstrumentationScope("omni_telemetry.collectors", "0.1.0")

_NAMESPACES = ("shop", "payments", "identity", "search", "media", "ops", "monitoring", "projectcontour")
_SERVICES = ("cart-api", "checkout", "catalog", "auth", "session", "indexer", "thumbnailer", "grafana",
             "argocd-server", "kuma-cp", "virt-api", "cdi-uploadproxy", "clickhouse", "web", "gateway", "ledger")
_CODE_CLASSES = ("1", "2", "3", "4", "5")
#: (metric, behaviour, extra label values) per upstream cluster, names as Envoy's Prometheus endpoint exposes them.
_ENVOY_CLUSTER_METRICS = (
    ("envoy_cluster_upstream_rq_total", "counter", None),
    ("envoy_cluster_upstream_rq_xx", "counter", _CODE_CLASSES),
    ("envoy_cluster_upstream_cx_total", "counter", None),
    ("envoy_cluster_upstream_cx_rx_bytes_total", "bytes", None),
    ("envoy_cluster_upstream_cx_tx_bytes_total", "bytes", None),
    ("envoy_cluster_upstream_cx_active", "gauge", None),
    ("envoy_cluster_upstream_rq_active", "gauge", None),
    ("envoy_cluster_membership_healthy", "constant", None),
    ("envoy_cluster_membership_total", "constant", None),
    ("envoy_cluster_upstream_rq_retry", "counter", None),
    ("envoy_cluster_upstream_rq_timeout", "counter", None),
    ("envoy_cluster_upstream_cx_connect_fail", "counter", None),
)
_MAYASTOR_POOL_METRICS = (
    ("diskpool_total_size_bytes", "constant"), ("diskpool_used_size_bytes", "growing"),
    ("diskpool_committed_size_bytes", "growing"), ("diskpool_status", "constant"),
    ("diskpool_bytes_read", "bytes"), ("diskpool_bytes_written", "bytes"),
)
_MAYASTOR_VOLUME_METRICS = (
    ("volume_num_read_ops", "counter"), ("volume_num_write_ops", "counter"),
    ("volume_bytes_read", "bytes"), ("volume_bytes_written", "bytes"),
    ("volume_read_latency_us", "bytes"), ("volume_write_latency_us", "bytes"),
)
_MAYASTOR_REPLICA_METRICS = (
    ("replica_num_read_ops", "counter"), ("replica_num_write_ops", "counter"),
    ("replica_bytes_read", "bytes"), ("replica_bytes_written", "bytes"),
)


@dataclass
class Series:
    metric: str
    behaviour: str  # counter | bytes | gauge | constant | growing
    labels: dict[str, str]
    value: float
    rate: float
    start_ns: int = 0


@dataclass
class Target:
    resource: Resource
    offset_ns: int
    series: list[Series] = field(default_factory=list)


def build_targets(series_count: int, rng: random.Random) -> list[Target]:
    """Envoy (80% of series) and Mayastor io-engine (20%) targets with their real label shapes.

    Every Envoy pod of the fleet sees the same upstream clusters, so the same label set
    recurs on every pod and only the resource (``service.instance.id``) tells them apart;
    Mayastor series carry their node in the labels.
    """
    per_cluster = sum(len(extra or (None,)) for _, _, extra in _ENVOY_CLUSTER_METRICS)
    envoy_pods = 4
    cluster_count = max(1, int(series_count * 0.8) // (per_cluster * envoy_pods))
    clusters = [f"{rng.choice(_NAMESPACES)}/{rng.choice(_SERVICES)}-{i}/{rng.choice((80, 443, 8080))}"
                for i in range(cluster_count)]
    targets: list[Target] = []
    made = 0
    for pod in range(envoy_pods):
        target = _target("contour-envoy", f"10.42.{pod}.17", 8002, rng)
        for cluster in clusters:
            for metric, behaviour, extra in _ENVOY_CLUSTER_METRICS:
                for code_class in extra or (None,):
                    labels = {"envoy_cluster_name": cluster}
                    if code_class:
                        labels = {"envoy_response_code_class": code_class, **labels}
                    target.series.append(_series(metric, behaviour, labels, rng))
                    made += 1
        targets.append(target)
    node = 0
    while made < series_count:
        name = f"worker-{node:02d}-{rng.randint(100000, 999999)}"
        target = _target("mayastor", f"10.42.{100 + node}.9", 9502, rng)
        for pool in range(2):
            for metric, behaviour in _MAYASTOR_POOL_METRICS:
                target.series.append(_series(metric, behaviour, {"node": name, "name": f"pool-on-{name}-{pool}"}, rng))
                made += 1
        for _ in range(rng.randint(30, 60)):
            pv = _uuid(rng, "pvc-")
            for metric, behaviour in _MAYASTOR_VOLUME_METRICS:
                target.series.append(_series(metric, behaviour, {"pv_name": pv, "node": name}, rng))
                made += 1
            labels = {"pv_name": pv, "pool_uuid": "", "pool_name": "", "node": name, "name": _uuid(rng, "")}
            for metric, behaviour in _MAYASTOR_REPLICA_METRICS:
                target.series.append(_series(metric, behaviour, labels, rng))
                made += 1
        targets.append(target)
        node += 1
    return targets


def _uuid(rng: random.Random, prefix: str) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{prefix}{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _target(job: str, ip: str, port: int, rng: random.Random) -> Target:
    resource = Resource({
        "service.name": job,
        "service.instance.id": f"{ip}:{port}",
        "server.address": ip,
        "server.port": str(port),
        "url.scheme": "http",
    })
    # Like Prometheus, each target is scraped at its own fixed offset within the interval.
    return Target(resource, rng.randrange(0, 15_000) * 1_000_000)


def _series(metric: str, behaviour: str, labels: dict[str, str], rng: random.Random) -> Series:
    idle = rng.random() < 0.3
    if behaviour == "counter":
        return Series(metric, behaviour, labels, float(rng.randint(0, 10**6)), 0.0 if idle else rng.lognormvariate(0, 1.5))
    if behaviour == "bytes":
        return Series(metric, behaviour, labels, float(rng.randint(0, 10**10)), 0.0 if idle else rng.lognormvariate(8, 2))
    if behaviour == "gauge":
        return Series(metric, behaviour, labels, float(rng.randint(0, 50)), 0.0 if idle else 1.0)
    if behaviour == "growing":
        return Series(metric, behaviour, labels, float(rng.randint(10**9, 10**11)), rng.lognormvariate(10, 2))
    return Series(metric, behaviour, labels, float(rng.choice((1, 1, 1, 0, 107_374_182_400))), 0.0)


def advance(targets: list[Target], rng: random.Random, interval_s: float) -> None:
    """Move every series one scrape interval forward."""
    for target in targets:
        for s in target.series:
            if not s.rate:
                continue
            if s.behaviour in ("counter", "bytes", "growing"):
                s.value += float(max(0, round(rng.gauss(s.rate * interval_s, (s.rate * interval_s) ** 0.5))))
            elif s.behaviour == "gauge":
                s.value = float(max(0, s.value + rng.choice((-1, 0, 0, 0, 1))))


def scrape(targets: list[Target], round_ns: int) -> MetricsData:
    """One scrape round of every target as the collectors hand it over: fresh points and attribute dicts."""
    resource_metrics = []
    for target in targets:
        time_ns = round_ns + target.offset_ns
        by_metric: dict[str, list[Series]] = {}
        for s in target.series:
            by_metric.setdefault(s.metric, []).append(s)
        metrics = []
        for name, members in by_metric.items():
            behaviour = members[0].behaviour
            if behaviour in ("counter", "bytes"):
                for s in members:
                    s.start_ns = s.start_ns or time_ns
                points = [NumberDataPoint(dict(s.labels), s.start_ns, time_ns, s.value) for s in members]
                metrics.append(Metric(name, "", "", Sum(points, AggregationTemporality.CUMULATIVE, True)))
            else:
                points = [NumberDataPoint(dict(s.labels), 0, time_ns, s.value) for s in members]
                metrics.append(Metric(name, "", "", Gauge(points)))
        resource_metrics.append(ResourceMetrics(target.resource, [ScopeMetrics(SCOPE, metrics, "")], ""))
    return MetricsData(resource_metrics)


def scrapes(series: int, minutes: float, interval_s: float, seed: int) -> Iterator[tuple[int, MetricsData]]:
    rng = random.Random(seed)
    targets = build_targets(series, rng)
    count = int(minutes * 60 / interval_s)
    for i in range(count):
        yield i, scrape(targets, BASE_TIME_NS + int(i * interval_s * 1e9))
        advance(targets, rng, interval_s)


@dataclass
class ThroughputResult:
    samples: int = 0  # every scrape, through the writer
    writer_s: float = 0.0
    compared_samples: int = 0  # the scrapes also inserted raw
    compared_writer_s: float = 0.0
    compared_raw_s: float = 0.0
    convert_s: float = 0.0


def measure_writer_vs_raw(client, writer_options: SchemaOptions, raw_options: SchemaOptions,
                          data: Iterator[tuple[int, MetricsData]], compare_every: int = 1) -> ThroughputResult:
    """Every scrape goes through the writer; every ``compare_every``-th also as a raw insert of the same rows.

    The first scrape is an untimed warm-up for both; on compared scrapes the two alternate
    which goes first, so background merges fall on both alike.
    """
    writer = ClickHouseWriter(client, writer_options)
    contexts = {}
    result = ThroughputResult()

    def writer_write(metrics_data: MetricsData) -> float:
        started = time.perf_counter()
        writer.write(metrics_data)
        return time.perf_counter() - started

    def raw_insert(tables) -> float:
        started = time.perf_counter()
        for kind, batch in tables.items():
            context = contexts.get(kind)
            if context is None:
                names = [name for name, _ in expected_columns(raw_options, kind)]
                context = contexts[kind] = client.create_insert_context(
                    qualified(raw_options, kind), names, column_oriented=True, settings={"async_insert": "0"})
            context.data = batch.columns
            client.insert(context=context)
        return time.perf_counter() - started

    for index, metrics_data in data:
        if index == 0:
            # Warm-up, untimed: both paths create their insert contexts (one DESCRIBE per table)
            # and the writer learns the label sets, as it does once in a long-running process.
            writer_write(metrics_data)
            raw_insert(to_columns(metrics_data, raw_options.generation)[0])
            continue
        samples = sum(len(m.data.data_points) for rm in metrics_data.resource_metrics
                      for sm in rm.scope_metrics for m in sm.metrics)
        result.samples += samples
        if index % compare_every:
            result.writer_s += writer_write(metrics_data)
            continue
        started = time.perf_counter()
        tables, _ = to_columns(metrics_data, raw_options.generation)
        result.convert_s += time.perf_counter() - started
        if (index // compare_every) % 2:
            raw_s = raw_insert(tables)
            writer_s = writer_write(metrics_data)
        else:
            writer_s = writer_write(metrics_data)
            raw_s = raw_insert(tables)
        result.writer_s += writer_s
        result.compared_samples += samples
        result.compared_writer_s += writer_s
        result.compared_raw_s += raw_s
    return result


@dataclass
class StorageResult:
    rows: int
    compressed_bytes: int
    uncompressed_bytes: int
    top_columns: list[tuple[str, float]]
    #: Value + TimeUnix bytes per row: what Prometheus's chunk figure covers (labels live in its index).
    sample_payload: float | None = None


def measure_storage(client, options: SchemaOptions) -> StorageResult:
    """Bytes on disk per stored sample across all metric tables, after merging to final parts."""
    tables = [options.tables.table_for(kind) for kind in MetricKind]
    for table in tables:
        client.command(f"OPTIMIZE TABLE {options.database}.{table} FINAL")
    rows, compressed, uncompressed = client.query(
        "SELECT sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes) FROM system.parts "
        "WHERE active AND database = {db:String} AND table IN {tables:Array(String)}",
        parameters={"db": options.database, "tables": tables},
    ).result_rows[0]
    columns = client.query(
        "SELECT name, sum(data_compressed_bytes) AS bytes FROM system.columns "
        "WHERE database = {db:String} AND table IN {tables:Array(String)} GROUP BY name ORDER BY bytes DESC",
        parameters={"db": options.database, "tables": tables},
    ).result_rows
    per_row = max(int(rows), 1)
    if not any(b for _, b in columns):
        return StorageResult(int(rows), int(compressed), int(uncompressed), [], None)  # compact parts: no per-column sizes
    payload = sum(b for name, b in columns if name in ("Value", "TimeUnix")) / per_row
    return StorageResult(int(rows), int(compressed), int(uncompressed),
                         [(name, b / per_row) for name, b in columns[:6]], payload)


@dataclass
class ReceiverResult:
    samples: int
    receiver_s: float
    direct_s: float
    client_encode_s: float


def measure_otlp_receiver(client, receiver_options: SchemaOptions, direct_options: SchemaOptions,
                          data: Callable[[], Iterator[tuple[int, MetricsData]]]) -> ReceiverResult:
    """The same scrapes twice: written directly, then POSTed as OTLP/protobuf to the receiver.

    The receiver path is the production one (uvicorn, bounded read, decode, delivery queue,
    writer with insert tokens). Each request is timed until the queue has drained it, so the
    worker's INSERT is inside the measurement and never overlaps generating the next scrape;
    the client's encoding is timed apart (it is the sender's cost, not the receiver's).
    """
    direct = ClickHouseWriter(client, direct_options)
    samples = 0
    direct_s = 0.0
    for _, metrics_data in data():
        started = time.perf_counter()
        samples += direct.write(metrics_data).total
        direct_s += time.perf_counter() - started

    queue = DeliveryQueue(ClickHouseWriter(client, receiver_options),
                          DeliveryOptions(name="bench", max_memory_points=10_000_000))
    options = IngestOptions(max_body_bytes=256 * 1024 * 1024, max_decompressed_bytes=256 * 1024 * 1024)
    server = uvicorn.Server(uvicorn.Config(create_ingest_app(queue, options), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the receiver did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/v1/metrics"
    receiver_s = encode_s = 0.0
    try:
        with httpx.Client(headers={"Content-Type": "application/x-protobuf"}, timeout=120) as http:
            for _, metrics_data in data():
                started = time.perf_counter()
                payload = encode_metrics_data(metrics_data).SerializeToString()
                encoded = time.perf_counter()
                http.post(url, content=payload).raise_for_status()
                if not queue.force_flush(120_000):
                    raise RuntimeError("the receiver's delivery queue did not drain")
                receiver_s += time.perf_counter() - encoded
                encode_s += encoded - started
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        queue.shutdown()
    stored = sum(int(client.command(f"SELECT count() FROM {qualified(receiver_options, kind)}")) for kind in MetricKind)
    if stored != samples:
        raise RuntimeError(f"the receiver stored {stored} rows for {samples} samples")
    return ReceiverResult(samples, receiver_s, direct_s, encode_s)


SUSTAINED_CLIENTS = 8
SUSTAINED_POINTS = 200


@dataclass
class SustainedResult:
    seconds: float
    acknowledged: list[tuple[int, int]]
    answers: dict[int, int]
    stored: dict[tuple[int, int], int]
    exit_s: float
    raw_points_per_s: float

    @property
    def acknowledged_points(self) -> int:
        return len(self.acknowledged) * SUSTAINED_POINTS

    @property
    def stored_acknowledged_points(self) -> int:
        return sum(min(self.stored.get(key, 0), SUSTAINED_POINTS) for key in self.acknowledged)


def small_batch(client: int, seq: int, time_ns: int) -> MetricsData:
    """One client's request: 200 gauge points, distinct per (client, seq) so each can be found again."""
    points = [
        FlaggedNumberDataPoint({"client": str(client), "seq": str(seq), "series": str(i)}, 0, time_ns, float(i))
        for i in range(SUSTAINED_POINTS)
    ]
    return MetricsData([ResourceMetrics(Resource({"service.name": "bench-load"}),
                                        [ScopeMetrics(SCOPE, [Metric("bench_probe", "", "", Gauge(points))], "")], "")])


def measure_raw_small_inserts(client, options: SchemaOptions, seconds: float) -> float:
    """Points/s of sequential raw column inserts of 200-point batches: the floor of one INSERT per request."""
    names = [name for name, _ in expected_columns(options, MetricKind.GAUGE)]
    context = client.create_insert_context(qualified(options, MetricKind.GAUGE), names, column_oriented=True,
                                           settings={"async_insert": "0"})
    batches = [to_columns(small_batch(0, seq, time.time_ns()), options.generation)[0][MetricKind.GAUGE]
               for seq in range(50)]
    context.data = batches[0].columns
    client.insert(context=context)  # warm-up
    points = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        context.data = batches[points // SUSTAINED_POINTS % len(batches)].columns
        client.insert(context=context)
        points += SUSTAINED_POINTS
    return points / (time.perf_counter() - started)


def measure_receiver_sustained(seconds: float, raw_points_per_s: float) -> SustainedResult:
    """8 clients x 200-point requests against ``omni-telemetry ingest`` (defaults, own chDB), then SIGTERM."""
    data_dir = tempfile.mkdtemp(prefix="omni-bench-receiver-")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    exe = os.path.join(os.path.dirname(sys.executable), "omni-telemetry")
    process = subprocess.Popen([exe, "ingest", "--port", str(port), "--dsn", f"chdb://{data_dir}/store",
                                "--log-level", "error"], cwd=data_dir, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/v1/metrics"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"ingest did not start: {process.stderr.read()[-2000:] if process.stderr else ''}")
                time.sleep(0.1)
        acknowledged: list[tuple[int, int]] = []
        answers: dict[int, int] = {}
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def client(number: int) -> None:
            seq = 0
            with httpx.Client(headers={"Content-Type": "application/x-protobuf"}, timeout=30) as http:
                while time.monotonic() < stop_at:
                    seq += 1
                    body = encode_metrics_data(small_batch(number, seq, time.time_ns())).SerializeToString()
                    try:
                        status = http.post(url, content=body).status_code
                    except httpx.TransportError:
                        status = 0
                    with lock:
                        answers[status] = answers.get(status, 0) + 1
                        if status == 200:
                            acknowledged.append((number, seq))
                    if status in (429, 503):
                        time.sleep(0.05)

        started = time.perf_counter()
        clients = [threading.Thread(target=client, args=(n,)) for n in range(SUSTAINED_CLIENTS)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        elapsed = time.perf_counter() - started
        signalled = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
        exit_s = time.perf_counter() - signalled
        stored = _stored_per_request(f"chdb://{data_dir}/store")
        return SustainedResult(elapsed, acknowledged, answers, stored, exit_s, raw_points_per_s)
    finally:
        if process.poll() is None:
            process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def _stored_per_request(dsn: str) -> dict[tuple[int, int], int]:
    """Rows per (client, seq) in the receiver's store, read by a separate process (one chDB directory per process)."""
    script = (
        "import json, sys\n"
        "from exporters.clickhouse import connect\n"
        "client = connect(sys.argv[1])\n"
        "rows = client.query(\"SELECT toInt64(Attributes['client']), toInt64(Attributes['seq']), count() "
        "FROM otel.otel_metrics_gauge GROUP BY 1, 2\").result_rows\n"
        "print(json.dumps([[int(c), int(s), int(n)] for c, s, n in rows]))\n"
    )
    output = subprocess.run([sys.executable, "-c", script, dsn], capture_output=True, text=True, check=True).stdout
    return {(c, s): n for c, s, n in json.loads(output)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000, help="number of series (default 10000)")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="minutes of data (default 30, which keeps the run under two minutes on two cores; "
                             "--minutes 60 is the full hour of 2.4M samples)")
    parser.add_argument("--interval", type=float, default=15.0, help="scrape interval in seconds (default 15)")
    parser.add_argument("--compare-every", type=int, default=2,
                        help="also insert every N-th scrape raw for the ratio (default 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--receiver-minutes", type=float, default=10.0,
                        help="minutes of the workload for the OTLP receiver measurement (default 10; 0 skips it)")
    parser.add_argument("--sustained-seconds", type=float, default=10.0,
                        help="seconds of 8 clients x 200-point requests against a real ingest process (0 skips it)")
    parser.add_argument("--data-dir", default=None, help="chDB directory (default: a temporary one, removed after)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="omni-bench-ingest-")
    writer_options = SchemaOptions(database="bench_writer")
    raw_options = SchemaOptions(database="bench_raw")
    client = connect(f"chdb://{data_dir}")
    try:
        apply_schema(client, writer_options)
        apply_schema(client, raw_options)
        print(f"workload series={args.series} minutes={args.minutes:g} interval_s={args.interval:g} "
              f"compare_every={args.compare_every} engine=chdb dir={data_dir}")
        started = time.perf_counter()
        result = measure_writer_vs_raw(client, writer_options, raw_options,
                                       scrapes(args.series, args.minutes, args.interval, args.seed), args.compare_every)
        writer_rate = result.compared_samples / result.compared_writer_s
        raw_rate = result.compared_samples / result.compared_raw_s
        ratio = writer_rate / raw_rate
        print(f"writer samples_per_s={result.samples / result.writer_s:,.0f} over all {result.samples:,} samples "
              f"(column build without the label cache {result.convert_s / result.compared_samples * 1e6:.2f} us/sample)")
        print(f"raw_insert samples_per_s={raw_rate:,.0f} on every {args.compare_every}. scrape "
              f"({result.compared_samples:,} samples; writer on the same: {writer_rate:,.0f}/s)")
        print(f"writer_vs_raw ratio={ratio:.2f} target>={WRITER_TARGET_RATIO:.2f} "
              f"{'ok' if ratio >= WRITER_TARGET_RATIO else 'BELOW TARGET'}")
        storage = measure_storage(client, writer_options)
        print(f"storage bytes_per_sample={storage.compressed_bytes / max(storage.rows, 1):.2f} "
              f"(uncompressed {storage.uncompressed_bytes / max(storage.rows, 1):.1f}) rows={storage.rows} "
              f"prometheus_reference={PROMETHEUS_BYTES_PER_SAMPLE} (value+timestamp only: "
              f"{'n/a, parts too small' if storage.sample_payload is None else f'{storage.sample_payload:.2f}'})")
        if storage.top_columns:
            print("storage top_columns " + " ".join(f"{name}={b:.3f}" for name, b in storage.top_columns))
        if args.receiver_minutes > 0:
            receiver_options = SchemaOptions(database="bench_receiver")
            direct_options = SchemaOptions(database="bench_direct")
            apply_schema(client, receiver_options)
            apply_schema(client, direct_options)
            receiver = measure_otlp_receiver(
                client, receiver_options, direct_options,
                lambda: scrapes(args.series, args.receiver_minutes, args.interval, args.seed),
            )
            receiver_rate = receiver.samples / receiver.receiver_s
            direct_rate = receiver.samples / receiver.direct_s
            print(f"otlp_receiver samples_per_s={receiver_rate:,.0f} direct_writer samples_per_s={direct_rate:,.0f} "
                  f"ratio={receiver_rate / direct_rate:.2f} samples={receiver.samples} "
                  f"(client encode {receiver.client_encode_s / receiver.samples * 1e6:.2f} us/sample, not included)")
        if args.sustained_seconds > 0:
            raw_small = SchemaOptions(database="bench_raw_small")
            apply_schema(client, raw_small)
            raw_rate = measure_raw_small_inserts(client, raw_small, min(args.sustained_seconds, 5.0))
            sustained = measure_receiver_sustained(args.sustained_seconds, raw_rate)
            acked_rate = sustained.acknowledged_points / sustained.seconds
            print(f"receiver_sustained acknowledged_points_per_s={acked_rate:,.0f} "
                  f"({SUSTAINED_CLIENTS} clients x {SUSTAINED_POINTS} points, {sustained.seconds:.1f} s, "
                  f"answers {dict(sorted(sustained.answers.items()))}) raw_insert_200 points_per_s={raw_rate:,.0f} "
                  f"ratio={acked_rate / raw_rate:.2f}")
            share = sustained.stored_acknowledged_points / max(sustained.acknowledged_points, 1)
            duplicates = sum(1 for n in sustained.stored.values() if n > SUSTAINED_POINTS)
            print(f"receiver_sigterm stored_share_of_acknowledged={share:.2f} target=1.00 "
                  f"({sustained.stored_acknowledged_points:,} of {sustained.acknowledged_points:,} points; "
                  f"requests stored more than once: {duplicates}; exited {sustained.exit_s:.1f} s after SIGTERM)")
        print(f"elapsed_s={time.perf_counter() - started:.1f}")
    finally:
        client.close()
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
