"""End-to-end cost per stored sample: ``omni-telemetry collect`` against Prometheus, side by side.

Why whole processes: what a user pays is scrape + parse + convert + insert + what the store
does afterwards (ClickHouse merges), not the parser alone. Both scrape the same static
Envoy-like target (bench/parse.py's generator, 50,000 samples by default) at the same
interval for the same duration; every step (just after ours stored a batch, so that a step
holds whole batches) the bench reads each process's CPU time
(``/proc/PID/stat``, all threads) and how many samples it has stored so far, both in
Prometheus's unit, one per sample line of the exposition (a histogram's every bucket,
``_count`` and ``_sum`` is one sample each; a stored histogram row holds 22 of this target's):

- ours: ``omni_exporter_exposition_samples_written_total`` from the collector's own ``/metrics``
  (``metrics_port``): samples in batches the store accepted, counted per exposed line.
  ``omni_samples_scraped_total`` is printed beside it; ``omni_exporter_samples_written_total``
  is not used, since it counts rows (a histogram row is one);
- Prometheus: ``prometheus_tsdb_head_samples_appended_total`` from its ``/metrics``.

Both include the five per-scrape series (``up``, ``scrape_duration_seconds``, ...); ours also
the store's own state (``service.name=clickhouse``, a few hundred samples per reading). After
both stopped, the bench opens our store and counts the samples of job ``bench`` in the tables
the same way (rows of gauges and sums, ``length(BucketCounts) + 2`` per histogram row,
quantiles + 2 per summary row), as a cross-check of the counter.

It prints CPU microseconds per stored sample for each step and each process, their ratio,
peak RSS (``VmHWM``) and bytes on disk per stored sample. Without a ``prometheus`` binary on
PATH (Debian: ``apt-get install prometheus``) it measures ours alone and says so. The
collector runs with the default settings (batching included); ``--config-extra`` appends YAML
lines to its config, to measure other settings.

    .venv/bin/python bench/e2e.py [--minutes 5] [--interval 2] [--samples 50000] [--step 60]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parse import envoy_like  # noqa: E402  (the same generator as the parse bench)

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_static(body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime, all threads


def peak_rss_mib(pid: int) -> float:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


def metric_sum(url: str, name: str) -> float:
    """Sum of every series of ``name`` on a Prometheus text endpoint; 0 when not there yet."""
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return 0.0
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in " {"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def stored_in_store(data_dir: Path) -> float | None:
    """Samples of job ``bench`` in our store (opened after the collector stopped), in Prometheus's unit."""
    sys.path.insert(0, str(ROOT))
    try:
        from exporters.clickhouse import connect

        client = connect(f"chdb://{data_dir}")
        sql = (
            "SELECT (SELECT count() FROM otel.otel_metrics_gauge WHERE ServiceName = 'bench')"
            " + (SELECT count() FROM otel.otel_metrics_sum WHERE ServiceName = 'bench')"
            " + (SELECT sum(length(BucketCounts) + 2) FROM otel.otel_metrics_histogram WHERE ServiceName = 'bench')"
            " + (SELECT sum(length(`ValueAtQuantiles.Quantile`) + 2) FROM otel.otel_metrics_summary"
            " WHERE ServiceName = 'bench')"
        )
        return float(client.query(sql).result_rows[0][0])
    except Exception as exc:  # the figures above stand without it
        print(f"could not read the store for the cross-check: {exc}")
        return None


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@dataclass
class Runner:
    name: str
    process: subprocess.Popen[bytes]
    metrics_url: str
    stored_metric: str
    data_dir: Path
    minutes: list[tuple[float, float]] = field(default_factory=list)  # (cpu s, stored samples) per step
    peak_rss: float = 0.0
    scraped_metric: str = ""
    scraped: float = 0.0  # what the target exposed so far (printed beside what was stored)

    def stored(self) -> float:
        return metric_sum(self.metrics_url, self.stored_metric)

    def read_scraped(self) -> None:
        if self.scraped_metric:
            self.scraped = metric_sum(self.metrics_url, self.scraped_metric)


def start_ours(target: str, interval: float, workdir: Path, extra: list[str] = ()) -> Runner:
    port = free_port()
    config = workdir / "omni.yaml"
    data = workdir / "omni-data"
    config.write_text(
        f"storage_dsn: chdb://{data}\n"
        f"scrape_interval_s: {interval}\n"
        f"scrape_timeout_s: {interval}\n"
        f"metrics_port: {port}\n"
        "targets:\n"
        f"  - url: {target}\n"
        "    source: prometheus\n"
        "    job: bench\n"
        + "".join(f"{line}\n" for line in extra)
    )
    binary = shutil.which("omni-telemetry", path=str(ROOT / ".venv" / "bin")) or "omni-telemetry"
    process = subprocess.Popen(
        [binary, "collect", "--config", str(config), "--log-level", "warning"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=open(workdir / "omni.log", "wb"),
    )
    return Runner(
        "omni-telemetry", process, f"http://127.0.0.1:{port}/metrics",
        "omni_exporter_exposition_samples_written_total", data, scraped_metric="omni_samples_scraped_total",
    )


def start_prometheus(target: str, interval: float, workdir: Path) -> Runner | None:
    binary = shutil.which("prometheus")
    if binary is None:
        return None
    port = free_port()
    config = workdir / "prometheus.yml"
    data = workdir / "prometheus-data"
    host = target.split("//", 1)[1].split("/", 1)[0]
    config.write_text(
        "global:\n"
        f"  scrape_interval: {round(interval * 1000)}ms\n"
        f"  scrape_timeout: {round(interval * 1000)}ms\n"
        "scrape_configs:\n"
        "  - job_name: bench\n"
        f"    static_configs: [{{targets: ['{host}']}}]\n"
    )
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=open(workdir / "prometheus.log", "wb"),
    )
    return Runner(
        "prometheus", process, f"http://127.0.0.1:{port}/metrics",
        "prometheus_tsdb_head_samples_appended_total", data,
    )


