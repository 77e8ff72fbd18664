"""Contour's own metrics (``:8000/metrics``) for the demo: HTTPProxy validity and DAG rebuilds.

The story repeats every ``period_s``: three HTTPProxies serve three virtual hosts; at
``invalid_start_s`` someone applies a change that makes ``shop/checkout.example.com``
invalid (Contour rebuilds its DAG and stops serving the route) until it is fixed
``invalid_s`` later. Rebuild counts and timestamps follow the changes, as Contour's do.
Names and labels are those of Contour's ``internal/metrics`` package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["CONTOUR_SCENARIOS", "ContourHttpProxyScenario"]

_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class ContourHttpProxyScenario:
    name: str = "contour-httpproxy-invalid"
    source: str = "contour"
    path: str = "/metrics"
    options: dict[str, str] = field(default_factory=dict)
    period_s: float = 240.0
    invalid_start_s: float = 40.0
    invalid_s: float = 90.0
    #: (namespace, vhost) of every root HTTPProxy
    proxies: tuple[tuple[str, str], ...] = (
        ("default", "kuard.example.com"),
        ("shop", "checkout.example.com"),
        ("shop", "cart.example.com"),
    )
    failing: tuple[str, str] = ("shop", "checkout.example.com")
    started_unix: float = field(default_factory=time.time)

    def invalid(self, elapsed_s: float) -> bool:
        offset = elapsed_s % self.period_s
        return self.invalid_start_s <= offset < self.invalid_start_s + self.invalid_s

    def rebuilds(self, elapsed_s: float) -> tuple[int, float]:
        """(rebuilds since start, seconds since start of the last one): one per minute of
        endpoint churn plus one at each change of the failing proxy."""
        periods, offset = divmod(max(elapsed_s, 0.0), self.period_s)
        changes = 2 * int(periods) + (offset >= self.invalid_start_s) + (offset >= self.invalid_start_s + self.invalid_s)
        churn = int(elapsed_s // 60)
        last_change = periods * self.period_s + (
            self.invalid_start_s + self.invalid_s if offset >= self.invalid_start_s + self.invalid_s
            else self.invalid_start_s if offset >= self.invalid_start_s else 0.0
        )
        return 40 + changes + churn, max(last_change, churn * 60.0)

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        bad = self.invalid(elapsed_s)
        total, last_s = self.rebuilds(elapsed_s)
        lines = [
            "# HELP contour_build_info Build information for Contour. Labels include the branch and git SHA that Contour was built from, and the Contour version.",
            "# TYPE contour_build_info gauge",
            'contour_build_info{branch="release-1.30",revision="0ee21b5",version="v1.30.2"} 1',
            "# HELP contour_dagrebuild_total Total number of times DAG has been rebuilt since startup",
            "# TYPE contour_dagrebuild_total counter",
            f"contour_dagrebuild_total {total}",
            "# HELP contour_dagrebuild_timestamp Timestamp of the last DAG rebuild.",
            "# TYPE contour_dagrebuild_timestamp gauge",
            f"contour_dagrebuild_timestamp {self.started_unix + last_s:.3f}",
        ]
        namespaces = sorted({ns for ns, _ in self.proxies})
        lines += ["# HELP contour_httpproxy Total number of HTTPProxies that exist regardless of status.",
                  "# TYPE contour_httpproxy gauge"]
        lines += [f'contour_httpproxy{{namespace="{ns}"}} {sum(1 for n, _ in self.proxies if n == ns)}' for ns in namespaces]
        lines += ["# HELP contour_httpproxy_root Total number of root HTTPProxies.", "# TYPE contour_httpproxy_root gauge"]
        lines += [f'contour_httpproxy_root{{namespace="{ns}"}} {sum(1 for n, _ in self.proxies if n == ns)}' for ns in namespaces]
        lines += ["# HELP contour_httpproxy_orphaned Total number of orphaned HTTPProxies which have no root delegating to them.",
                  "# TYPE contour_httpproxy_orphaned gauge"]
        lines += [f'contour_httpproxy_orphaned{{namespace="{ns}"}} 0' for ns in namespaces]
        valid_lines = ["# HELP contour_httpproxy_valid Total number of valid HTTPProxies.", "# TYPE contour_httpproxy_valid gauge"]
        invalid_lines = ["# HELP contour_httpproxy_invalid Total number of invalid HTTPProxies.",
                         "# TYPE contour_httpproxy_invalid gauge"]
        for ns, vhost in self.proxies:
            broken = bad and (ns, vhost) == self.failing
            valid_lines.append(f'contour_httpproxy_valid{{namespace="{ns}",vhost="{vhost}"}} {0 if broken else 1}')
            invalid_lines.append(f'contour_httpproxy_invalid{{namespace="{ns}",vhost="{vhost}"}} {1 if broken else 0}')
        lines += valid_lines + invalid_lines
        return ("\n".join(lines) + "\n").encode(), _TEXT


CONTOUR_SCENARIOS = [ContourHttpProxyScenario()]
