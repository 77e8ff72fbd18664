"""Logs benchmark: how fast SDK log records reach ``otel_logs``, and how small they are stored.

Printed lines:

* ``log_writer``     records/s through ``ClickHouseLogWriter.write`` (conversion + insert), chDB.
* ``raw_insert``     records/s of a plain clickhouse-connect column insert of the very same
  columns, prepared ahead: the floor the writer is compared against.
* ``writer_vs_raw``  their ratio, measured in the same run.
* ``storage``        compressed bytes per stored record after OPTIMIZE FINAL.

The workload is Kubernetes-event-shaped records (a few dozen components and objects, message
bodies of 60-160 characters, six record attributes) in batches of ``--batch``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.clickhouse import ClickHouseLogWriter, SchemaOptions, apply_schema, close_embedded_engines, connect
from exporters.clickhouse._logs_schema import logs_insert_columns
from exporters.clickhouse._logs_writer import log_columns

REASONS = ["FailedCreate", "Scheduled", "BackOff", "Degraded", "OperationCompleted", "Pulled", "Started"]
WORDS = "pod volume replica pool node sync failed started pulled image container quota exceeded degraded".split()


def records(count: int, seed: int = 7) -> list[ReadableLogRecord]:
    rng = random.Random(seed)
    scope = InstrumentationScope("omni-telemetry/kubernetes-events", "0.1.0")
    resources = [
        Resource({"service.name": f"component-{c}", "k8s.namespace.name": f"ns-{c % 7}",
                  "k8s.object.kind": "Pod", "k8s.object.name": f"pod-{c}-{o}", "k8s.cluster.name": "lab"})
        for c in range(30) for o in range(10)
    ]
    context = Context({"bench": True})
    start = 1_764_400_000_000_000_000
    out = []
    for i in range(count):
        warning = rng.random() < 0.3
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        record = LogRecord(
            timestamp=start + i * 1_000_000, observed_timestamp=start + i * 1_000_000 + 500, context=context,
            severity_number=SeverityNumber.WARN if warning else SeverityNumber.INFO,
            severity_text="WARN" if warning else "INFO", body=body,
            attributes={"k8s.event.reason": rng.choice(REASONS), "k8s.event.type": "Warning" if warning else "Normal",
                        "k8s.event.count": rng.randint(1, 5), "k8s.event.name": f"ev-{i}", "k8s.event.uid": f"uid-{i}"},
        )
        out.append(ReadableLogRecord(record, rng.choice(resources), scope))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    data = records(args.records)
    batches = [data[i : i + args.batch] for i in range(0, len(data), args.batch)]
    root = tempfile.mkdtemp(prefix="omni-bench-logs-")
    try:
        client = connect(f"chdb://{root}/db")
        writer_opts, raw_opts = SchemaOptions(database="writer"), SchemaOptions(database="raw")
        apply_schema(client, writer_opts)
        apply_schema(client, raw_opts)
        writer = ClickHouseLogWriter(client, writer_opts)
        prepared = [log_columns(b) for b in batches]
        context = client.create_insert_context(table="raw.otel_logs", column_names=logs_insert_columns(),
                                               column_oriented=True)

        began = time.perf_counter()
        for batch in batches:
            writer.write(batch)
        writer_s = time.perf_counter() - began
        began = time.perf_counter()
        for columns in prepared:
            context.data = columns
            client.insert(context=context)
        raw_s = time.perf_counter() - began

        writer_rate, raw_rate = args.records / writer_s, args.records / raw_s
        print(f"log_writer     {writer_rate:12,.0f} records/s  ({args.records:,} records, batches of {args.batch:,})")
        print(f"raw_insert     {raw_rate:12,.0f} records/s  (same columns, prepared ahead)")
        print(f"writer_vs_raw  {writer_rate / raw_rate:12.2f}")
        client.command("OPTIMIZE TABLE writer.otel_logs FINAL")
        stored = client.query(
            "SELECT sum(data_compressed_bytes), sum(rows) FROM system.parts "
            "WHERE database = 'writer' AND table = 'otel_logs' AND active"
        ).result_rows[0]
        print(f"storage        {stored[0] / stored[1]:12.1f} bytes/record compressed")
    finally:
        close_embedded_engines()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