def wait_for_a_write(ours: Runner, limit_s: float = 60.0) -> None:
    """Return just after ours stores its next batch.

    Ours writes in batches (``batch_max_age_s``, 10 s by default: ~250,000 samples of this
    target at once), so a reading at an arbitrary moment cuts a step in the middle of one and
    the step is credited with one batch more or less than its CPU paid for. Taking every
    reading right after a write makes each step whole batches; Prometheus appends every
    scrape, so its readings need no alignment.
    """
    before = ours.stored()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and ours.process.poll() is None:
        time.sleep(0.25)  # a /metrics answer costs ours ~ms of CPU: poll gently
        if ours.stored() != before:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=2.0, help="scrape interval, seconds")
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--step", type=float, default=60.0, help="seconds between readings (one row each)")
    parser.add_argument("--config-extra", action="append", default=[], metavar="YAML_LINE",
                        help="a line appended to the collector's config (repeatable), e.g. 'batch_max_age_s: 5'")
    args = parser.parse_args()

    body = envoy_like(args.samples).encode()
    samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    server = serve_static(body)
    target = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    workdir = Path(tempfile.mkdtemp(prefix="omni-e2e-"))
    print(f"static target: {samples} samples, {len(body) / 1e6:.1f} MB, every {args.interval:g} s, "
          f"{args.minutes:g} min; work dir {workdir}")

    if args.config_extra:
        print("collector settings beyond the defaults: " + "; ".join(args.config_extra))
    runners = [start_ours(target, args.interval, workdir, args.config_extra)]
    prometheus = start_prometheus(target, args.interval, workdir)
    if prometheus is None:
        print("prometheus is not installed (apt-get install prometheus): measuring omni-telemetry alone")
    else:
        runners.append(prometheus)

    try:
        last = {r.name: (cpu_seconds(r.process.pid), 0.0) for r in runners}
        for _ in range(max(1, round(args.minutes * 60 / args.step))):
            time.sleep(args.step)
            wait_for_a_write(runners[0])
            for runner in runners:
                if runner.process.poll() is not None:
                    sys.exit(f"{runner.name} exited early with {runner.process.returncode}; see {workdir}")
                cpu, stored = cpu_seconds(runner.process.pid), runner.stored()
                runner.read_scraped()
                last_cpu, last_stored = last[runner.name]
                runner.minutes.append((cpu - last_cpu, stored - last_stored))
                runner.peak_rss = peak_rss_mib(runner.process.pid)
                last[runner.name] = (cpu, stored)
    finally:
        for runner in runners:
            runner.process.send_signal(signal.SIGTERM)
        for runner in runners:
            try:
                runner.process.wait(60)
            except subprocess.TimeoutExpired:
                runner.process.kill()
        server.shutdown()

    on_disk_of = {runner.name: disk_bytes(runner.data_dir) for runner in runners}  # before the store is opened
    in_store = stored_in_store(runners[0].data_dir)
    per_sample: dict[str, list[float]] = {}
    for runner in runners:
        per_sample[runner.name] = [cpu * 1e6 / stored if stored else float("inf") for cpu, stored in runner.minutes]
    print()
    print(f"{'step':>6} " + " ".join(f"{r.name + ' us/sample':>26}" for r in runners)
          + ("   ratio" if len(runners) == 2 else ""))
    for i in range(len(runners[0].minutes)):
        row = f"{i + 1:>6} " + " ".join(f"{per_sample[r.name][i]:>26.2f}" for r in runners)
        if len(runners) == 2:
            row += f"   {per_sample[runners[0].name][i] / per_sample[runners[1].name][i]:5.1f}x"
        print(row)
    print()
    for runner in runners:
        cpu = sum(c for c, _ in runner.minutes)
        stored = sum(s for _, s in runner.minutes)
        on_disk = on_disk_of[runner.name]
        print(f"{runner.name:>15}: {cpu * 1e6 / max(stored, 1):7.2f} CPU-us per stored sample overall, "
              f"{stored:,.0f} samples stored, peak RSS {runner.peak_rss:,.0f} MiB, "
              f"{on_disk / max(stored, 1):.2f} bytes on disk per sample")
    ours = runners[0]
    print(f"omni-telemetry stored (exposition samples, counter): {sum(s for _, s in ours.minutes):,.0f} by the last "
          f"reading, scraped by then {ours.scraped:,.0f}; job bench in the store after shutdown: "
          + (f"{in_store:,.0f}" if in_store is not None else "not readable"))
    if len(runners) == 2:
        ours, theirs = (sum(c for c, _ in r.minutes) / max(sum(s for _, s in r.minutes), 1) for r in runners)
        first, fifth = per_sample[runners[0].name][0], per_sample[runners[0].name][-1]
        print(f"ratio omni-telemetry / prometheus: {ours / theirs:.1f}x (target <= 3x); "
              f"last step / first step (ours): {fifth / first:.2f} (target <= 1)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
