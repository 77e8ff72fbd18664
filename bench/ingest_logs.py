"""Logs receiver benchmark: how fast OTLP log records POSTed to ``/v1/logs`` reach ``otel_logs``.

Printed lines:

* ``receiver_logs``   records/s POSTed as OTLP/protobuf (``--clients`` concurrent clients,
  ``--batch`` records a request) to the receiver app under uvicorn on 127.0.0.1, through
  decoding, the logs delivery queue and the ClickHouse log writer, until all are stored.
* ``direct_writer``   records/s of ``ClickHouseLogWriter.write`` of the very same records in
  batches of the same size (no HTTP, no decoding, no queue), measured in the same run.
* ``receiver_vs_direct`` their ratio.
* ``stored``          rows in each table afterwards (both must equal ``--records``).

The records are those of ``bench/logs.py`` (Kubernetes-event shaped).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time

import httpx
import uvicorn
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from prometheus_client import CollectorRegistry

from collectors.otlp_receiver import IngestOptions, create_ingest_app
from exporters.clickhouse import ClickHouseLogWriter, SchemaOptions, apply_schema, close_embedded_engines, connect
from exporters.delivery import LOG_BATCHES, DeliveryOptions, DeliveryQueue
from logs import records


class _NoMetrics:
    def offer(self, metrics_data, *, durable=False, timeout_s=10.0):  # pragma: no cover - never called
        raise AssertionError("no metrics in this benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    data = records(args.records)
    batches = [data[i : i + args.batch] for i in range(0, len(data), args.batch)]
    bodies = [encode_logs(b).SerializeToString() for b in batches]
    root = tempfile.mkdtemp(prefix="omni-bench-ingest-logs-")
    server: uvicorn.Server | None = None
    try:
        client = connect(f"chdb://{root}/db")
        receiver_opts, direct_opts = SchemaOptions(database="receiver"), SchemaOptions(database="direct")
        apply_schema(client, receiver_opts)
        apply_schema(client, direct_opts)

        direct = ClickHouseLogWriter(client, direct_opts)
        began = time.perf_counter()
        for batch in batches:
            direct.write(batch)
        direct_s = time.perf_counter() - began

        queue = DeliveryQueue(ClickHouseLogWriter(client, receiver_opts), DeliveryOptions(name="bench-logs"),
                              kind=LOG_BATCHES)
        app = create_ingest_app(_NoMetrics(), IngestOptions(serve_metrics=False), registry=CollectorRegistry(),
                                logs_sink=queue)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/v1/logs"
        failures: list[int] = []

        def send(share: list[bytes]) -> None:
            with httpx.Client(timeout=60) as http:
                for body in share:
                    status = http.post(url, content=body, headers={"Content-Type": "application/x-protobuf"}).status_code
                    if status != 200:
                        failures.append(status)

        senders = [threading.Thread(target=send, args=(bodies[n :: args.clients],)) for n in range(args.clients)]
        began = time.perf_counter()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        assert queue.force_flush(120_000), "the queue did not drain"
        receiver_s = time.perf_counter() - began
        queue.shutdown(timeout_millis=10_000)
        assert not failures, f"answers other than 200: {failures[:5]}"

        receiver_rate, direct_rate = args.records / receiver_s, args.records / direct_s
        print(f"receiver_logs       {receiver_rate:12,.0f} records/s  ({args.records:,} records, "
              f"{args.clients} clients, {args.batch:,} a request)")
        print(f"direct_writer       {direct_rate:12,.0f} records/s  (same batches, ClickHouseLogWriter.write)")
        print(f"receiver_vs_direct  {receiver_rate / direct_rate:12.2f}")
        counts = [client.query(f"SELECT count() FROM {db}.otel_logs").result_rows[0][0] for db in ("receiver", "direct")]
        print(f"stored              {counts[0]:>12,} / {counts[1]:,} rows (receiver / direct)")
    finally:
        if server is not None:
            server.should_exit = True
        close_embedded_engines()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
