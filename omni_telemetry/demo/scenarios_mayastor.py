"""Mayastor io-engine exporters for the demo: three storage nodes, one on a pre-2.6 release.

What evolves, so the demo shows what operators watch: I/O counters grow at each node's own
rate; ``pool-on-node-2`` fills from 35% to 97% of its capacity over ``fill_s`` seconds and
raises its alert status as it does; node-3 runs the legacy exporter (``disk_pool_*`` names,
no I/O families), which the collector normalises. HELP texts follow the real exporter.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAYASTOR_SCENARIOS", "MayastorNodeScenario"]

GIB = 1024**3
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_POOL_HELP = {
    "status": "Status of the pool",
    "total_size_bytes": "Total size of the pool in bytes",
    "used_size_bytes": "Used size of the pool in bytes",
    "committed_size_bytes": "Committed size of the pool in bytes",
    "disk_capacity_bytes": "Capacity of the Pool's underlying device",
    "io_alert_status": "Alert status of the pool",
    "num_read_ops": "Number of read operations on the pool",
    "num_write_ops": "Number of write operations on the pool",
    "bytes_read": "Total bytes read on the pool",
    "bytes_written": "Total bytes written on the pool",
    "read_latency_us": "Total read latency on the pool in usec",
    "write_latency_us": "Total write latency on the pool in usec",
}
_VOLUME_HELP = {
    "num_read_ops": "Number of read operations on the volume",
    "num_write_ops": "Number of write operations on the volume",
    "bytes_read": "Total bytes read from the volume",
    "bytes_written": "Total bytes written to the volume",
    "read_latency_us": "Total read latency on the volume in usec",
    "write_latency_us": "Total write latency on the volume in usec",
}


@dataclass
class MayastorNodeScenario:
    node: str
    pool: str
    capacity_gib: float
    start_used: float
    end_used: float
    fill_s: float
    iops: float
    volume: str
    legacy: bool = False
    source: str = "mayastor"
    path: str = "/metrics"

    @property
    def name(self) -> str:
        return f"mayastor-{self.node}"

    def used_ratio(self, elapsed_s: float) -> float:
        progress = min(max(elapsed_s / self.fill_s, 0.0), 1.0) if self.fill_s > 0 else 1.0
        return self.start_used + (self.end_used - self.start_used) * progress

    def render(self, elapsed_s: float) -> tuple[bytes, str]:
        capacity = int(self.capacity_gib * GIB)
        total = capacity - 12 * 1024 * 1024  # metadata reserve, as real pools report
        used_ratio = self.used_ratio(elapsed_s)
        used = int(total * used_ratio)
        committed = int(total * min(used_ratio * 1.4, 1.6))
        alert = 0 if used_ratio < 0.85 else (1 if used_ratio < 0.92 else 2)
        labels = f'name="{self.pool}",node="{self.node}"'
        t = 600 + elapsed_s  # seconds of I/O since io-engine start
        reads, writes = self.iops * 0.6 * t, self.iops * 0.4 * t
        lines: list[str] = []
        prefix = "disk_pool_" if self.legacy else "diskpool_"

        def family(name: str, help_text: str, value: float, label_text: str = labels) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name}{{{label_text}}} {value:.17g}")

        family(prefix + "status", _POOL_HELP["status"], 1)
        family(prefix + "total_size_bytes", _POOL_HELP["total_size_bytes"], total)
        family(prefix + "used_size_bytes", _POOL_HELP["used_size_bytes"], used)
        family(prefix + "committed_size_bytes", _POOL_HELP["committed_size_bytes"], committed)
        if not self.legacy:
            family("diskpool_disk_capacity_bytes", _POOL_HELP["disk_capacity_bytes"], capacity)
            family("diskpool_io_alert_status", _POOL_HELP["io_alert_status"], alert)
            io = {
                "num_read_ops": int(reads),
                "num_write_ops": int(writes),
                "bytes_read": int(reads) * 4096,
                "bytes_written": int(writes) * 16384,
                "read_latency_us": int(reads * 180),
                "write_latency_us": int(writes * 420),
            }
            for key, value in io.items():
                family(f"diskpool_{key}", _POOL_HELP[key], value)
            vol_labels = f'node="{self.node}",pv_name="{self.volume}"'
            for key, value in io.items():
                family(f"volume_{key}", _VOLUME_HELP[key], value // 2, vol_labels)
            lines.append("# HELP mayastor_node_online Indicates if Mayastor node is online")
            lines.append("# TYPE mayastor_node_online gauge")
            lines.append(f'mayastor_node_online{{node_id="{self.node}"}} 1')
        return ("\n".join(lines) + "\n").encode(), _CONTENT_TYPE


def mayastor_scenarios(fill_s: float = 180.0) -> list[MayastorNodeScenario]:
    return [
        MayastorNodeScenario("node-1", "pool-on-node-1", 100, 0.42, 0.45, fill_s, 850.0,
                             "pvc-3f0c2a4e-9a1d-4c55-8d7e-2b61a0c9e111"),
        MayastorNodeScenario("node-2", "pool-on-node-2", 50, 0.35, 0.97, fill_s, 2400.0,
                             "pvc-86e8ccf8-3fcd-4d5a-847c-60016f722403"),
        MayastorNodeScenario("node-3", "pool-on-node-3", 200, 0.18, 0.19, fill_s, 0.0,
                             "pvc-0d9b7e55-6c3a-4f0e-b1c2-7d8e9f0a1b2c", legacy=True),
    ]


MAYASTOR_SCENARIOS = mayastor_scenarios()
