"""``collect`` with ``events_enabled`` as a real process: it watches Events beside the scrape
loop and, on SIGTERM, stores what it received before exiting 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from k8s_events_api import NAMESPACE, api_server, recorded

from exporters.clickhouse import SchemaOptions, connect, qualified_logs

EXE = Path(sys.executable).with_name("omni-telemetry")


@pytest.mark.slow
def test_collect_watches_events_and_stores_them_in_otel_logs_before_exiting_on_sigterm(data_dir, tmp_path):
    state = recorded(data_dir)
    dsn = f"chdb://{tmp_path / 'store'}"
    with api_server(state) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
        env.update(
            OMNI_EVENTS_ENABLED="true",
            OMNI_EVENTS_NAMESPACES=f'["{NAMESPACE}"]',
            OMNI_DISCOVERY_MODE="url",
            OMNI_DISCOVERY_API_URL=url,
        )
        collector = subprocess.Popen(
            [str(EXE), "collect", "--dsn", dsn, "--interval", "1"],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert state.done.wait(90), "collect did not replay every recorded watch"
            collector.send_signal(signal.SIGTERM)
            _out, log = collector.communicate(timeout=60)
        finally:
            if collector.poll() is None:
                collector.kill()
    assert collector.returncode == 0, log
    assert f"watching Kubernetes events in {NAMESPACE}" in log
    reasons = connect(dsn).query(
        f"SELECT LogAttributes['k8s.event.reason'] FROM {qualified_logs(SchemaOptions())} ORDER BY Timestamp"
    ).result_rows
    assert sorted(r for (r,) in reasons) == sorted(
        ["FailedCreate", "Scheduled", "Degraded", "OperationCompleted", "FailedCreate", "BackOff", "OperationCompleted"]
    )
