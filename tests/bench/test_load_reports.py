"""The load generators' reports, read the way the health benchmark reads them: real captures
of wrk and hey (tests/data/bench/SOURCE.md), and, where the tools are installed, a live run."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from _load import measure, parse_hey, parse_wrk

DATA = Path(__file__).resolve().parents[1] / "data" / "bench"


def _report(name: str) -> str:
    return (DATA / name).read_text()


def test_wrk_report_gives_percentiles_in_seconds_and_the_request_count():
    result = parse_wrk(_report("wrk_200.txt"), clients=4)
    assert result.tool == "wrk"
    assert result.percentiles == pytest.approx({0.5: 0.00409, 0.75: 0.00494, 0.9: 0.00586, 0.99: 0.00815})
    assert (result.requests, result.duration_s) == (978, pytest.approx(1.0))
    assert (result.non_2xx, result.transport_errors) == (0, 0)
    assert result.ms(0.99) == pytest.approx(8.15)


def test_wrk_report_counts_answers_that_are_not_2xx():
    result = parse_wrk(_report("wrk_404.txt"), clients=4)
    assert result.non_2xx == result.requests == 1908


def test_wrk_report_without_a_latency_distribution_is_refused():
    text = _report("wrk_200.txt").split("  Latency Distribution")[0]
    with pytest.raises(RuntimeError, match="--latency"):
        parse_wrk(text, clients=4)


def test_hey_report_gives_percentiles_and_the_answered_requests():
    result = parse_hey(_report("hey_200.txt"), clients=4)
    assert result.tool == "hey"
    assert result.requests == 1419
    assert result.non_2xx == 0
    assert result.percentiles[0.5] <= result.percentiles[0.99]
    assert set(result.percentiles) == {0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99}


def test_hey_report_counts_404_answers_as_not_2xx():
    result = parse_hey(_report("hey_404.txt"), clients=4)
    assert result.non_2xx == result.requests == 1648
    assert result.ms(0.5) == pytest.approx(2.4)


def test_hey_report_with_nothing_answered_is_an_error_not_zero_latency():
    with pytest.raises(RuntimeError, match="no answered requests"):
        parse_hey(_report("hey_refused.txt"), clients=4)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("tool", ["wrk", "hey", "httpx"])
def test_each_load_generator_measures_a_live_server(tool):
    if tool != "httpx" and shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed here")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = measure(f"http://127.0.0.1:{server.server_port}/", 4, duration_s=1, requests_per_client=20, tool=tool)
    finally:
        server.shutdown()
        server.server_close()
    assert result.requests > 0 and result.transport_errors == 0 and result.non_2xx == 0
    assert 0 < result.ms(0.5) <= result.ms(0.99)
