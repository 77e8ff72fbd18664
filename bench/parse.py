"""Throughput of our parse + conversion to OpenTelemetry against prometheus_client's parser.

Both are measured in the same run on the same bodies, so the ratio holds across machines even
though the absolute numbers do not. "ours" is a target's steady state: a ``TargetConverter`` fed
the target's successive scrapes (same layout, new values each time, as a real target answers
every interval), producing the OpenTelemetry metrics a sink receives. Also printed: the first
scrape of a target (full parse and conversion, plus remembering the layout), parse alone, and
the peak memory of one parse (traced Python allocations) relative to the size of the text, and
the state a target's converter keeps per series after its first scrape (traced bytes and blocks).
Inputs: a generated 50,000-sample Envoy-like exposition and the captured fixtures in
tests/data/exposition/ (or the files given with --input). Targets on the Envoy-like input:
steady-state ratio >= 5, first-scrape ratio >= 5, peak memory < 10x the text.

    .venv/bin/python bench/parse.py [--input FILE ...] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from prometheus_client.parser import text_string_to_metric_families

from collectors.exposition import parse_exposition
from collectors.exposition import TargetConverter

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "exposition"

#: Envoy's default histogram buckets (milliseconds): 19 finite bounds, then +Inf.
ENVOY_BUCKETS = (
    "0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
    "30000", "60000", "300000", "600000", "1800000", "3600000",
)
_COUNTER_STATS = (
    "upstream_cx_total", "upstream_cx_connect_fail", "upstream_cx_connect_timeout", "upstream_cx_destroy",
    "upstream_cx_destroy_local", "upstream_cx_destroy_remote", "upstream_cx_http1_total",
    "upstream_cx_http2_total", "upstream_cx_overflow", "upstream_cx_protocol_error", "upstream_cx_rx_bytes_total",
    "upstream_cx_tx_bytes_total", "upstream_rq_total", "upstream_rq_cancelled", "upstream_rq_pending_total",
    "upstream_rq_pending_overflow", "upstream_rq_retry", "upstream_rq_retry_success", "upstream_rq_timeout",
    "upstream_rq_per_try_timeout", "upstream_rq_rx_reset", "upstream_rq_tx_reset", "lb_healthy_panic",
    "lb_zone_no_capacity_left", "membership_change", "update_attempt", "update_success", "update_empty",
    "update_no_rebuild", "retry_or_shadow_abandoned", "bind_errors", "original_dst_host_invalid",
    "assignment_stale", "assignment_timeout_received", "default_total_match_count", "internal_upstream_rq_total",
    "external_upstream_rq_total", "upstream_flow_control_paused_reading_total",
    "upstream_flow_control_resumed_reading_total", "upstream_internal_redirect_failed_total",
)
_CODE_STATS = ("upstream_rq_xx", "external_upstream_rq_xx", "internal_upstream_rq_xx", "upstream_rq_completed_xx")
_GAUGE_STATS = (
    "membership_healthy", "membership_total", "membership_degraded", "membership_excluded", "upstream_cx_active",
    "upstream_rq_active", "upstream_rq_pending_active", "max_host_weight", "version",
    "circuit_breakers_default_cx_open",
    "circuit_breakers_default_rq_open", "circuit_breakers_high_cx_open", "upstream_cx_rx_bytes_buffered",
    "upstream_cx_tx_bytes_buffered", "lb_subsets_active",
)
_HISTOGRAM_STATS = ("upstream_cx_connect_ms", "upstream_cx_length_ms", "upstream_rq_time", "external_upstream_rq_time")


def envoy_like(samples: int = 50_000, seed: int = 7) -> str:
    """An Envoy /stats/prometheus body of about ``samples`` samples: per-cluster counters, per-code-class
    counters, gauges and 19-bucket histograms, plus unlabelled server stats; TYPE lines, no HELP."""
    rng = random.Random(seed)
    per_histogram = len(ENVOY_BUCKETS) + 3  # finite buckets, +Inf, _sum, _count
    per_cluster = len(_COUNTER_STATS) + 5 * len(_CODE_STATS) + len(_GAUGE_STATS) + len(_HISTOGRAM_STATS) * per_histogram
    clusters = [f"outbound|{8000 + i}||svc-{i:03d}.ns-{i % 7}.svc.cluster.local" for i in range(samples // per_cluster)]
    out: list[str] = []
    count = 0
    for stat in _COUNTER_STATS:
        out.append(f"# TYPE envoy_cluster_{stat} counter\n")
        for c in clusters:
            out.append(f'envoy_cluster_{stat}{{envoy_cluster_name="{c}"}} {rng.randrange(0, 10**7)}\n')
            count += 1
    for stat in _CODE_STATS:
        out.append(f"# TYPE envoy_cluster_{stat} counter\n")
        for c in clusters:
            for code in ("1", "2", "3", "4", "5"):
                out.append(
                    f'envoy_cluster_{stat}{{envoy_response_code_class="{code}",envoy_cluster_name="{c}"}} '
                    f"{rng.randrange(0, 10**6)}\n"
                )
                count += 1
    for stat in _GAUGE_STATS:
        out.append(f"# TYPE envoy_cluster_{stat} gauge\n")
        for c in clusters:
            out.append(f'envoy_cluster_{stat}{{envoy_cluster_name="{c}"}} {rng.randrange(0, 500)}\n')
            count += 1
    for stat in _HISTOGRAM_STATS:
        out.append(f"# TYPE envoy_cluster_{stat} histogram\n")
        for c in clusters:
            cumulative = 0
            for le in ENVOY_BUCKETS:
                cumulative += rng.randrange(0, 50)
                out.append(f'envoy_cluster_{stat}_bucket{{envoy_cluster_name="{c}",le="{le}"}} {cumulative}\n')
            out.append(f'envoy_cluster_{stat}_bucket{{envoy_cluster_name="{c}",le="+Inf"}} {cumulative}\n')
            out.append(f'envoy_cluster_{stat}_sum{{envoy_cluster_name="{c}"}} {cumulative * 37.5:.1f}\n')
            out.append(f'envoy_cluster_{stat}_count{{envoy_cluster_name="{c}"}} {cumulative}\n')
            count += len(ENVOY_BUCKETS) + 3
    i = 0
    while count < samples:
        out.append(f"# TYPE envoy_server_stat_{i} gauge\nenvoy_server_stat_{i} {rng.random() * 1000:.3f}\n")
        count += 1
        i += 1
    return "".join(out)


def _rate(run: Callable[[], object], samples: int, seconds: float) -> float:
    """Best samples/second over five batches of repeated runs, each batch lasting about ``seconds / 5``.

    CPU time of this process (not wall time), so other work on a shared machine disturbs it less.
    """
    started = time.process_time()
    run()
    once = max(time.process_time() - started, 1e-6)
    repeats = max(1, int(seconds / 5 / once))
    best = float("inf")
    for _ in range(5):
        gc.collect()
        started = time.process_time()
        for _ in range(repeats):
            run()
        best = min(best, (time.process_time() - started) / repeats)
    return samples / best


def _peak_memory_ratio(body: bytes) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        exposition = parse_exposition(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del exposition
    return peak / len(body)


def _state_per_series(body: bytes) -> tuple[float, float, float, int]:
    """What a target's converter keeps after its first scrape: traced bytes and allocated blocks
    (Python objects, plus the tables of dicts and sets) per stored series; the bytes per series
    it keeps once its layout is remembered (two more scrapes of the same layout); the series count.

    The converted metrics are released first: only what the next scrape needs is counted.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        converter = TargetConverter()
        now = time.time_ns()
        converter.convert(body, "", now)
        gc.collect()
        after = tracemalloc.take_snapshot()
        for turn in (1, 2):
            converter.convert(evolve(body, turn), "", now + turn * 15_000_000_000)
        gc.collect()
        remembered = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    diff = after.compare_to(before, "filename")
    size = sum(stat.size_diff for stat in diff)
    blocks = sum(stat.count_diff for stat in diff)
    series = max(len(converter.tracker), 1)
    steady = (remembered - sum(stat.size for stat in before.statistics("filename"))) / series
    return size / series, blocks / series, steady, len(converter.tracker)


