"""Throughput of parse_exposition (+ conversion to OpenTelemetry) against prometheus_client's parser.

Both are measured in the same run on the same text, so the ratio holds across machines even though the
absolute numbers do not. "ours" is parse_exposition followed by to_metrics (with one SeriesTracker kept
across runs, as a scrape loop keeps it); parse alone is printed too. Inputs: a generated 50,000-sample
Envoy-like exposition and the captured fixtures in tests/data/exposition/ (or the files given with
--input). Also reports the peak memory of one parse (traced Python allocations) relative to the size of
the text. Targets: ratio >= 5 on the Envoy-like input, peak memory < 10x the text.

    .venv/bin/python bench/parse.py [--input FILE ...] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from prometheus_client.parser import text_string_to_metric_families

from collectors.exposition import parse_exposition
from collectors.exposition._convert import SeriesTracker, to_metrics

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


def bench(label: str, body: bytes, seconds: float) -> None:
    text = body.decode("utf-8")
    samples = parse_exposition(body).sample_count
    tracker = SeriesTracker()
    clock = [time.time_ns()]

    def ours() -> None:
        clock[0] += 15_000_000_000
        to_metrics(parse_exposition(body), scrape_time_ns=clock[0], tracker=tracker)

    def theirs() -> None:
        for _family in text_string_to_metric_families(text):
            pass

    ours_rate = _rate(ours, samples, seconds)
    theirs_rate = _rate(theirs, samples, seconds)
    parse_rate = _rate(lambda: parse_exposition(body), samples, seconds)
    print(
        f"{label}: ours {ours_rate:,.0f} samples/s, prometheus_client {theirs_rate:,.0f} samples/s, "
        f"ratio {ours_rate / theirs_rate:.1f}  "
        f"(parse alone {parse_rate:,.0f} samples/s, ratio {parse_rate / theirs_rate:.1f}; "
        f"peak memory of one parse {_peak_memory_ratio(body):.1f}x text; {samples} samples, {len(body)} bytes)"
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
