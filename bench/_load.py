"""HTTP load for the benchmarks: many concurrent keep-alive clients against one URL, and the
latency percentiles they saw.

The generator shares the cores with the server it measures, so it has to be cheap: wrk (C,
event loop) when it is on PATH, else hey (Go), else a Python httpx hammer, which costs more
CPU per request than the endpoints under test and mostly measures itself. ``LoadResult.tool``
says which one measured, so figures from different machines are not compared blindly.
wrk reports p50/p75/p90/p99, hey p10/p25/p50/p75/p90/p95/p99; both give p50 and p99.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field

import httpx

__all__ = ["LoadResult", "measure"]

_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass(frozen=True)
class LoadResult:
    tool: str
    clients: int
    requests: int
    duration_s: float
    #: latency in seconds by quantile (0.5, 0.99, ...), as the tool reported them
    percentiles: dict[float, float] = field(default_factory=dict)
    #: connect/read/write/timeout failures: requests that got no answer
    transport_errors: int = 0
    #: answers other than 2xx/3xx (a critical /health answers 503 by design)
    non_2xx: int = 0

    def ms(self, quantile: float) -> float:
        try:
            return 1000 * self.percentiles[quantile]
        except KeyError:
            raise KeyError(f"{self.tool} did not report p{quantile * 100:g}; it reported {sorted(self.percentiles)}") from None

    @property
    def per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def describe(self) -> str:
        return (f"{self.requests:,} requests in {self.duration_s:.1f}s ({self.per_s:,.0f}/s), {self.clients} clients, "
                f"{self.transport_errors} transport errors, {self.non_2xx} non-2xx; by {self.tool}")


def measure(url: str, clients: int, *, duration_s: float = 10.0, requests_per_client: int = 40,
            tool: str | None = None) -> LoadResult:
    """Load ``url`` with ``clients`` concurrent connections: for ``duration_s`` with wrk or hey,
    or ``requests_per_client`` requests each with httpx. ``tool`` forces one ("wrk", "hey", "httpx")."""
    chosen = tool or next((name for name in ("wrk", "hey") if shutil.which(name)), "httpx")
    if chosen == "wrk":
        return _wrk(url, clients, duration_s)
    if chosen == "hey":
        return _hey(url, clients, duration_s)
    if chosen == "httpx":
        return asyncio.run(_httpx(url, clients, requests_per_client))
    raise ValueError(f"unknown load generator {chosen!r}; use wrk, hey or httpx")


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[:500]}")
    return done.stdout


def _wrk(url: str, clients: int, duration_s: float) -> LoadResult:
    threads = max(1, min(2, clients))
    return parse_wrk(_run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{duration_s:g}s", "--latency", url]), clients)


def parse_wrk(text: str, clients: int) -> LoadResult:
    """wrk's ``--latency`` report: the "Latency Distribution" block, request count and errors."""
    block = text.split("Latency Distribution", 1)
    if len(block) != 2:
        raise RuntimeError(f"wrk printed no latency distribution (was --latency given?):\n{text[:500]}")
    percentiles = {
        float(q) / 100: float(value) * _UNIT_S[unit]
        for q, value, unit in re.findall(r"^\s*([\d.]+)%\s+([\d.]+)(us|ms|s|m)\s*$", block[1], re.MULTILINE)
    }
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if not percentiles or total is None:
        raise RuntimeError(f"cannot read wrk's report:\n{text[:500]}")
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return LoadResult(
        tool="wrk", clients=clients, requests=int(total.group(1)),
        duration_s=float(total.group(2)) * _UNIT_S[total.group(3)], percentiles=percentiles,
        transport_errors=sum(int(n) for n in socket.groups()) if socket else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def _hey(url: str, clients: int, duration_s: float) -> LoadResult:
    return parse_hey(_run(["hey", "-z", f"{duration_s:g}s", "-c", str(clients), url]), clients)


def parse_hey(text: str, clients: int) -> LoadResult:
    """hey's summary: "Latency distribution" (seconds), status codes and errors."""
    percentiles = {float(q) / 100: float(s) for q, s in re.findall(r"^\s*([\d.]+)% in ([\d.]+) secs", text, re.MULTILINE)}
    total = re.search(r"Total:\s+([\d.]+) secs", text)
    if not percentiles or total is None:
        raise RuntimeError(f"cannot read hey's report (no answered requests?):\n{text[:500]}")
    codes = {int(code): int(n) for code, n in re.findall(r"^\s*\[(\d{3})\]\s+(\d+) responses", text, re.MULTILINE)}
    errors_part = text.split("Error distribution:", 1)
    errors = sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]", errors_part[1], re.MULTILINE)) if len(errors_part) == 2 else 0
    return LoadResult(
        tool="hey", clients=clients, requests=sum(codes.values()), duration_s=float(total.group(1)),
        percentiles=percentiles, transport_errors=errors,
        non_2xx=sum(n for code, n in codes.items() if not 200 <= code < 400),
    )


async def _httpx(url: str, clients: int, requests_per_client: int) -> LoadResult:
    latencies: list[float] = []
    failures = non_2xx = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:

        async def client() -> None:
            nonlocal failures, non_2xx
            for _ in range(requests_per_client):
                sent = time.perf_counter()
                try:
                    answer = await http.get(url)
                except httpx.TransportError:
                    failures += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                non_2xx += not answer.is_success

        await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"no request to {url} was answered ({failures} transport errors)")
    ordered = sorted(latencies)
    percentiles = {q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] for q in (0.5, 0.75, 0.9, 0.99)}
    return LoadResult(tool="httpx (Python, shares the cores with the server)", clients=clients, requests=len(latencies),
                      duration_s=elapsed, percentiles=percentiles, transport_errors=failures, non_2xx=non_2xx)
