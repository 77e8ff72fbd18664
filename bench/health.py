"""Health API benchmark: one day of 2,000 series at 15 s in chDB, then

* for BOTH table generations (``classic``: sorted by the attribute map, so every granule of
  a metric holds some series' newest rows; ``v2``: hour-bucketed, so a time filter prunes),
  each loaded with the same day:

  - ``reference_scan``   one plain aggregate over the rules' rows (count and newest time per
    metric name in the 15-minute window), no attribute maps;
  - ``decode_floor``     one read of the attribute maps of every sample the rules look at in
    that window (each metric read once); any latest-value query on the layout pays this;
  - ``plan_only``        the engine planning the evaluation's one statement (``EXPLAIN PLAN``),
    without reading a row: what the rules' SQL costs before any data is touched;
  - ``statement``        that statement run alone, without turning rows into statuses;
  - ``full_evaluation``  one evaluation of every shipped rule at "now" (median of several),
    wall time and the CPU time this process spent (chDB runs in-process), and its ratio
    to the floor;
  - ``at_evaluation``    one on-demand ``?at=`` evaluation 12 hours in the past;

* ``/health``          p50/p99 latency under 50 concurrent clients against ``omni-telemetry
  serve`` (its own process, background evaluation running), next to ``/livez`` under the
  same load as the reference for the HTTP stack alone. The load comes from wrk when it is
  installed, else hey, else Python httpx (see ``_load.py``); the line says which.

Targets on two shared cores: /health p99 < 50 ms, full evaluation < 250 ms. The HTTP part
serves the generation named by ``--generation``.

The day of data is generated inside ClickHouse (``INSERT ... SELECT`` from ``numbers()``)
into the exact tables the writer fills, with the metric names and attributes the sources
store: Mayastor pools and volumes, Envoy clusters and listeners (cumulative counters),
Kuma dataplanes, KubeVirt VMs and VMIs, Argo CD applications and syncs, the store's own
disks and parts, and ``up`` per target. Run
``python bench/health.py --help`` for the knobs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from exporters.clickhouse import MetricKind, SchemaOptions, apply_schema, close_embedded_engines, connect, qualified
from service import Evaluator, StoreReader, load_rules

from _load import measure


@dataclass(frozen=True)
class Family:
    """``series`` series of one metric; ``labels`` is a SQL map expression over ``s`` (the series
    number), ``value`` a SQL expression over ``s`` and ``p`` (the point number)."""

    table: MetricKind
    job: str
    name: str
    series: int
    labels: str
    value: str


def families() -> list[Family]:
    pool = "map('name', concat('pool-', toString(s)), 'node', concat('node-', toString(s % 20)))"
    cluster = "concat('shop_svc', toString(s % 100), '_8080')"
    dp_state = "['online', 'partially_degraded', 'offline'][intDiv(s, 150) + 1]"
    return [
        Family(MetricKind.GAUGE, "mayastor", "diskpool_status", 100,
               "map('name', concat('pool-', toString(s)), 'node', concat('node-', toString(s % 20)), 'state', 'online')", "1"),
        Family(MetricKind.GAUGE, "mayastor", "diskpool_total_size_bytes", 100, pool, "1e12"),
        Family(MetricKind.GAUGE, "mayastor", "diskpool_used_size_bytes", 100, pool, "1e12 * (0.3 + 0.6 * (s % 10) / 10 * p / 5760)"),
        Family(MetricKind.GAUGE, "mayastor", "diskpool_committed_size_bytes", 100, pool, "8e11"),
        Family(MetricKind.GAUGE, "mayastor", "diskpool_io_alert_status", 100,
               "map('name', concat('pool-', toString(s)), 'node', concat('node-', toString(s % 20)), 'alert', 'healthy')", "0"),
        Family(MetricKind.GAUGE, "mayastor-api", "mayastor_volume_status", 100,
               "map('volume', toString(s % 20), 'pv_name', concat('pvc-', toString(s % 20)), "
               "'status', ['online', 'degraded', 'faulted', 'shutdown', 'unknown'][intDiv(s, 20) + 1])",
               "if(intDiv(s, 20) = 0, 1, 0)"),
        Family(MetricKind.GAUGE, "envoy", "envoy_cluster_membership_healthy", 100,
               f"map('envoy_cluster_name', {cluster}, 'namespace', 'shop', 'service', concat('svc', toString(s)))", "2"),
        Family(MetricKind.GAUGE, "envoy", "envoy_cluster_membership_total", 100,
               f"map('envoy_cluster_name', {cluster}, 'namespace', 'shop', 'service', concat('svc', toString(s)))", "2"),
        Family(MetricKind.SUM, "envoy", "envoy_cluster_upstream_rq_xx", 300,
               f"map('envoy_cluster_name', concat('shop_svc', toString(s % 100), '_8080'), 'namespace', 'shop', "
               "'envoy_response_code_class', ['2', '4', '5'][intDiv(s, 100) + 1])",
               "p * 150 * [0.97, 0.02, 0.01][intDiv(s, 100) + 1]"),
        Family(MetricKind.SUM, "envoy", "envoy_http_downstream_rq_xx", 30,
               "map('envoy_http_conn_manager_prefix', concat('ingress_', toString(s % 10)), "
               "'envoy_response_code_class', ['2', '4', '5'][intDiv(s, 10) + 1])",
               "p * 1500 * [0.985, 0.01, 0.005][intDiv(s, 10) + 1]"),
        Family(MetricKind.GAUGE, "envoy", "envoy_server_live", 10, "map()", "1"),
        Family(MetricKind.GAUGE, "kuma-api", "kuma_dataplane_status", 450,
               f"map('mesh', 'default', 'name', concat('dp-', toString(s % 150)), 'service', concat('svc', toString(s % 30)), "
               f"'zone', 'z1', 'status', {dp_state})", "if(intDiv(s, 150) = 0, 1, 0)"),
        Family(MetricKind.GAUGE, "kuma-api", "kuma_dataplane_cert_expiration_timestamp_seconds", 150,
               "map('mesh', 'default', 'name', concat('dp-', toString(s)), 'service', concat('svc', toString(s % 30)), 'zone', 'z1')",
               "toUnixTimestamp(now()) + 30 * 86400"),
        Family(MetricKind.GAUGE, "kubevirt", "kubevirt_vm_info", 100,
               "map('name', concat('vm-', toString(s)), 'namespace', 'vms', 'status', 'running', 'status_group', 'running')", "1"),
        Family(MetricKind.GAUGE, "kubevirt", "kubevirt_vmi_info", 100,
               "map('name', concat('vm-', toString(s)), 'namespace', 'vms', 'phase', 'running', 'node', concat('node-', toString(s % 20)))",
               "1"),
        Family(MetricKind.GAUGE, "pipeline", "up", 60, "map()", "1"),
        Family(MetricKind.GAUGE, "argocd", "argocd_app_info", 50,
               "map('name', concat('app-', toString(s)), 'namespace', 'argocd', 'project', 'platform', "
               "'health_status', 'Healthy', 'sync_status', 'Synced', 'dest_server', 'https://kubernetes.default.svc', "
               "'dest_namespace', concat('ns-', toString(s)))", "1"),
        Family(MetricKind.SUM, "argocd", "argocd_app_sync_total", 100,
               "map('name', concat('app-', toString(s % 50)), 'namespace', 'argocd', 'project', 'platform', "
               "'dry_run', 'false', 'dest_server', 'https://kubernetes.default.svc', "
               "'phase', ['Succeeded', 'Failed'][intDiv(s, 50) + 1])", "intDiv(p, [60, 600][intDiv(s, 50) + 1])"),
        Family(MetricKind.GAUGE, "clickhouse", "omni_store_disk_free_bytes", 2,
               "map('disk', ['default', 's3cache'][s + 1])", "4e11"),
        Family(MetricKind.GAUGE, "clickhouse", "omni_store_disk_total_bytes", 2,
               "map('disk', ['default', 's3cache'][s + 1])", "1e12"),
        Family(MetricKind.GAUGE, "clickhouse", "omni_store_active_parts", 10,
               "map('database', 'otel', 'table', concat('t', toString(s)))", "20 + p % 40"),
    ]


def load_day(client, options: SchemaOptions, points: int, interval_s: float, end: datetime, first: int = 0) -> int:
    """Insert points ``first`` .. ``first + points - 1`` of every series, the last one at ``end``
    (a later call with ``first`` set continues the same series: counters keep counting);
    returns the rows inserted."""
    start_ns = int((end - timedelta(seconds=interval_s * (first + points - 1))).timestamp()) * 1_000_000_000
    step_ns = int(interval_s * 1e9)
    rows = 0
    for family in families():
        table = qualified(options, family.table)
        extra_columns = ", AggregationTemporality, IsMonotonic" if family.table is MetricKind.SUM else ""
        extra_values = ", 2, true" if family.table is MetricKind.SUM else ""
        instance = "concat('i-', toString(s % 10))" if family.name != "up" else "concat('target-', toString(s))"
        # labels are built once per series, then multiplied out over the points with ARRAY JOIN
        client.command(
            f"""
            INSERT INTO {table} (ResourceAttributes, ServiceName, MetricName, Attributes, StartTimeUnix, TimeUnix,
                                 Value, Flags{extra_columns})
            SELECT resource, '{family.job}', '{family.name}', labels, fromUnixTimestamp64Nano(toInt64({start_ns})),
                   fromUnixTimestamp64Nano(toInt64({start_ns} + p * {step_ns})), toFloat64({family.value}), 0{extra_values}
            FROM (
                SELECT number AS s, {family.labels} AS labels,
                       map('service.name', '{family.job}', 'service.instance.id', {instance}) AS resource
                FROM numbers({family.series})
            )
            ARRAY JOIN range({first}, {first + points}) AS p
            """
        )
        rows += family.series * points
    return rows


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def timed_cpu(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and process CPU seconds of each call (chDB's threads run in this process, so the CPU
    time is the engine's work too, and it varies less than wall time on a shared machine)."""
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def load_generation(dsn: str, options: SchemaOptions, points: int, interval_s: float) -> datetime:
    """Create ``options``' tables, load the day, let the background merges settle (as in a store
    that has been running), then add the points that fell due meanwhile, so "now" is fresh;
    returns the newest sample time."""
    client = connect(dsn)
    apply_schema(client, options)
    series = sum(f.series for f in families())
    end = datetime.now(timezone.utc).replace(microsecond=0)
    started = time.perf_counter()
    rows = load_day(client, options, points, interval_s, end)
    loaded = time.perf_counter() - started
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and client.query(
            f"SELECT count() FROM system.merges WHERE database = '{options.database}'").result_rows[0][0]:
        time.sleep(1)
    missing = int((datetime.now(timezone.utc) - end).total_seconds() // interval_s)
    if missing:
        end += timedelta(seconds=missing * interval_s)
        rows += load_day(client, options, missing, interval_s, end, first=points)
    parts = client.query(f"SELECT count() FROM system.parts WHERE active AND database = '{options.database}' "
                         "AND (table LIKE '%metrics_gauge' OR table LIKE '%metrics_sum')").result_rows[0][0]
    print(f"load {options.generation:8s}{series:,} series x {points:,} points = {rows:,} rows in {loaded:.1f}s, "
          f"{parts} active parts in the gauge and sum tables")
    return end


def measure_evaluation(dsn: str, options: SchemaOptions, end: datetime, interval_s: float, hours: float) -> None:
    """Print the evaluation figures of one generation, each next to references from the same run."""
    client = connect(dsn)
    generation = options.generation
    evaluator = Evaluator(StoreReader(lambda: connect(dsn), options, where=dsn), load_rules(),
                          stale_after_s=3 * interval_s)
    snapshot = evaluator.evaluate()  # warm-up, and a check that the data is what the rules read
    entities = sum(len(c.entities) for c in snapshot.components.values())
    print(f"{generation:8s}snapshot        overall {snapshot.status.value}, {entities:,} entities, "
          f"rule errors {snapshot.rule_errors}")
    window = "TimeUnix > now() - INTERVAL 900 SECOND AND TimeUnix <= now()"
    gauge = qualified(options, MetricKind.GAUGE)
    reference, _ = timed_cpu(lambda: client.query(
        f"SELECT MetricName, count(), max(TimeUnix) FROM {gauge} WHERE Flags = 0 AND {window} "
        "GROUP BY MetricName").result_rows, 7)
    reads = []
    for kind in (MetricKind.GAUGE, MetricKind.SUM):
        names = ", ".join(f"'{f.name}'" for f in families() if f.table is kind)
        reads.append(f"(SELECT sum(length(Attributes)) FROM {qualified(options, kind)} "
                     f"WHERE MetricName IN ({names}) AND Flags = 0 AND {window})")
    # without the subcolumn rewrite, length() decodes the whole map, as the rules' lookups do
    floor, floor_cpu = timed_cpu(lambda: client.query(f"SELECT {' + '.join(reads)}",
                                                      settings={"optimize_functions_to_subcolumns": 0}).result_rows, 7)
    rules = evaluator.rules.enabled_rules
    now = datetime.now(timezone.utc)
    statement = evaluator.statement(rules, now)
    plan, plan_cpu = timed_cpu(lambda: evaluator.store.query(f"EXPLAIN PLAN {statement}", evaluator.statement_settings), 7)
    alone, alone_cpu = timed_cpu(lambda: evaluator.store.query(statement, evaluator.statement_settings), 7)
    full, full_cpu = timed_cpu(evaluator.evaluate, 7)
    past = end - timedelta(hours=min(12.0, hours / 2))
    at, at_cpu = timed_cpu(lambda: evaluator.evaluate(past), 5)
    ms = lambda values: 1000 * statistics.median(values)  # noqa: E731
    ref_ms, floor_ms, full_ms, at_ms = ms(reference), ms(floor), ms(full), ms(at)
    print(f"{generation:8s}reference_scan  {ref_ms:7.1f} ms  (one plain aggregate over the rules' 15-minute window)")
    print(f"{generation:8s}decode_floor    {floor_ms:7.1f} ms  cpu {ms(floor_cpu):7.1f} ms  "
          "(the attribute maps of every sample in that window, each metric read once)")
    print(f"{generation:8s}plan_only       {ms(plan):7.1f} ms  cpu {ms(plan_cpu):7.1f} ms  "
          f"(planning the one statement of {len(rules)} rules, {len(statement) / 1024:.0f} KiB of SQL, no row read)")
    print(f"{generation:8s}statement       {ms(alone):7.1f} ms  cpu {ms(alone_cpu):7.1f} ms  "
          "(the statement alone: planning, reading and aggregating, without building statuses)")
    print(f"{generation:8s}full_evaluation {full_ms:7.1f} ms  cpu {ms(full_cpu):7.1f} ms  median of {len(full)}; "
          f"{full_ms / floor_ms:.1f}x decode floor (cpu {ms(full_cpu) / ms(floor_cpu):.1f}x), {full_ms / ref_ms:.1f}x reference; "
          "target < 250 ms")
    print(f"{generation:8s}at_evaluation   {at_ms:7.1f} ms  cpu {ms(at_cpu):7.1f} ms  median of {len(at)} "
          f"(12 h in the past); {at_ms / floor_ms:.1f}x decode floor (cpu {ms(at_cpu) / ms(floor_cpu):.1f}x)")


def top_up(dsn: str, options: SchemaOptions, interval_s: float) -> int:
    """Add the points that would have arrived since the newest one, continuing each series (counters
    keep counting), so the data is fresh again (a platform whose data went stale answers /health
    with every entity unknown: a megabyte)."""
    client = connect(dsn)
    gauge = qualified(options, MetricKind.GAUGE)
    loaded = client.query(f"SELECT count() FROM {gauge} WHERE MetricName = 'up' "
                          "AND ResourceAttributes['service.instance.id'] = 'target-0'").result_rows[0][0]
    newest = client.query(f"SELECT max(TimeUnix) FROM {gauge}").result_rows[0][0]
    newest = newest.replace(tzinfo=timezone.utc)
    missing = int((datetime.now(timezone.utc) - newest).total_seconds() // interval_s)
    end = newest + timedelta(seconds=missing * interval_s)
    rows = load_day(client, options, missing, interval_s, end, first=loaded) if missing > 0 else 0
    close_embedded_engines()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0, help="hours of data per series (default 24)")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between samples (default 15)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent /health clients (default 50)")
    parser.add_argument("--requests", type=int, default=40, help="requests per client with httpx (default 40)")
    parser.add_argument("--load-s", type=float, default=10.0, help="seconds of load per endpoint with wrk or hey (default 10)")
    parser.add_argument("--port", type=int, default=18081, help="port for the served API on 127.0.0.1")
    parser.add_argument("--generation", choices=("classic", "v2"), default="classic",
                        help="table layout (v2 sorts by hour within a metric, so time filters prune)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="omni-health-bench-"))
    dsn = f"chdb://{workdir / 'store'}"
    options = SchemaOptions(generation=args.generation)
    try:
        points = int(args.hours * 3600 / args.interval)
        # the served generation lives in the default database, the other one beside it; each is
        # measured right after its load, while its newest samples are fresh, the served one last
        other = "v2" if args.generation == "classic" else "classic"
        for generation in (SchemaOptions(database=f"otel_{other}", generation=other), options):
            end = load_generation(dsn, generation, points, args.interval)
            measure_evaluation(dsn, generation, end, args.interval, args.hours)
        close_embedded_engines()
        top_up(dsn, options, args.interval)  # the evaluations above took long enough for the data to go stale

        server = subprocess.Popen(
            [sys.executable, "-m", "omni_telemetry.cli", "serve", "--host", "127.0.0.1", "--port", str(args.port),
             "--dsn", dsn, "--log-level", "warning"],
            env={**os.environ, "OMNI_TABLE_GENERATION": args.generation, "OMNI_SCRAPE_INTERVAL_S": str(args.interval), "OMNI_SCRAPE_TIMEOUT_S": str(min(10.0, args.interval))},
        )
        try:
            base = f"http://127.0.0.1:{args.port}"
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/health", timeout=5).status_code in (200, 503):
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError("the served API did not answer /health")
            livez = measure(f"{base}/livez", args.clients, duration_s=args.load_s, requests_per_client=args.requests)
            body = httpx.get(f"{base}/health", timeout=30).json()  # what the load below gets
            health = measure(f"{base}/health", args.clients, duration_s=args.load_s, requests_per_client=args.requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"/livez          p50 {livez.ms(0.5):6.1f} ms  p99 {livez.ms(0.99):6.1f} ms  ({livez.describe()}; reference)")
        print(f"/health         p50 {health.ms(0.5):6.1f} ms  p99 {health.ms(0.99):6.1f} ms  ({health.describe()}); "
              f"p99 {health.ms(0.99) / livez.ms(0.99):.1f}x /livez; target p99 < 50 ms")
        print(f"                answered overall {body['status']}, {len(json.dumps(body)) / 1024:,.0f} KiB, "
              f"{len(body['reasons'])} reasons")
    finally:
        close_embedded_engines()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
