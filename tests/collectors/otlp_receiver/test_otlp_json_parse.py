"""OTLP/JSON into the receiver: parsing, and the streaming depth scan that guards it."""

from __future__ import annotations

import json
import zlib

import pytest

from collectors.otlp_receiver import JsonDepthScanner, decode_request, inflate, json_depth, parse_json_request
from exporters.otlp import metrics_data_to_json
from omni_core.errors import MalformedPayload, PayloadTooLarge


def test_json_parses_back_to_the_same_metrics(metrics_data, as_comparable):
    request = parse_json_request(metrics_data_to_json(metrics_data).encode())
    assert as_comparable(decode_request(request)) == as_comparable(metrics_data)


def test_snake_case_keys_and_unknown_fields_are_accepted():
    body = json.dumps({
        "resource_metrics": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "x"}}]},
            "futureField": {"a": 1},
            "scope_metrics": [{"metrics": [{"name": "g", "gauge": {"data_points": [
                {"timeUnixNano": "5", "asDouble": 1.5, "exemplars": [{"trace_id": "00" * 16, "asInt": "3"}]},
            ]}}]}],
        }],
    })
    data = decode_request(parse_json_request(body))
    point = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0]
    assert (point.time_unix_nano, point.value) == (5, 1.5)
    assert point.exemplars[0].value == 3


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"[" * 100_000, "levels deep"),
        (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "levels deep"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "must be an object"),
        (b'{"resourceMetrics": "nope"}', "not an OTLP metrics request"),
        (b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "g", "gauge": {"dataPoints": '
         b'[{"exemplars": [{"traceId": "zz"}]}]}}]}]}]}', "not a hex string"),
    ],
)
def test_bad_json_is_refused_with_a_reason(body, reason):
    with pytest.raises(MalformedPayload, match=reason):
        parse_json_request(body)


def test_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[{{{{", "b": [1, {"c": "\\"]]]"}]}') == 3
    assert json_depth("") == 0


def test_depth_scan_carries_strings_and_escapes_across_chunk_boundaries():
    text = b'{"a": "[[[[\\\\\\"{{{{", "b": [1, {"c": "\\"]]]"}], "d": [[["x"]]]}'
    expected = json_depth(text, chunk_size=len(text))
    assert expected == 4
    for size in range(1, len(text) + 1):
        assert json_depth(text, chunk_size=size) == expected, size


def test_depth_scan_refuses_in_the_first_chunk_and_keeps_no_text():
    scanner = JsonDepthScanner(max_depth=64)
    with pytest.raises(MalformedPayload, match="more than 64 levels"):
        scanner.feed(b"[" * 65_536)
    assert scanner.depth > 64 and not hasattr(scanner, "text")


def test_gzip_bomb_of_brackets_is_refused_without_inflating_it():
    # 64 MiB of "[" compresses to about 65 KB; refusing it must not inflate it all.
    inflated_size = 64 * 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(b"[" * (1024 * 1024)) for _ in range(64)) + compressor.flush()
    assert len(bomb) < 100_000
    produced: list[int] = []

    class Counting(JsonDepthScanner):
        def feed(self, chunk: bytes) -> None:
            produced.append(len(chunk))
            super().feed(chunk)

    import collectors.otlp_receiver._payload as payload

    original = payload.JsonDepthScanner
    payload.JsonDepthScanner = Counting
    try:
        with pytest.raises(MalformedPayload, match="levels"):
            inflate(bomb, "gzip", inflated_size, json_depth=64)
    finally:
        payload.JsonDepthScanner = original
    assert sum(produced) <= 64 * 1024  # one chunk inflated, not 64 MiB


def test_inflated_size_is_capped_while_inflating():
    body = zlib.compress(b" " * (2 * 1024 * 1024))
    with pytest.raises(PayloadTooLarge, match="1048576 bytes"):
        inflate(body, "deflate", 1024 * 1024)
    assert inflate(body, "deflate", 2 * 1024 * 1024) == b" " * (2 * 1024 * 1024)
