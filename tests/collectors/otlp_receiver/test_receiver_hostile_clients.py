"""Hostile and broken clients are answered (or cut off) quickly and hold nothing others need."""

from __future__ import annotations

import gzip
import logging
import socket
import threading
import zlib
from urllib.parse import urlparse

import httpx
from google.rpc import status_pb2

from collectors.otlp_receiver import IngestOptions, create_ingest_app
from exporters.delivery import DeliveryOptions, DeliveryQueue, RetryPolicy
from exporters.otlp import encode_metrics_data

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _queue(store) -> DeliveryQueue:
    return DeliveryQueue(store.writer(), DeliveryOptions(name="ingest", retry=RetryPolicy(0.01, 0.05)))


def _connect(url: str) -> socket.socket:
    address = urlparse(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=20)
    return sock


def _read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket timeout bounds the wait)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_slow_bodies_hold_no_request_slot_and_are_answered_408(chdb_store, serve, make_gauge_batch, registry):
    queue = _queue(chdb_store)
    try:
        options = IngestOptions(max_concurrent_requests=16, body_read_timeout_s=0.5)
        url = serve(create_ingest_app(queue, options, registry=registry))
        slow = []
        for _ in range(16):
            sock = _connect(url)
            sock.sendall(b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                         b"Content-Length: 100000\r\n\r\n\0\0")
            slow.append(sock)
        # While all sixteen dawdle, a valid client is served.
        good = httpx.post(f"{url}/v1/metrics", content=encode_metrics_data(make_gauge_batch(5)).SerializeToString(),
                          headers=PROTOBUF, timeout=20)
        assert good.status_code == 200
        for sock in slow:
            with sock:
                answer = _read_answer(sock)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
            assert b"body_read_timeout_s" in answer
        assert registry.get_sample_value("omni_ingest_requests_total", {"code": "408"}) == 16
        assert queue.force_flush(20_000)
        assert chdb_store.rows() == 5
    finally:
        queue.shutdown(timeout_millis=1000)


def test_inflating_json_bombs_are_refused_while_another_client_is_served(chdb_store, serve, make_gauge_batch,
                                                                         registry):
    queue = _queue(chdb_store)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(b"[" * (1024 * 1024)) for _ in range(64)) + compressor.flush()
    try:
        url = serve(create_ingest_app(queue, IngestOptions(), registry=registry))
        answers: list[httpx.Response] = []

        def send_bomb() -> None:
            answers.append(httpx.post(f"{url}/v1/metrics", content=bomb, timeout=20,
                                      headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}))

        attackers = [threading.Thread(target=send_bomb) for _ in range(4)]
        for attacker in attackers:
            attacker.start()
        good = httpx.post(f"{url}/v1/metrics", content=encode_metrics_data(make_gauge_batch(5)).SerializeToString(),
                          headers=PROTOBUF, timeout=20)
        for attacker in attackers:
            attacker.join(30)
        assert good.status_code == 200
        assert [a.status_code for a in answers] == [400] * 4
        assert "levels deep" in answers[0].json()["message"]
        assert queue.force_flush(20_000)
        assert chdb_store.rows() == 5
    finally:
        queue.shutdown(timeout_millis=1000)


def test_a_client_leaving_mid_body_is_one_info_line_without_traceback(chdb_store, serve, registry, caplog, wait_for):
    queue = _queue(chdb_store)
    try:
        url = serve(create_ingest_app(queue, IngestOptions(), registry=registry))
        caplog.set_level(logging.DEBUG)
        with _connect(url) as sock:
            sock.sendall(b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                         b"Content-Length: 1000\r\n\r\n" + b"\0" * 10)
        wait_for(lambda: registry.get_sample_value("omni_ingest_requests_total", {"code": "client_gone"}) == 1,
                 what="the receiver to notice the client left")
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        assert not [r for r in caplog.records if r.exc_info], caplog.text
        gone = [r for r in caplog.records if "abandoned" in r.getMessage()]
        assert len(gone) == 1 and gone[0].levelno == logging.INFO
    finally:
        queue.shutdown(timeout_millis=1000)


def test_body_without_content_length_over_the_limit_is_refused_with_the_limit(chdb_store, serve, registry):
    queue = _queue(chdb_store)
    try:
        url = serve(create_ingest_app(queue, IngestOptions(max_body_bytes=4096), registry=registry))
        chunks = (b"\0" * 1024 for _ in range(8))
        response = httpx.post(f"{url}/v1/metrics", content=chunks, headers=PROTOBUF, timeout=20)
        assert response.status_code == 413
        assert "4096-byte limit" in status_pb2.Status.FromString(response.content).message
    finally:
        queue.shutdown(timeout_millis=1000)


def test_gzip_body_inflating_past_the_bound_is_413(chdb_store, serve, registry):
    queue = _queue(chdb_store)
    try:
        url = serve(create_ingest_app(queue, IngestOptions(max_decompressed_bytes=1024 * 1024), registry=registry))
        response = httpx.post(f"{url}/v1/metrics", content=gzip.compress(b"\0" * (4 * 1024 * 1024)), timeout=20,
                              headers={**PROTOBUF, "Content-Encoding": "gzip"})
        assert response.status_code == 413
        assert "max_decompressed_bytes" in status_pb2.Status.FromString(response.content).message
    finally:
        queue.shutdown(timeout_millis=1000)


def test_bodies_being_read_at_once_stay_within_the_read_budget(chdb_store, serve, make_gauge_batch, registry):
    queue = _queue(chdb_store)
    try:
        options = IngestOptions(max_body_bytes=600 * 1024, max_reading_bytes=1024 * 1024, body_read_timeout_s=30)
        url = serve(create_ingest_app(queue, options, registry=registry))
        with _connect(url) as first, _connect(url) as second:
            first.sendall(b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                          b"Content-Length: 600000\r\n\r\n\0\0")
            # Wait until the first upload holds its reservation (it has been answered nothing yet).
            for _ in range(200):
                probe = httpx.post(f"{url}/v1/metrics", content=b"\0" * 500_000, headers=PROTOBUF, timeout=20)
                if probe.status_code == 429:
                    break
            assert probe.status_code == 429 and "bytes of request bodies" in probe.content.decode("latin-1")
            second.sendall(b"POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                           b"Content-Length: 600000\r\n\r\n")
            assert _read_answer(second).startswith(b"HTTP/1.1 429")
            # A small request still fits beside the slow one.
            small = encode_metrics_data(make_gauge_batch(3)).SerializeToString()
            assert httpx.post(f"{url}/v1/metrics", content=small, headers=PROTOBUF, timeout=20).status_code == 200
        assert queue.force_flush(20_000)
        assert chdb_store.rows() == 3
    finally:
        queue.shutdown(timeout_millis=1000)
