"""The demo end to end on chDB: Argo CD metrics, the store's own state each cycle, and the
replayed Kubernetes events in ``otel_logs``."""

from __future__ import annotations

import io

from rich.console import Console

from exporters.clickhouse import MetricKind, connect, qualified, qualified_logs
from omni_telemetry.demo import run_demo
from omni_telemetry.settings import load_settings


def test_the_demo_stores_argocd_metrics_store_state_each_cycle_and_events_as_logs(tmp_path):
    dsn = f"chdb://{tmp_path / 'demo'}"
    settings = load_settings(storage_dsn=dsn, scrape_interval_s=2, scrape_timeout_s=2, store_state_interval_s=0)
    out = io.StringIO()
    summary = run_demo(settings, duration_s=6, interval_s=2, fill_s=180, console=Console(file=out, width=170))

    assert summary.cycles >= 2
    client = connect(dsn)
    options = settings.schema_options()
    gauges = qualified(options, MetricKind.GAUGE)
    apps = client.query(
        f"SELECT DISTINCT Attributes['name'] FROM {gauges} WHERE MetricName = 'argocd_app_info' AND ServiceName = 'argocd' "
        "ORDER BY 1"
    ).result_rows
    assert [a for (a,) in apps] == ["contour", "kubevirt", "kuma", "mayastor", "shop-checkout"]
    syncs = client.query(
        f"SELECT count() FROM {qualified(options, MetricKind.SUM)} WHERE MetricName = 'argocd_app_sync_total'"
    ).result_rows
    assert syncs[0][0] > 0
    readings = client.query(
        f"SELECT count(DISTINCT TimeUnix) FROM {gauges} "
        "WHERE MetricName = 'omni_store_disk_free_bytes' AND ServiceName = 'clickhouse'"
    ).result_rows
    assert readings == [(summary.cycles,)]  # the store's state once per cycle
    tables = client.query(
        f"SELECT DISTINCT Attributes['table'] FROM {gauges} WHERE MetricName = 'omni_store_table_rows'"
    ).result_rows
    assert ("otel_metrics_gauge",) in tables

    logs = client.query(
        f"SELECT ServiceName, SeverityText, LogAttributes['k8s.event.reason'], ResourceAttributes['k8s.object.name'] "
        f"FROM {qualified_logs(options)} ORDER BY Timestamp"
    ).result_rows
    assert set(logs) == {
        ("default-scheduler", "INFO", "Scheduled", "virt-launcher-db-01-7xk2p"),
        ("virtualmachine-controller", "WARN", "FailedCreate", "db-01"),
        ("openebs-operator-diskpool", "WARN", "Degraded", "pool-on-node-2"),
        ("argocd-application-controller", "WARN", "OperationCompleted", "kubevirt"),
    }
    assert summary.log_records == len(logs) == 4  # each occurrence once, none repeated within a minute
    printed = out.getvalue()
    assert "Argo CD app" in printed and "otel_logs" in printed and "clickhouse" in printed
