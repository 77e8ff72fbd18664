"""What the receiver answers depends on what the sink admitted, and on what can be stored at all."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.sdk.metrics.export import MetricsData

from collectors.otlp_receiver import IngestOptions, create_ingest_app
from exporters.clickhouse import MetricKind
from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy
from exporters.otlp import count_data_points, encode_metrics_data
from omni_core.admission import Admission, OfferResult

PROTOBUF = {"Content-Type": "application/x-protobuf"}
AFTER_2262_NS = 2**63  # one nanosecond past what DateTime64(9) holds


@dataclass
class RecordingSink:
    """An admitting sink that answers what it is told and records what it was offered."""

    answer: OfferResult = OfferResult(Admission.QUEUED)
    offers: list[tuple[int, bool, float]] = field(default_factory=list)
    hold: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)

    def offer(self, metrics_data: MetricsData, *, durable: bool = False, timeout_s: float = 10.0) -> OfferResult:
        self.offers.append((count_data_points(metrics_data), durable, timeout_s))
        self.entered.set()
        if self.hold is not None:
            self.hold.wait(30)
        return self.answer


def _post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/v1/metrics", content=body, headers=PROTOBUF, timeout=30)


def _status(response: httpx.Response) -> status_pb2.Status:
    return status_pb2.Status.FromString(response.content)


def test_far_future_points_are_rejected_as_partial_success_and_the_rest_stored(chdb_store, serve, make_gauge_batch,
                                                                              registry):
    queue = DeliveryQueue(chdb_store.writer(), DeliveryOptions(name="ingest", retry=RetryPolicy(0.01, 0.05)))
    try:
        url = serve(create_ingest_app(queue, IngestOptions(), registry=registry))
        request = encode_metrics_data(make_gauge_batch(10, batch=0))
        points = request.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points
        points[3].time_unix_nano = AFTER_2262_NS
        points[7].time_unix_nano = 2**64 - 1
        points[8].start_time_unix_nano = AFTER_2262_NS
        response = _post(url, request.SerializeToString())
        assert response.status_code == 200
        answer = ExportMetricsServiceResponse.FromString(response.content)
        assert answer.partial_success.rejected_data_points == 3
        assert "2262-04-11" in answer.partial_success.error_message
        # Nothing stalls behind the bad points: the next request is stored too.
        assert _post(url, encode_metrics_data(make_gauge_batch(5, batch=1)).SerializeToString()).status_code == 200
        assert queue.force_flush(20_000)
        assert chdb_store.rows(MetricKind.GAUGE) == 7 + 5
        stored = {row[0] for row in chdb_store.client.query(
            f"SELECT Attributes['series'] FROM {chdb_store.options.database}.otel_metrics_gauge "
            "WHERE Attributes['batch'] = '0'").result_rows}
        assert stored == {"0", "1", "2", "4", "5", "6", "9"}
    finally:
        queue.shutdown(timeout_millis=1000)


def test_zero_timestamps_are_stored_as_the_epoch_like_the_collector_does(chdb_store, serve, make_gauge_batch,
                                                                        registry):
    queue = DeliveryQueue(chdb_store.writer(), DeliveryOptions(name="ingest", retry=RetryPolicy(0.01, 0.05)))
    try:
        url = serve(create_ingest_app(queue, IngestOptions(), registry=registry))
        request = encode_metrics_data(make_gauge_batch(2, time_ns=0))
        response = _post(url, request.SerializeToString())
        assert response.status_code == 200
        assert not ExportMetricsServiceResponse.FromString(response.content).HasField("partial_success")
        assert queue.force_flush(20_000)
        assert chdb_store.client.command(
            f"SELECT toUnixTimestamp64Nano(min(TimeUnix)) FROM {chdb_store.options.database}.otel_metrics_gauge") == 0
    finally:
        queue.shutdown(timeout_millis=1000)


def test_without_a_spool_configured_the_offer_is_not_durable(serve, make_gauge_batch, registry):
    sink = RecordingSink()
    url = serve(create_ingest_app(sink, IngestOptions(offer_timeout_s=3), registry=registry))
    assert _post(url, encode_metrics_data(make_gauge_batch(4)).SerializeToString()).status_code == 200
    assert sink.offers == [(4, False, 3)]


def test_with_durable_ack_a_200_waits_for_the_sink_to_keep_the_batch(serve, make_gauge_batch, registry):
    sink = RecordingSink(OfferResult(Admission.SPOOLED), hold=threading.Event())
    url = serve(create_ingest_app(sink, IngestOptions(durable_ack=True), registry=registry))
    answers: list[httpx.Response] = []
    client = threading.Thread(
        target=lambda: answers.append(_post(url, encode_metrics_data(make_gauge_batch(6)).SerializeToString()))
    )
    client.start()
    assert sink.entered.wait(30)
    assert answers == []  # not answered while the sink has not said where the batch is
    sink.hold.set()
    client.join(30)
    assert answers[0].status_code == 200
    assert sink.offers == [(6, True, 10.0)]


def test_refusals_are_answered_before_anything_is_acknowledged(serve, make_gauge_batch, registry):
    cases = [
        (OfferResult(Admission.BUSY, 7.2, "the receive buffer is full"), 429, code_pb2.RESOURCE_EXHAUSTED, "8"),
        (OfferResult(Admission.UNAVAILABLE, None, "storage is unavailable"), 503, code_pb2.UNAVAILABLE, "5"),
        (OfferResult(Admission.CLOSED, 1.0, "shutting down"), 503, code_pb2.UNAVAILABLE, "1"),
    ]
    for answer, status, code, retry_after in cases:
        sink = RecordingSink(answer)
        url = serve(create_ingest_app(sink, IngestOptions(retry_after_s=5), registry=None))
        response = _post(url, encode_metrics_data(make_gauge_batch(3)).SerializeToString())
        assert response.status_code == status, answer
        assert response.headers["retry-after"] == retry_after, answer
        assert _status(response).code == code and answer.detail in _status(response).message


def test_a_batch_larger_than_the_buffer_is_413_naming_the_limit(serve, make_gauge_batch, registry):
    too_large = RecordingSink(OfferResult(Admission.TOO_LARGE, None, "the buffer holds at most 50 points"))
    url = serve(create_ingest_app(too_large, IngestOptions(), registry=registry))
    response = _post(url, encode_metrics_data(make_gauge_batch(60)).SerializeToString())
    assert response.status_code == 413 and "retry-after" not in response.headers
    assert "at most 50 points" in _status(response).message

    # Known capacity: refused from the protobuf point count, before converting or offering anything.
    sink = RecordingSink()
    url = serve(create_ingest_app(sink, IngestOptions(max_request_points=50), registry=registry))
    response = _post(url, encode_metrics_data(make_gauge_batch(60)).SerializeToString())
    assert response.status_code == 413
    assert "60 data points" in _status(response).message and "50" in _status(response).message
    assert sink.offers == []
    assert _post(url, encode_metrics_data(make_gauge_batch(50)).SerializeToString()).status_code == 200


def test_a_body_over_the_limit_is_413_before_it_is_read(serve, registry):
    sink = RecordingSink()
    url = serve(create_ingest_app(sink, IngestOptions(max_body_bytes=1000), registry=registry))
    response = _post(url, b"\0" * 5000)
    assert response.status_code == 413
    assert "1000-byte limit" in _status(response).message


def test_more_requests_being_decoded_than_allowed_get_429(serve, make_gauge_batch, registry):
    sink = RecordingSink(hold=threading.Event())
    url = serve(create_ingest_app(sink, IngestOptions(max_concurrent_requests=1, retry_after_s=2), registry=registry))
    body = encode_metrics_data(make_gauge_batch(1)).SerializeToString()
    first = threading.Thread(target=_post, args=(url, body))
    first.start()
    try:
        assert sink.entered.wait(30)  # the only slot is taken by a request the sink holds
        busy = _post(url, body)
        assert busy.status_code == 429
        assert busy.headers["retry-after"] == "2"
        assert _status(busy).code == code_pb2.RESOURCE_EXHAUSTED
    finally:
        sink.hold.set()
        first.join(30)
    assert _post(url, body).status_code == 200