_VALUE = re.compile(rb"^([^#\n][^\n]* )([0-9][^ \n]*)$", re.M)


def evolve(body: bytes, seed: int) -> bytes:
    """The same layout with new values, as the target's next scrape: every plain number grows."""
    rng = random.Random(seed)
    return _VALUE.sub(lambda m: m.group(1) + str(float(m.group(2)) + rng.randint(0, 9)).encode(), body)


def bench(label: str, body: bytes, seconds: float) -> None:
    """One line: steady-state scrapes (the target's layout unchanged, new values each time), the
    first scrape of a target (full parse and conversion), and parse alone, each against
    prometheus_client parsing the same bodies in the same run."""
    scrapes = [body] + [evolve(body, seed) for seed in range(1, 8)]
    texts = [b.decode("utf-8") for b in scrapes]
    samples = parse_exposition(body).sample_count
    converter = TargetConverter()
    clock = [time.time_ns()]
    turn = [0]

    def next_body() -> bytes:
        turn[0] = (turn[0] + 1) % len(scrapes)
        return scrapes[turn[0]]

    def steady() -> None:
        clock[0] += 15_000_000_000
        converter.convert(next_body(), "", clock[0])

    def first_scrape() -> None:
        TargetConverter().convert(body, "", time.time_ns())

    def theirs() -> None:
        for _family in text_string_to_metric_families(texts[turn[0]]):
            pass
        turn[0] = (turn[0] + 1) % len(texts)

    steady_rate = _rate(steady, samples, seconds)
    first_rate = _rate(first_scrape, samples, seconds)
    theirs_rate = _rate(theirs, samples, seconds)
    parse_rate = _rate(lambda: parse_exposition(body), samples, seconds)
    print(
        f"{label}: ours {steady_rate:,.0f} samples/s, prometheus_client {theirs_rate:,.0f} samples/s, "
        f"ratio {steady_rate / theirs_rate:.1f}  "
        f"(first scrape of a target {first_rate:,.0f} samples/s, ratio {first_rate / theirs_rate:.1f}; "
        f"parse alone {parse_rate:,.0f} samples/s, ratio {parse_rate / theirs_rate:.1f}; "
        f"peak memory of one parse {_peak_memory_ratio(body):.1f}x text; {samples} samples, {len(body)} bytes)"
    )
    state_bytes, state_objects, steady_bytes, series = _state_per_series(body)
    print(
        f"{label}: state kept after a first scrape {state_bytes:,.0f} bytes and {state_objects:.1f} objects "
        f"per series ({series} series, {state_bytes * series / samples:,.0f} bytes per sample); "
        f"once the layout is remembered {steady_bytes:,.0f} bytes per series"
    )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", action="append", type=Path, help="benchmark this file instead (repeatable)")
    parser.add_argument("--seconds", type=float, default=1.0, help="time budget per measurement")
    args = parser.parse_args()
    if args.input:
        inputs = [(str(path), path.read_bytes()) for path in args.input]
    else:
        inputs = [("envoy-like 50k", envoy_like().encode())]
        inputs += [(path.name, path.read_bytes()) for path in sorted(FIXTURES.glob("*.prom"))]
    for label, body in inputs:
        bench(label, body, args.seconds)


if __name__ == "__main__":
    main()
