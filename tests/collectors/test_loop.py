"""The scrape loop against real local targets: a trickling target must not stall the healthy one."""

from __future__ import annotations

import asyncio
import socket
import threading
from contextlib import contextmanager
from typing import Iterator

import pytest
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from collectors import CollectionLoop, ScrapeTarget, Scraper
from http_targets import Answer, http_target

HEALTHY = b"# TYPE requests_total counter\nrequests_total 7\n"


class RecordingExporter(MetricExporter):
    """A sink that keeps every batch it is given, as the store would."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        return None


@contextmanager
def trickling_target(*, headers_first: bool) -> Iterator[str]:
    """A server on 127.0.0.1 that answers one byte every 0.5 s, forever (until the test ends).

    ``headers_first``: the status line and headers arrive at once and the body trickles;
    otherwise the status line itself trickles.
    """
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    body = b"# TYPE slow gauge\nslow 1\n" * 100
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                if headers_first:
                    conn.sendall(head)
                    drip = body
                else:
                    drip = head + body
                for byte in drip:
                    if stop.wait(0.5):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        stop.set()
        thread.join()
        listener.close()


def up_of(data: MetricsData, instance: str) -> float:
    for rm in data.resource_metrics:
        if rm.resource.attributes["service.instance.id"] == instance:
            (up,) = [m for s in rm.scope_metrics for m in s.metrics if m.name == "up"]
            return up.data.data_points[0].value
    raise AssertionError(f"{instance} missing from the batch")


@pytest.mark.parametrize("headers_first", [True, False], ids=["trickling-body", "trickling-headers"])
def test_a_trickling_target_gets_up_0_at_its_deadline_and_the_healthy_one_is_stored_every_cycle(headers_first):
    exporter = RecordingExporter()
    with http_target(Answer(HEALTHY)) as healthy_server, trickling_target(headers_first=headers_first) as slow_url:
        # generous bounds around the trickler so a loaded machine does not fail the healthy target
        healthy = ScrapeTarget(f"{healthy_server.url}/metrics", timeout_s=2.5)
        slow = ScrapeTarget(slow_url, timeout_s=1.0)
        reports = []

        async def run() -> None:
            stop = asyncio.Event()

            def on_cycle(report) -> None:
                reports.append(report)
                if len(reports) == 3:
                    stop.set()

            loop = CollectionLoop(Scraper(), exporter, [slow, healthy], interval_s=3.0, on_cycle=on_cycle)
            # a guard against hanging forever, not a speed check: three cycles need about 7 s
            await asyncio.wait_for(loop.run(stop=stop), timeout=40)

        asyncio.run(run())
    assert len(exporter.batches) == 3
    for batch in exporter.batches:
        assert up_of(batch, healthy.instance) == 1.0
        assert up_of(batch, slow.instance) == 0.0
        (healthy_rm,) = [rm for rm in batch.resource_metrics if rm.resource.attributes["service.instance.id"] == healthy.instance]
        assert "requests_total" in {m.name for s in healthy_rm.scope_metrics for m in s.metrics}
    for report in reports:
        slow_result = next(r for r in report.results if r.target == slow)
        assert not slow_result.up
        assert "scrape deadline of 1 s exceeded" in slow_result.error


def test_a_cycle_waits_at_most_one_interval_even_for_a_target_whose_timeout_is_longer():
    exporter = RecordingExporter()
    with http_target(Answer(HEALTHY)) as healthy_server, trickling_target(headers_first=True) as slow_url:
        healthy = ScrapeTarget(f"{healthy_server.url}/metrics", timeout_s=2.5)
        slow = ScrapeTarget(slow_url, timeout_s=30)  # longer than the interval: only the cycle bound stops it
        reports = []

        async def run() -> None:
            stop = asyncio.Event()

            def on_cycle(report) -> None:
                reports.append(report)
                if len(reports) == 2:
                    stop.set()

            loop = CollectionLoop(Scraper(), exporter, [slow, healthy], interval_s=3.0, on_cycle=on_cycle)
            await asyncio.wait_for(loop.run(stop=stop), timeout=40)  # a guard against hanging, not a speed check

        asyncio.run(run())
    assert len(exporter.batches) == 2
    for batch, report in zip(exporter.batches, reports):
        assert up_of(batch, healthy.instance) == 1.0 and up_of(batch, slow.instance) == 0.0
        slow_result = next(r for r in report.results if r.target == slow)
        assert "not finished within the scrape interval of 3 s" in slow_result.error
